"""Enrol people into a gallery: the 5-celebrity photo set and the user's own people folders.

Every photo must show exactly one face: a photo with none, or with several of similar size, is
reported by name and never enrolled. The rejection threshold is chosen for a target
false-accept rate by leave-one-person-out over every person with photos (``target_far``), or
as the value maximising open-set accuracy on the val photos (``max_accuracy``, the earlier
method); both are recorded with the FAR/FRR they give, and the curve is saved beside.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from facebench.backends.registry import load_recognizer
from facebench.errors import FacebenchError
from facebench.fileio import atomic_path
from facebench.models.layout import FACENET_EMBEDDING_SIZE
from facebench.recognition.boxes import largest
from facebench.recognition.detector import load_detector
from facebench.recognition.faces import CROP_MARGIN, extract_faces, prewhiten
from facebench.recognition.gallery import UNKNOWN, Gallery
from facebench.recognition.identify import nearest
from facebench.recognition.photos import Photo, read_rgb
from facebench.recognition.thresholds import (
    THRESHOLD_METHODS,
    Trials,
    choose_threshold,
    det_curve,
    leave_one_person_out,
    threshold_for_far,
)

# A second face counts when its box area is at least this share of the largest one's: small
# background faces do not make a portrait ambiguous.
SECOND_FACE_AREA = 0.25


@dataclass(frozen=True)
class Enrolment:
    """How to enrol: people kept out of the gallery (strangers), face alignment, threshold
    method and target false-accept rate, minimum face size for recognition (px), crop margin
    (a fraction of the box side)."""

    unknown: tuple[str, ...]
    alignment: str
    threshold_method: str = "target_far"
    target_far: float = 0.01
    min_face_px: float = 0.0
    crop_margin: float = CROP_MARGIN

    def __post_init__(self) -> None:
        if self.threshold_method not in THRESHOLD_METHODS:
            raise FacebenchError(
                f"gallery threshold method {self.threshold_method!r} not in {THRESHOLD_METHODS}"
            )


def photo_face(
    detector, photo: Photo, alignment: str, margin: float = CROP_MARGIN
) -> tuple[np.ndarray | None, str]:
    """The photo's one face as a (1, 160, 160, 3) uint8 crop and "" ; or None and why not
    ("no face", "N faces")."""
    rgb = read_rgb(photo.path)
    found = detector.detect(rgb)
    if not len(found):
        return None, "no face"
    areas = (found.boxes[:, 2] - found.boxes[:, 0]) * (found.boxes[:, 3] - found.boxes[:, 1])
    if (count := int((areas >= SECOND_FACE_AREA * areas.max()).sum())) > 1:
        return None, f"{count} faces"
    k = largest(found.boxes)
    face = extract_faces(rgb, found.boxes[k : k + 1], found.landmarks[k : k + 1], alignment, margin)
    return face, ""


def embed_photos(
    detector, recognizer, photos: list[Photo], alignment: str, margin: float = CROP_MARGIN
) -> tuple[np.ndarray, list[dict]]:
    """One embedding per photo (NaN rows where it cannot be used) and the photos left out,
    each ``{"photo": path, "reason": ...}``."""
    out = np.full((len(photos), FACENET_EMBEDDING_SIZE), np.nan, np.float32)
    left_out = []
    for i, photo in enumerate(photos):
        face, reason = photo_face(detector, photo, alignment, margin)
        if face is None:
            left_out.append({"photo": str(photo.path), "reason": reason})
        else:
            out[i] = recognizer.embed(prewhiten(face))[0]
    return out, left_out


def _max_accuracy_threshold(
    embeddings: np.ndarray, people: np.ndarray, enrolled: np.ndarray, query: np.ndarray
) -> float:
    """NaN without held-out (val) photos."""
    if not query.any():
        return float("nan")
    truth = np.where(np.isin(people[query], people[enrolled]), people[query], UNKNOWN)
    index, distance = nearest(embeddings[enrolled], embeddings[query])
    return choose_threshold(distance, people[enrolled][index], truth)[0]


def build_gallery(
    detector,
    recognizer,
    photos: list[Photo],
    settings: Enrolment,
    strangers: list[Photo] = (),
) -> tuple[Gallery, pd.DataFrame]:
    """Enrol the train photos of everyone but ``settings.unknown``; choose the threshold.

    ``photos`` are labelled train/val photos (val: held out); ``strangers`` are photos of
    people never enrolled (extra impostors for the threshold). Returns the gallery and its
    leave-one-person-out curve (threshold, far, frr, misidentified, rank1).
    """
    people_listed = sorted({p.person for p in photos})
    if missing := set(settings.unknown) - set(people_listed):
        raise FacebenchError(f"gallery: unknown people {sorted(missing)} not among {people_listed}")
    how = (settings.alignment, settings.crop_margin)
    embeddings, left_out = embed_photos(detector, recognizer, photos, *how)
    stranger_emb, stranger_left_out = embed_photos(detector, recognizer, list(strangers), *how)
    usable = ~np.isnan(embeddings).any(axis=1)
    people = np.array([p.person for p in photos])
    train = np.array([p.split == "train" for p in photos])
    trials = leave_one_person_out(
        embeddings[usable],
        people[usable],
        train[usable],
        stranger_emb[~np.isnan(stranger_emb).any(axis=1)],
    )
    enrolled = usable & train & ~np.isin(people, settings.unknown)
    if not len(trials.impostor_distance):
        raise FacebenchError(
            "gallery: no stranger trials to choose the threshold from (leave-one-person-out "
            "needs photos of at least two people: enrol more people or keep the photo set)"
        )
    thresholds = {
        "target_far": threshold_for_far(trials.impostor_distance, settings.target_far),
        "max_accuracy": _max_accuracy_threshold(embeddings, people, enrolled, usable & ~train),
    }
    chosen = thresholds[settings.threshold_method]
    if np.isnan(chosen):
        raise FacebenchError(
            f"gallery: threshold method {settings.threshold_method!r} needs held-out val photos "
            "(train/person + val/person folders); use target_far"
        )
    metadata = {
        "enrolled_people": sorted(str(n) for n in set(people[enrolled])),
        "unknown_people": sorted(settings.unknown),
        "n_enrolled_photos": int(enrolled.sum()),
        "n_val_photos": int((~train).sum()),
        "n_stranger_photos": len(strangers),
        "left_out_photos": left_out + stranger_left_out,
        "alignment": settings.alignment,
        "distance": "plain L2 between L2-normalised embeddings",
        "threshold_method": settings.threshold_method,
        "target_far": settings.target_far,
        "thresholds": {
            method: {"threshold_l2": value, **_rates(trials, value)}
            for method, value in thresholds.items()
        },
        "leave_one_person_out": {
            "n_genuine": len(trials.genuine_distance),
            "n_impostor": len(trials.impostor_distance),
            "folds": len(np.unique(people[usable & train])),
        },
    }
    gallery = Gallery(
        people[enrolled],
        embeddings[enrolled],
        chosen,
        metadata,
        settings.min_face_px,
        settings.crop_margin,
    )
    return gallery, det_curve(trials)


def _rates(trials: Trials, threshold: float) -> dict[str, float]:
    return {f"lopo_{k}": v for k, v in trials.rates(threshold).items()}


def enrol_gallery(
    models_dir: Path,
    detector: str,
    recognizer: str,
    threads: int,
    photos: list[Photo],
    settings: Enrolment,
    strangers: list[Photo],
    out: Path,
) -> Gallery:
    """Enrol ``photos`` with the ``detector`` and ``recognizer`` backends of ``models_dir`` and
    save the gallery at ``out`` (``.npz``, its ``.json`` and its leave-one-person-out curve
    ``<stem>_lopo.csv``): the workflow's galleries and ``facebench enroll`` alike."""
    gallery, curve = build_gallery(
        load_detector(detector, models_dir, threads),
        load_recognizer(recognizer, models_dir, threads),
        photos,
        settings,
        strangers,
    )
    gallery.metadata.update(recognizer=recognizer)
    gallery.save(out)
    with atomic_path(out.with_name(f"{out.stem}_lopo.csv")) as tmp:
        curve.to_csv(tmp, index=False, float_format="%.6g")
    return gallery
