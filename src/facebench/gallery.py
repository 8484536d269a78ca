"""The gallery of known people: enrol train photos, pick a rejection threshold on val photos,
identify faces as the nearest enrolled embedding or ``unknown``."""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from facebench.errors import FacebenchError
from facebench.faces import largest_face, prewhiten
from facebench.fileio import atomic_path, write_json
from facebench.identify import nearest
from facebench.models.layout import FACENET_EMBEDDING_SIZE
from facebench.photos import Photo, read_rgb

UNKNOWN = "unknown"
GALLERY_ARRAYS = ("names", "embeddings")  # the arrays of a gallery .npz


@dataclass
class Gallery:
    """Enrolled embeddings (one row per train photo) and the open-set rejection threshold."""

    names: np.ndarray  # (G,) identity of each row
    embeddings: np.ndarray  # (G, 128) L2-normalised
    threshold_l2: float  # plain L2 distance; farther than this -> unknown
    metadata: dict = field(default_factory=dict)

    def identify(self, embeddings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Identity (or ``unknown``) and L2 distance of the nearest enrolled face, per row."""
        if not len(embeddings):
            return np.array([], dtype=self.names.dtype), np.zeros(0)
        index, distance = nearest(self.embeddings, embeddings)
        names = np.where(distance <= self.threshold_l2, self.names[index], UNKNOWN)
        return names, distance

    def save(self, npz_path: Path) -> None:
        """``.npz`` with names and embeddings (no pickle) and a ``.json`` sidecar of metadata."""
        with atomic_path(npz_path) as tmp, open(tmp, "wb") as stream:
            np.savez(stream, names=self.names.astype(str), embeddings=self.embeddings)
        write_json(
            npz_path.with_suffix(".json"), {**self.metadata, "threshold_l2": self.threshold_l2}
        )

    @classmethod
    def load(cls, npz_path: Path) -> Gallery:
        """The gallery saved as ``npz_path`` and its ``.json`` sidecar; a file that is not one
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
        try:
            metadata = json.loads(json_path.read_text())
            return cls(names, embeddings, metadata["threshold_l2"], metadata)
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise FacebenchError(
                f"{json_path}: not a facebench gallery sidecar ({error!r})"
            ) from error


def embed_photos(detector, recognizer, photos: list[Photo], alignment: str) -> np.ndarray:
    """One embedding per photo (its largest face); NaN rows for photos with no face."""
    out = np.full((len(photos), FACENET_EMBEDDING_SIZE), np.nan, np.float32)
    for i, photo in enumerate(photos):
        face = largest_face(detector, read_rgb(photo.path), alignment)
        if face is not None:
            out[i] = recognizer.embed(prewhiten(face))[0]
    return out


def choose_threshold(
    distances: np.ndarray, nearest_names: np.ndarray, truth: np.ndarray
) -> tuple[float, float]:
    """The L2 threshold maximising open-set accuracy on labelled queries (truth ``unknown`` for
    people not enrolled), as the midpoint between neighbouring candidate distances; and that
    accuracy."""
    candidates = np.unique(np.r_[0.0, distances, 4.0])
    midpoints = (candidates[:-1] + candidates[1:]) / 2
    accuracy = [
        np.mean(np.where(distances <= t, nearest_names, UNKNOWN) == truth) for t in midpoints
    ]
    best = int(np.argmax(accuracy))
    return float(midpoints[best]), float(accuracy[best])


def build_gallery(
    detector, recognizer, photos: list[Photo], unknown: list[str], alignment: str
) -> tuple[Gallery, dict]:
    """Enrol the train photos of everyone but ``unknown``; choose the threshold on all val
    photos. Returns the gallery and its val-photo evaluation."""
    people = sorted({p.person for p in photos})
    if missing := set(unknown) - set(people):
        raise FacebenchError(f"gallery: unknown people {sorted(missing)} not among {people}")
    train = [p for p in photos if p.split == "train" and p.person not in unknown]
    val = [p for p in photos if p.split == "val"]
    train_emb = embed_photos(detector, recognizer, train, alignment)
    enrolled = ~np.isnan(train_emb).any(axis=1)
    names = np.array([p.person for p in train])[enrolled]
    val_emb = embed_photos(detector, recognizer, val, alignment)
    found = ~np.isnan(val_emb).any(axis=1)
    truth = np.array([UNKNOWN if p.person in unknown else p.person for p in val])[found]
    index, distance = nearest(train_emb[enrolled], val_emb[found])
    threshold, accuracy = choose_threshold(distance, names[index], truth)
    metadata = {
        "enrolled_people": sorted(str(n) for n in set(names)),
        "unknown_people": sorted(unknown),
        "n_enrolled_photos": int(enrolled.sum()),
        "n_val_photos": len(val),
        "n_val_without_face": int((~found).sum()),
        "alignment": alignment,
        "distance": "plain L2 between L2-normalised embeddings",
        "threshold_method": "maximises open-set accuracy on the val photos (midpoint between "
        "neighbouring distances); val photos of unknown people must be rejected",
        "val_open_set_accuracy": accuracy,
    }
    return Gallery(names, train_emb[enrolled], threshold, metadata), metadata
