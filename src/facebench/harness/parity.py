"""Backend parity against the TensorFlow reference, and the reference's own face quality."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facebench.errors import FacebenchError
from facebench.fileio import atomic_path
from facebench.models.layout import FACENET_EMBEDDING_SIZE
from facebench.recognition.boxes import largest, match_boxes
from facebench.recognition.faces import extract_faces, prewhiten
from facebench.recognition.identify import nearest
from facebench.recognition.photos import Photo, read_rgb


@dataclass
class Reference:
    """TF detections on every photo and the TF embedding of each photo's largest face."""

    keys: np.ndarray  # (P,) photo keys "split/person/file"
    n_faces: np.ndarray  # (P,) faces found per photo
    photo_of_box: np.ndarray  # (M,) photo index of each detection
    boxes: np.ndarray  # (M, 4) every detection
    landmarks: np.ndarray  # (M, 5, 2)
    face_box: np.ndarray  # (P,) index into boxes of the photo's largest face, -1 if none
    embeddings: np.ndarray  # (P, 128), NaN rows where no face

    @property
    def persons(self) -> np.ndarray:
        return np.array([k.split("/")[1] for k in self.keys])

    @property
    def splits(self) -> np.ndarray:
        return np.array([k.split("/")[0] for k in self.keys])

    def save(self, path: Path) -> None:
        with atomic_path(path) as tmp, open(tmp, "wb") as stream:
            np.savez(stream, **{k: getattr(self, k) for k in self.__dataclass_fields__})

    @classmethod
    def load(cls, path: Path) -> Reference:
        try:
            with np.load(path, allow_pickle=False) as data:
                return cls(**{k: data[k] for k in cls.__dataclass_fields__})
        except (OSError, KeyError, ValueError) as error:
            raise FacebenchError(f"{path}: not a parity reference file: {error}") from error


def detect_all(detector, photos: list[Photo]) -> list:
    """Detections for every photo, with progress on stderr."""
    return [detector.detect(read_rgb(photo.path)) for photo in photos]


def embed_largest(
    recognizer, photos: list[Photo], boxes: np.ndarray, landmarks: np.ndarray, alignment: str
) -> np.ndarray:
    """Embed one face per photo (boxes/landmarks given per photo, NaN rows skipped)."""
    out = np.full((len(photos), FACENET_EMBEDDING_SIZE), np.nan, np.float32)
    for i, photo in enumerate(photos):
        if np.isnan(boxes[i]).any():
            continue
        face = extract_faces(
            read_rgb(photo.path), boxes[i : i + 1], landmarks[i : i + 1], alignment
        )
        out[i] = recognizer.embed(prewhiten(face))[0]
    return out


def compute_reference(detector, recognizer, photos: list[Photo], alignment: str) -> Reference:
    """Run the TF detector and recognizer over the photos."""
    detections = detect_all(detector, photos)
    n_faces = np.array([len(d) for d in detections])
    offsets = np.r_[0, np.cumsum(n_faces)[:-1]]
    face_box = np.array(
        [o + largest(d.boxes) if len(d) else -1 for o, d in zip(offsets, detections, strict=True)]
    )
    ref = Reference(
        keys=np.array([p.key for p in photos]),
        n_faces=n_faces,
        photo_of_box=np.repeat(np.arange(len(photos)), n_faces),
        boxes=np.concatenate([d.boxes for d in detections]).reshape(-1, 4),
        landmarks=np.concatenate([d.landmarks for d in detections]).reshape(-1, 5, 2),
        face_box=face_box,
        embeddings=np.empty((len(photos), FACENET_EMBEDDING_SIZE), np.float32),
    )
    ref.embeddings = embed_largest(recognizer, photos, *reference_faces(ref), alignment)
    return ref


def reference_faces(ref: Reference) -> tuple[np.ndarray, np.ndarray]:
    """Per-photo largest-face box and landmarks (NaN where the photo had no face)."""
    boxes = np.full((len(ref.keys), 4), np.nan, np.float32)
    marks = np.full((len(ref.keys), 5, 2), np.nan, np.float32)
    chosen = ref.face_box >= 0
    boxes[chosen], marks[chosen] = (
        ref.boxes[ref.face_box[chosen]],
        ref.landmarks[ref.face_box[chosen]],
    )
    return boxes, marks


def _identify_val(embeddings: np.ndarray, persons: np.ndarray, splits: np.ndarray) -> tuple:
    """Nearest-train-photo identity of each val photo (photos without a face are skipped)."""
    valid = ~np.isnan(embeddings).any(axis=1)
    train, val = valid & (splits == "train"), valid & (splits == "val")
    index, distance = nearest(embeddings[train], embeddings[val])
    return persons[train][index], persons[val], distance


def facenet_quality(ref: Reference) -> dict:
    """Nearest-neighbour identification accuracy of val vs train, and the distance gap."""
    persons, splits = ref.persons, ref.splits
    predicted, truth, _ = _identify_val(ref.embeddings, persons, splits)
    valid = ~np.isnan(ref.embeddings).any(axis=1)
    val = valid & (splits == "val")
    train = valid & (splits == "train")
    distance = np.linalg.norm(ref.embeddings[val][:, None] - ref.embeddings[train][None], axis=2)
    same = persons[val][:, None] == persons[train][None, :]
    return {
        "n_val": int(val.sum()),
        "n_train": int(train.sum()),
        "n_photos_without_face": int((~valid).sum()),
        "nn_accuracy": float((predicted == truth).mean()),
        "same_person_l2_mean": float(distance[same].mean()),
        "same_person_l2_max": float(distance[same].max()),
        "different_person_l2_mean": float(distance[~same].mean()),
        "different_person_l2_min": float(distance[~same].min()),
        "distance": "plain L2 between L2-normalised embeddings",
    }


def recognizer_parity(recognizer, ref: Reference, photos: list[Photo], alignment: str) -> dict:
    """Max |diff|, min cosine and identification agreement of ``recognizer`` vs the reference."""
    boxes, marks = reference_faces(ref)
    ours = embed_largest(recognizer, photos, boxes, marks, alignment)
    valid = ~np.isnan(ref.embeddings).any(axis=1)
    cosine = np.sum(ours[valid] * ref.embeddings[valid], axis=1)
    ours_pred, _, _ = _identify_val(ours, ref.persons, ref.splits)
    ref_pred, _, _ = _identify_val(ref.embeddings, ref.persons, ref.splits)
    return {
        "n_inputs": int(valid.sum()),
        # NaN (judged a failure) when no face was compared; a NaN embedding propagates
        "max_abs_diff": float(np.abs(ours[valid] - ref.embeddings[valid]).max())
        if valid.any()
        else np.nan,
        "min_cosine": float(cosine.min()) if valid.any() else np.nan,
        "identification_agreement": float((ours_pred == ref_pred).mean()),
    }


def detector_parity(detector, ref: Reference, photos: list[Photo]) -> dict:
    """Face-count agreement and matched-box IoU of ``detector`` vs the reference detections."""
    detections = detect_all(detector, photos)
    ious, diffs, same_count = [], [], 0
    for i, found in enumerate(detections):
        expected = ref.boxes[ref.photo_of_box == i]
        same_count += len(found) == len(expected)
        for a, b, iou in match_boxes(expected, found.boxes):
            ious.append(iou)
            diffs.append(np.abs(expected[a] - found.boxes[b]).max())
        ious += [0.0] * (max(len(expected), len(found)) - min(len(expected), len(found)))
    return {
        "n_inputs": len(photos),
        "n_faces_reference": int(ref.n_faces.sum()),
        "n_faces": int(sum(len(d) for d in detections)),
        "face_count_agreement": same_count / len(photos),
        # no box compared: NaN (judged a failure), never a perfect 1.0
        "min_iou": float(min(ious, default=np.nan)),
        "mean_iou": float(np.mean(ious)) if ious else np.nan,
        "max_abs_diff": float(max(diffs, default=np.nan)),
    }


REFERENCE_BACKEND = "tf"  # the reference itself: listed, never counted as a comparison
MIN_FP32_COMPARISONS = 3  # real (non-reference) fp32 backends each model must pass
MAX_INT8_SIZE_RATIO = 0.4  # an int8 model is under 40 % of its fp32 file


def quantisation(int8_path: Path, fp32_path: Path) -> dict:
    """Tensor types and file size of a .tflite that claims to be int8, against its fp32 twin:
    an fp32 copy under the int8 name would otherwise pass parity."""
    from collections import Counter

    from facebench.backends.tflite import interpreter_class

    details = interpreter_class()(model_path=str(int8_path)).get_tensor_details()
    dtypes = Counter(np.dtype(d["dtype"]).name for d in details)
    return {
        "int8_tensors": int(dtypes["int8"] + dtypes["uint8"]),
        "n_tensors": len(details),
        "size_ratio_to_fp32": Path(int8_path).stat().st_size / Path(fp32_path).stat().st_size,
    }


PARITY_COLUMNS = [
    "model",
    "backend",
    "precision",
    "n_inputs",
    "max_abs_diff",
    "min_cosine",
    "identification_agreement",
    "face_count_agreement",
    "min_iou",
    "mean_iou",
    "status",
    "reason",
]


def backend_parity(
    role: str,
    backend: str,
    reference: Path,
    faces_dir: Path,
    models_dir: Path,
    threads: int,
    alignment: str,
    max_photos_per_person: int | None,
    out: Path,
) -> dict:
    """Measure one backend against the reference and write its row as JSON."""
    from facebench.backends.registry import DETECTORS, RECOGNIZERS, load_recognizer
    from facebench.fileio import write_json
    from facebench.recognition.detector import load_detector
    from facebench.recognition.photos import list_photos

    ref = Reference.load(reference)
    photos = list_photos(faces_dir, max_photos_per_person)
    if [p.key for p in photos] != list(ref.keys):
        raise FacebenchError(f"{reference}: made from other photos than {faces_dir}; rerun it")
    if role == "detector":
        spec = DETECTORS[backend]
        row = detector_parity(load_detector(backend, models_dir, threads), ref, photos)
    else:
        spec = RECOGNIZERS[backend]
        recognizer = load_recognizer(backend, models_dir, threads)
        row = recognizer_parity(recognizer, ref, photos, alignment)
        if spec.framework == "tflite" and spec.precision == "int8":
            from facebench.models.layout import FACENET, model_file

            row["quantisation"] = quantisation(
                model_file(models_dir, "tflite", FACENET, "int8"),
                model_file(models_dir, "tflite", FACENET, "fp32"),
            )
    row = {
        "model": "mtcnn" if role == "detector" else "facenet",
        "backend": backend,
        "precision": spec.precision,
        **row,
    }
    print(row)
    write_json(out, row)
    return row


def judge(row: dict, thresholds: dict) -> tuple[str, str]:
    """('pass'|'fail', reason) for a measured row against the configured thresholds."""
    if row["backend"] == REFERENCE_BACKEND:
        return "reference", "the TensorFlow reference itself: not a comparison"
    if row["model"] == "facenet":
        needed = thresholds["min_cosine"][row["precision"]]
        if np.isnan(row["min_cosine"]):
            return "fail", "min_cosine NaN: no face embedded by both the backend and the reference"
        if row["min_cosine"] < needed:
            return "fail", f"min_cosine {row['min_cosine']:.6f} < {needed}"
        if row["precision"] == "int8":
            q = row.get("quantisation")
            if q is None:
                return "fail", "int8 model's tensor types not checked"
            if not q["int8_tensors"] or not q["size_ratio_to_fp32"] < MAX_INT8_SIZE_RATIO:
                return "fail", (
                    f"not quantised: {q['int8_tensors']} of {q['n_tensors']} tensors int8, "
                    f"size {q['size_ratio_to_fp32']:.0%} of fp32"
                )
            return "pass", (
                f"min_cosine >= {needed}; {q['int8_tensors']} int8 tensors, "
                f"size {q['size_ratio_to_fp32']:.0%} of fp32"
            )
        return "pass", f"min_cosine >= {needed}"
    if np.isnan(row["mean_iou"]):
        return "fail", "mean_iou NaN: no box matched between the backend and the reference"
    failures = []
    if row["face_count_agreement"] < thresholds["min_face_count_agreement"]:
        failures.append(
            f"face_count_agreement {row['face_count_agreement']:.3f} "
            f"< {thresholds['min_face_count_agreement']}"
        )
    min_iou = thresholds["min_mean_iou"][row["precision"]]
    if row["mean_iou"] < min_iou:
        failures.append(f"mean_iou {row['mean_iou']:.4f} < {min_iou}")
    if failures:
        return "fail", "; ".join(failures)
    return "pass", (
        f"face_count_agreement >= {thresholds['min_face_count_agreement']}, mean_iou >= {min_iou}"
    )


def gather_parity(rows: list[Path], thresholds: dict, out: Path) -> None:
    """Write parity.csv: measured rows judged, unavailable backends as 'not measured'."""
    import json

    import pandas as pd

    from facebench.backends.registry import DETECTORS, RECOGNIZERS, unavailable_reason

    measured = {}
    for path in rows:
        row = json.loads(path.read_text())
        row["status"], row["reason"] = judge(row, thresholds)
        measured[(row["model"], row["backend"])] = row
    table = []
    for model, role, backends in (
        ("mtcnn", DETECTORS, thresholds["detectors"]),
        ("facenet", RECOGNIZERS, thresholds["recognizers"]),
    ):
        for backend in backends:
            reason = unavailable_reason(role[backend])
            table.append(
                measured.get((model, backend))
                or {
                    "model": model,
                    "backend": backend,
                    "precision": role[backend].precision,
                    "status": "not measured",
                    "reason": reason or "no parity row",
                }
            )
    frame = pd.DataFrame(table).reindex(columns=PARITY_COLUMNS)
    print(frame.to_string(index=False))
    with atomic_path(out) as tmp:
        frame.to_csv(tmp, index=False)
    failed = [
        f"{r.model}/{r.backend} ({r.reason})" for r in frame[frame.status == "fail"].itertuples()
    ]
    for model in ("mtcnn", "facenet"):
        passed = frame[(frame.model == model) & (frame.precision == "fp32")]
        if (n := int((passed.status == "pass").sum())) < MIN_FP32_COMPARISONS:
            failed.append(
                f"{model}: {n} fp32 backends compared with the reference, "
                f"{MIN_FP32_COMPARISONS} needed"
            )
    if failed:
        out.unlink()
        raise FacebenchError(f"{out}: parity failed for " + ", ".join(failed))
