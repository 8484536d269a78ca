"""The gallery of known people: enrolled embeddings, the rejection threshold, the minimum
face size and the crop margin its faces were cut with (runs cut theirs the same); a face is
identified as its nearest enrolled person, ``unknown`` when farther than the threshold,
``too_small`` when its box is smaller than the minimum (never embedded)."""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from facebench.errors import FacebenchError
from facebench.fileio import atomic_path, write_json
from facebench.models.layout import FACENET_EMBEDDING_SIZE
from facebench.recognition.faces import CROP_MARGIN
from facebench.recognition.identify import nearest

UNKNOWN = "unknown"
TOO_SMALL = "too_small"  # a detected face below the gallery's minimum size, not identified
GALLERY_ARRAYS = ("names", "embeddings")  # the arrays of a gallery .npz


@dataclass
class Gallery:
    """Enrolled embeddings (one row per photo), the open-set rejection threshold and the
    minimum face size (min side of the box, px) for recognition, and the crop margin (a
    fraction of the box side) its faces were cut with, which every run against it uses."""

    names: np.ndarray  # (G,) identity of each row
    embeddings: np.ndarray  # (G, 128) L2-normalised
    threshold_l2: float  # plain L2 distance; farther than this -> unknown
    metadata: dict = field(default_factory=dict)
    min_face_px: float = 0.0
    crop_margin: float = CROP_MARGIN

    def match(self, embeddings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Name and L2 distance of the nearest enrolled face per row, threshold not applied."""
        if not len(embeddings):
            return np.array([], dtype=self.names.dtype), np.zeros(0)
        index, distance = nearest(self.embeddings, embeddings)
        return self.names[index], distance

    def accept(self, nearest_names: np.ndarray, distances: np.ndarray) -> np.ndarray:
        """The nearest name where within the threshold, else ``unknown``."""
        return np.where(distances <= self.threshold_l2, nearest_names, UNKNOWN)

    def identify(self, embeddings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Identity (or ``unknown``) and L2 distance of the nearest enrolled face, per row."""
        nearest_names, distances = self.match(embeddings)
        return self.accept(nearest_names, distances), distances

    def big_enough(self, boxes: np.ndarray) -> np.ndarray:
        """Which (x1, y1, x2, y2) boxes reach the minimum face size (their smaller side)."""
        return np.minimum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]) >= self.min_face_px

    def save(self, npz_path: Path) -> None:
        """``.npz`` with names and embeddings (no pickle) and a ``.json`` sidecar of metadata."""
        with atomic_path(npz_path) as tmp, open(tmp, "wb") as stream:
            np.savez(stream, names=self.names.astype(str), embeddings=self.embeddings)
        write_json(
            npz_path.with_suffix(".json"),
            {
                **self.metadata,
                "threshold_l2": self.threshold_l2,
                "min_face_px": self.min_face_px,
                "crop_margin": self.crop_margin,
            },
        )

    @classmethod
    def load(cls, npz_path: Path, recognizer: str | None = None) -> Gallery:
        """The gallery saved as ``npz_path`` and its ``.json`` sidecar, enrolled with
        ``recognizer`` when given; a file that is not one, or a gallery of another recognizer,
        is a FacebenchError naming it."""
        npz_path, json_path = Path(npz_path), Path(npz_path).with_suffix(".json")
        if not npz_path.is_file():
            raise FacebenchError(f"{npz_path}: no such file")
        if not zipfile.is_zipfile(npz_path):  # False for a truncated archive too
            raise FacebenchError(f"{npz_path}: not a facebench gallery (not a complete .npz)")
        try:
            with np.load(npz_path, allow_pickle=False) as data:
                if missing := [k for k in GALLERY_ARRAYS if k not in data.files]:
                    raise FacebenchError(
                        f"{npz_path}: not a facebench gallery (no array {', '.join(missing)})"
                    )
                names, embeddings = (data[k] for k in GALLERY_ARRAYS)
        except (OSError, ValueError, zipfile.BadZipFile) as error:
            raise FacebenchError(f"{npz_path}: not a facebench gallery ({error})") from error
        _check_arrays(npz_path, names, embeddings)
        try:
            metadata = json.loads(json_path.read_text())
            gallery = cls(
                names,
                embeddings,
                metadata["threshold_l2"],
                metadata,
                metadata.get("min_face_px", 0.0),
                metadata.get("crop_margin", CROP_MARGIN),
            )
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise FacebenchError(
                f"{json_path}: not a facebench gallery sidecar ({error!r})"
            ) from error
        enrolled_with = metadata.get("recognizer")
        if recognizer is not None and enrolled_with not in (None, recognizer):
            raise FacebenchError(
                f"{npz_path}: gallery enrolled with recognizer {enrolled_with}, not {recognizer}"
                f" (its embeddings do not match {recognizer}'s; use resources/gallery/"
                f"{recognizer}.npz)"
            )
        return gallery


def _check_arrays(npz_path: Path, names: np.ndarray, embeddings: np.ndarray) -> None:
    """Raise unless ``names`` is one name per row of ``embeddings``, which are FaceNet's size."""
    if names.ndim != 1 or embeddings.shape != (len(names), FACENET_EMBEDDING_SIZE):
        raise FacebenchError(
            f"{npz_path}: not a facebench gallery (names {names.shape}, embeddings "
            f"{embeddings.shape}: expected one {FACENET_EMBEDDING_SIZE}-d embedding per name)"
        )
