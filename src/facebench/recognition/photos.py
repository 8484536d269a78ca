"""The 5-celebrity photo set (train/val per person) as RGB arrays, with clear errors."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from facebench.errors import FacebenchError

SPLITS = ("train", "val")
PHOTO_PATTERNS = ("*.jpg", "*.jpeg", "*.png", "*.JPG", "*.JPEG", "*.PNG")


@dataclass(frozen=True)
class Photo:
    """One labelled photo: ``split/person/file.jpg`` under the faces directory."""

    split: str
    person: str
    path: Path

    @property
    def key(self) -> str:
        return f"{self.split}/{self.person}/{self.path.name}"


def list_photos(faces_dir: Path, max_per_person: int | None = None) -> list[Photo]:
    """Photos of every split and person, sorted; at most ``max_per_person`` per person/split."""
    photos = []
    for split in SPLITS:
        split_dir = Path(faces_dir) / split
        if not split_dir.is_dir():
            raise FacebenchError(f"{split_dir}: missing photo split directory")
        for person_dir in sorted(p for p in split_dir.iterdir() if p.is_dir()):
            files = _photo_files(person_dir)[:max_per_person]
            photos += [Photo(split, person_dir.name, f) for f in files]
    if not photos:
        raise FacebenchError(f"{faces_dir}: no photos found")
    return photos


def _photo_files(person_dir: Path) -> list[Path]:
    return sorted({f for pattern in PHOTO_PATTERNS for f in person_dir.glob(pattern)})


def list_people_dir(people_dir: Path) -> list[Photo]:
    """The user's people: ``person/photo`` (all enrolled, split ``train``) or the photo set's
    ``train/person`` + ``val/person`` layout (val photos held out to choose the threshold)."""
    people_dir = Path(people_dir)
    if not people_dir.is_dir():
        raise FacebenchError(f"{people_dir}: gallery people folder does not exist")
    if (people_dir / "train").is_dir():
        return list_photos(people_dir)
    photos = [
        Photo("train", person_dir.name, f)
        for person_dir in sorted(p for p in people_dir.iterdir() if p.is_dir())
        for f in _photo_files(person_dir)
    ]
    if not photos:
        raise FacebenchError(f"{people_dir}: no photos in person folders (person/photo.jpg)")
    return photos


def gallery_photos(photo_set: Path | None, people_dirs: list[Path]) -> list[Photo]:
    """The photo set's photos (None: left out) and those of every people folder; a person
    named in two places is an error naming the folders."""
    photos = list_photos(photo_set) if photo_set is not None else []
    seen = {p.person: Path(photo_set) for p in photos}
    for people_dir in people_dirs:
        theirs = list_people_dir(people_dir)
        for person in sorted({p.person for p in theirs}):
            if person in seen:
                raise FacebenchError(
                    f"{people_dir}: person {person!r} is already in {seen[person]}"
                )
            seen[person] = Path(people_dir)
        photos += theirs
    if not photos:
        raise FacebenchError("gallery: no photos to enrol (photo_set off and no people_dirs)")
    return photos


def read_rgb(path: Path) -> np.ndarray:
    """An image file as HxWx3 uint8 RGB (OpenCV reads BGR; the nets expect RGB)."""
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise FacebenchError(f"{path}: not a readable image")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def photo_collage(
    photos: list[Photo], width: int, height: int, columns: int = 4, rows: int = 2
) -> np.ndarray:
    """A width x height RGB frame tiled with up to columns*rows photos on mid-grey, each scaled
    to fit its cell: real faces at a realistic density for detection benchmarks."""
    frame = np.full((height, width, 3), 127, np.uint8)
    cell_w, cell_h = width // columns, height // rows
    for index, photo in enumerate(photos[: columns * rows]):
        image = read_rgb(photo.path)
        scale = min(cell_w / image.shape[1], cell_h / image.shape[0])
        size = (max(int(image.shape[1] * scale), 1), max(int(image.shape[0] * scale), 1))
        tile = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        top, left = (index // columns) * cell_h, (index % columns) * cell_w
        frame[top : top + size[1], left : left + size[0]] = tile
    return frame
