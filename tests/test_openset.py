"""Open-set identification: leave-one-person-out trials, the threshold for a target false-accept
rate, photos that cannot be enrolled, the user's people folders, too-small faces and the
enrolled/stranger split of the accuracy counts. Stand-in detectors and embeddings."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pandas as pd
import pytest

from facebench.analysis.accuracy import identity_outcomes
from facebench.analysis.openset.summary import reidentify
from facebench.backends.base import Detections, l2_normalize
from facebench.errors import FacebenchError
from facebench.recognition.enrolment import Enrolment, build_gallery, photo_face
from facebench.recognition.gallery import TOO_SMALL, UNKNOWN, Gallery
from facebench.recognition.photos import Photo, gallery_photos, list_people_dir
from facebench.recognition.pipeline import FacePipeline
from facebench.recognition.strangers import BUNDLED, bundled_strangers
from facebench.recognition.thresholds import Trials, leave_one_person_out, threshold_for_far


def clustered(people: list[str], per_person: int, spread: float, seed: int = 0):
    """L2-normalised embeddings, ``per_person`` around a random centre per person."""
    rng = np.random.default_rng(seed)
    centres = l2_normalize(rng.standard_normal((len(people), 128)))
    rows = np.repeat(centres, per_person, axis=0) + spread * rng.standard_normal(
        (len(people) * per_person, 128)
    )
    return l2_normalize(rows), np.repeat(people, per_person)


def test_leave_one_person_out_pools_every_fold():
    embeddings, people = clustered(["a", "b", "c"], 4, 0.02)
    enrol = np.tile([True, True, True, False], 3)  # three train photos, one held out each
    strangers = l2_normalize(np.random.default_rng(1).standard_normal((2, 128)))
    trials = leave_one_person_out(embeddings, people, enrol, strangers)
    assert len(trials.genuine_distance) == 3 * 2  # per fold: the held-out photos of the others
    assert len(trials.impostor_distance) == 3 * (4 + 2)  # all of the stranger's + the extras
    assert trials.genuine_hit.all()
    assert trials.genuine_distance.max() < trials.impostor_distance.min()
    rates = trials.rates(float(trials.genuine_distance.max()))
    assert rates == {"far": 0.0, "frr": 0.0, "misidentified": 0.0, "rank1": 1.0}


def test_threshold_for_far_accepts_at_most_the_target_share():
    impostors = np.linspace(0.5, 1.49, 100)  # evenly spread, 0.01 apart
    assert threshold_for_far(impostors, 0.0) < impostors[0]
    for target in (0.01, 0.05, 0.5):
        threshold = threshold_for_far(impostors, target)
        accepted = int(np.sum(impostors <= threshold))
        assert accepted == round(target * 100)  # as many as allowed, no more
        assert impostors[accepted] - threshold == pytest.approx(0.005)  # midway to the next
    assert threshold_for_far(impostors, 1.0) == 2.0


def test_rates_split_rank1_misidentified_and_rejected():
    trials = Trials(np.array([0.3, 0.5, 0.9]), np.array([True, False, True]), np.array([0.4]))
    assert trials.rates(0.6) == pytest.approx(
        {"far": 1.0, "frr": 1 / 3, "misidentified": 1 / 3, "rank1": 1 / 3}
    )


class BoxesDetector:
    """Returns the given boxes for every image."""

    def __init__(self, boxes: list[list[float]]) -> None:
        self.boxes = np.array(boxes, np.float32).reshape(-1, 4)

    def detect(self, rgb: np.ndarray, stages: dict | None = None) -> Detections:
        n = len(self.boxes)
        centres = (self.boxes[:, :2] + self.boxes[:, 2:]) / 2
        return Detections(
            self.boxes, np.full(n, 0.99, np.float32), np.repeat(centres[:, None], 5, 1)
        )


def photo(tmp_path, name: str = "p.jpg", person: str = "a", split: str = "train") -> Photo:
    path = tmp_path / split / person / name
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.full((96, 96, 3), 128, np.uint8))
    return Photo(split, person, path)


@pytest.mark.parametrize(
    ("boxes", "reason"),
    [
        ([], "no face"),
        ([[0, 0, 40, 40], [50, 50, 80, 80]], "2 faces"),
        ([[0, 0, 60, 60], [70, 70, 80, 80]], ""),  # a small background face is not a second
    ],
)
def test_photo_face_needs_exactly_one_face(tmp_path, boxes, reason):
    face, why = photo_face(BoxesDetector(boxes), photo(tmp_path), "crop")
    assert why == reason
    assert (face is None) == bool(reason)


def test_user_people_folders_in_both_layouts_and_clashes(tmp_path):
    flat = tmp_path / "flat"
    for person in ("ann", "bob"):
        (flat / person).mkdir(parents=True)
        cv2.imwrite(str(flat / person / "1.png"), np.zeros((8, 8, 3), np.uint8))
    assert {(p.split, p.person) for p in list_people_dir(flat)} == {
        ("train", "ann"),
        ("train", "bob"),
    }
    split = tmp_path / "split"
    photo(split, person="cid", split="train")
    photo(split, person="cid", split="val")
    assert {p.split for p in list_people_dir(split)} == {"train", "val"}
    assert len(gallery_photos(split, [flat])) == 4
    with pytest.raises(FacebenchError, match=r"flat: person 'ann' is already in .*flat"):
        gallery_photos(split, [flat, flat])
    with pytest.raises(FacebenchError, match=r"nowhere: gallery people folder does not exist"):
        list_people_dir(tmp_path / "nowhere")
    (tmp_path / "empty" / "dan").mkdir(parents=True)
    with pytest.raises(FacebenchError, match=r"empty: no photos"):
        list_people_dir(tmp_path / "empty")


class ProjectionRecognizer:
    """A fixed random projection of the (prewhitened) crop: crops of one pattern land close
    together, different patterns nearly orthogonal."""

    def __init__(self) -> None:
        self.projection = np.random.default_rng(0).standard_normal((160 * 160 * 3, 128))

    def embed(self, faces: np.ndarray) -> np.ndarray:
        return l2_normalize(faces.reshape(len(faces), -1) @ self.projection)


class BlanklessDetector:
    """One centred face, none in an all-black image."""

    def detect(self, rgb: np.ndarray, stages: dict | None = None) -> Detections:
        return BoxesDetector([[8, 8, 56, 56]] if rgb.any() else []).detect(rgb)


def test_build_gallery_reports_unusable_photos_and_meets_the_target(tmp_path):
    rng = np.random.default_rng(3)
    photos = []
    for person in ["ann", "bob", "cid", "dan"]:
        pattern = rng.integers(30, 220, (64, 64, 3))  # one "face" per person
        for i, split in enumerate(["train", "train", "val"]):
            path = tmp_path / split / person / f"{i}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            noisy = pattern + rng.integers(-8, 9, pattern.shape)
            cv2.imwrite(str(path), noisy.clip(1, 255).astype(np.uint8))
            photos.append(Photo(split, person, path))
    blank = tmp_path / "train" / "ann" / "blank.png"
    cv2.imwrite(str(blank), np.zeros((64, 64, 3), np.uint8))
    gallery, curve = build_gallery(
        BlanklessDetector(),
        ProjectionRecognizer(),
        [*photos, Photo("train", "ann", blank)],
        Enrolment(("dan",), "crop"),
    )
    metadata = gallery.metadata
    assert metadata["left_out_photos"] == [{"photo": str(blank), "reason": "no face"}]
    assert metadata["enrolled_people"] == ["ann", "bob", "cid"]
    assert "dan" not in set(gallery.names) and len(gallery.names) == 6
    assert metadata["leave_one_person_out"] == {"n_genuine": 12, "n_impostor": 12, "folds": 4}
    target = metadata["thresholds"]["target_far"]
    assert target == {
        "threshold_l2": gallery.threshold_l2,
        "lopo_far": 0.0,
        "lopo_frr": 0.0,
        "lopo_misidentified": 0.0,
        "lopo_rank1": 1.0,
    }
    assert list(curve.columns) == ["threshold", "far", "frr", "misidentified", "rank1"]
    assert curve["far"].is_monotonic_increasing and curve["frr"].is_monotonic_decreasing
    names, _ = gallery.identify(gallery.embeddings[:1])
    assert names[0] == "ann"


def test_faces_below_the_minimum_size_are_too_small_and_not_embedded():
    embedded = []

    class CountingRecognizer:
        def embed(self, faces: np.ndarray) -> np.ndarray:
            embedded.append(len(faces))
            return l2_normalize(np.ones((len(faces), 128), np.float32))

    gallery = Gallery(np.array(["a"]), l2_normalize(np.ones((1, 128))), 0.5, min_face_px=30)
    detector = BoxesDetector([[0, 0, 40, 40], [50, 50, 70, 90]])  # 40 px, 20 px (min side)
    result = FacePipeline(detector, CountingRecognizer(), gallery).process(
        np.zeros((100, 100, 3), np.uint8)
    )
    assert list(result.identities) == ["a", TOO_SMALL]
    assert list(result.nearest) == ["a", ""]
    assert np.isnan(result.distances[1]) and sum(embedded) == 1


def test_outcomes_split_enrolled_and_strangers():
    faces = pd.DataFrame({"identity": ["ann", "bob", UNKNOWN, "ann", UNKNOWN, TOO_SMALL]})
    truth = pd.DataFrame({"identity": ["ann", "ann", "ann", "eve", "eve", "eve"]})
    matches = pd.DataFrame({"pred": range(6), "truth": range(6)})
    flags = identity_outcomes(faces, truth, matches, {"ann", "bob"})
    counts = {name: int(f.sum()) for name, f in flags.items()}
    assert counts == {
        "id_correct": 1 + 2,  # ann as ann; eve rejected twice (unknown, too small)
        "n_enrolled": 3,
        "rank1_correct": 1,
        "false_reject": 1,
        "n_stranger": 3,
        "false_accept": 1,
        "n_too_small": 1,
    }


def test_threshold_for_far_never_accepts_tied_impostors_beyond_the_target():
    impostors = np.r_[0.6, 0.6, np.linspace(0.7, 1.5, 98)]  # the same photo in two folds
    threshold = threshold_for_far(impostors, 0.01)
    assert np.mean(impostors <= threshold) == 0.0 and threshold < 0.6
    assert np.mean(impostors <= threshold_for_far(impostors, 0.02)) == 0.02


def test_reidentify_applies_each_recognizers_threshold_and_the_minimum_size():
    faces = pd.DataFrame(
        {
            "recognizer": ["onnx", "onnx", "tflite", "onnx", "onnx"],
            "nearest": ["ann", "ann", "ann", "bob", None],
            "distance": [0.8, 1.0, 1.0, 0.5, np.nan],
            "w": [50, 50, 50, 20, 50],
            "h": [60, 60, 60, 60, 60],
            "identity": ["as run"] * 5,
        }
    )
    again = reidentify(faces, {"onnx": 0.9, "tflite": 1.1}, min_face_px=30)
    assert list(again["identity"]) == ["ann", UNKNOWN, "ann", TOO_SMALL, TOO_SMALL]
    assert list(faces["identity"]) == ["as run"] * 5  # the runs' own table is left as it was


def test_bundled_strangers_are_checksummed():
    (hopper,) = bundled_strangers()
    assert hopper.person == "grace_hopper" and hopper.path.is_file()
    tampered = dataclasses.replace(BUNDLED[0], sha256="0" * 64)
    with pytest.raises(FacebenchError, match=r"grace_hopper\.jpg: sha256 a8ca.* does not match"):
        bundled_strangers((tampered,))


def test_far_threshold_between_float32_neighbours_keeps_the_target():
    close = np.float32(1.0523903)
    impostors = np.r_[np.linspace(0.5, 1.0, 18), close, np.nextafter(close, np.float32(2))]
    trials = Trials(np.zeros(0), np.zeros(0, bool), impostors.astype(np.float32))
    threshold = threshold_for_far(trials.impostor_distance, 0.95)  # accept 19 of 20
    assert trials.rates(threshold)["far"] == 0.95
