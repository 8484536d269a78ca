"""Photos of people never enrolled that ship inside pinned packages: extra impostor queries for
the leave-one-person-out threshold, read from the installed package and checksummed (nothing is
fetched at run time). Surveyed: scikit-image's astronaut (NASA, public domain) and cameraman
(CC0) ship only in a 15 MB wheel the workflow does not install; the rest found in packages
carry no usable licence."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from facebench.downloads import verify_sha256
from facebench.errors import FacebenchError
from facebench.recognition.photos import Photo

STRANGER_SPLIT = "stranger"


@dataclass(frozen=True)
class BundledPhoto:
    """One photo inside an installed package, with its checksum and where its licence is."""

    person: str
    package: str
    member: str
    sha256: str
    licence: str


BUNDLED = (
    BundledPhoto(
        "grace_hopper",
        "matplotlib",
        "mpl-data/sample_data/grace_hopper.jpg",
        "a8ca6d734765703b09728ab47fe59f473d93ae3967fc24c7c0288c3c7adb7130",
        "US Navy photograph, public domain (matplotlib PR #1599 chose it as such)",
    ),
)


def bundled_strangers(photos: tuple[BundledPhoto, ...] = BUNDLED) -> list[Photo]:
    """The bundled photos as :class:`Photo` (split ``stranger``); a missing file or another
    checksum is an error naming it."""
    found = []
    for photo in photos:
        path = Path(str(resources.files(photo.package).joinpath(photo.member)))
        if not path.is_file():
            raise FacebenchError(f"{path}: bundled stranger photo missing from {photo.package}")
        verify_sha256(path, photo.sha256)
        found.append(Photo(STRANGER_SPLIT, photo.person, path))
    return found
