"""From detections to FaceNet inputs: crop or align to 160x160, prewhiten."""

from __future__ import annotations

from typing import NamedTuple

import cv2
import numpy as np

from facebench.models.layout import FACE_SIZE_PX
from facebench.recognition.boxes import largest

# The margin added around a detected box, as a fraction of the box's side (half per side):
# davidsandberg/facenet's fixed 44 px let a 15 px face fill a quarter of FaceNet's input and a
# 300 px face 87 %; in proportion, every face fills the same 1 / 1.4 of it (issue 25).
CROP_MARGIN = 0.4
ALIGNMENTS = ("crop", "similarity")


class Cropping(NamedTuple):
    """How detections become FaceNet inputs: the ``alignment`` and the crop ``margin``."""

    alignment: str = "crop"
    margin: float = CROP_MARGIN


# insightface's 5-point ArcFace template for 112x112, scaled to 160x160 (eyes, nose, mouth).
_TEMPLATE_112 = np.array(
    [
        [38.2946, 51.6963],
        [73.5318, 51.5014],
        [56.0252, 71.7366],
        [41.5493, 92.3655],
        [70.7299, 92.2041],
    ],
    dtype=np.float32,
)
SIMILARITY_TEMPLATE = _TEMPLATE_112 * (FACE_SIZE_PX / 112.0)


def crop_with_margin(rgb: np.ndarray, box: np.ndarray, margin: float = CROP_MARGIN) -> np.ndarray:
    """The box grown by ``margin`` x its width and height (half per side), resized to 160.

    Where the grown box leaves the frame the frame is padded by repeating its border pixels
    (``cv2.BORDER_REPLICATE``) rather than clipped: a clipped crop would be stretched to the
    square input, so a face at the border would fill a different share of it than one inside.
    Replication, unlike a constant (black) band, adds no hard edge that prewhitening's mean and
    std would then be dominated by. A box with no area is an empty (black) face.
    """
    height, width = rgb.shape[:2]
    grow_x, grow_y = margin * (box[2] - box[0]) / 2, margin * (box[3] - box[1]) / 2
    x1, y1 = int(np.floor(box[0] - grow_x)), int(np.floor(box[1] - grow_y))
    x2, y2 = int(np.ceil(box[2] + grow_x)), int(np.ceil(box[3] + grow_y))
    inside = (max(x1, 0), max(y1, 0), min(x2, width), min(y2, height))
    if x2 <= x1 or y2 <= y1 or inside[2] <= inside[0] or inside[3] <= inside[1]:
        return np.zeros((FACE_SIZE_PX, FACE_SIZE_PX, 3), np.uint8)
    region = cv2.copyMakeBorder(
        rgb[inside[1] : inside[3], inside[0] : inside[2]],
        inside[1] - y1,
        y2 - inside[3],
        inside[0] - x1,
        x2 - inside[2],
        cv2.BORDER_REPLICATE,
    )
    return cv2.resize(region, (FACE_SIZE_PX, FACE_SIZE_PX), interpolation=cv2.INTER_LINEAR)


_similarity_fallbacks = 0


def similarity_fallbacks() -> int:
    """Faces cropped instead of aligned (no similarity transform fits their landmarks) since
    the process started, so a run can report how many of its faces were not aligned."""
    return _similarity_fallbacks


def similarity_matrix(landmarks: np.ndarray) -> np.ndarray | None:
    """The 2x3 similarity transform of 5 landmarks onto the template; None if none fits."""
    matrix, _ = cv2.estimateAffinePartial2D(landmarks.astype(np.float32), SIMILARITY_TEMPLATE)
    return matrix


def align_similarity(rgb: np.ndarray, landmarks: np.ndarray, margin: float) -> np.ndarray:
    """5-point similarity transform onto the ArcFace template (seed 002's alignment); a crop
    around the landmarks, counted by :func:`similarity_fallbacks`, where none fits."""
    global _similarity_fallbacks
    matrix = similarity_matrix(landmarks)
    if matrix is None:
        _similarity_fallbacks += 1
        return crop_with_margin(rgb, np.r_[landmarks.min(0), landmarks.max(0)], margin)
    return cv2.warpAffine(rgb, matrix, (FACE_SIZE_PX, FACE_SIZE_PX), flags=cv2.INTER_LINEAR)


def extract_faces(
    rgb: np.ndarray,
    boxes: np.ndarray,
    landmarks: np.ndarray,
    alignment: str,
    margin: float = CROP_MARGIN,
) -> np.ndarray:
    """(N, 160, 160, 3) uint8 faces for N detections, by ``alignment`` ('crop'|'similarity');
    ``margin``: the crop's, a fraction of the box side (:func:`crop_with_margin`)."""
    if alignment not in ALIGNMENTS:
        raise ValueError(f"alignment {alignment!r} not in {ALIGNMENTS}")
    if alignment == "crop":
        faces = [crop_with_margin(rgb, box, margin) for box in boxes]
    else:
        faces = [align_similarity(rgb, points, margin) for points in landmarks]
    return np.stack(faces) if faces else np.zeros((0, FACE_SIZE_PX, FACE_SIZE_PX, 3), np.uint8)


def largest_face(detector, rgb: np.ndarray, alignment: str) -> np.ndarray | None:
    """The (1, 160, 160, 3) uint8 face of the largest detection in ``rgb``, None if none."""
    found = detector.detect(rgb)
    if not len(found):
        return None
    k = largest(found.boxes)
    return extract_faces(rgb, found.boxes[k : k + 1], found.landmarks[k : k + 1], alignment)


def prewhiten(faces: np.ndarray) -> np.ndarray:
    """Per-image standardisation as the 2017 FaceNet models expect (std floored at 1/sqrt(N))."""
    x = faces.astype(np.float32)
    axes = (1, 2, 3)
    mean = x.mean(axis=axes, keepdims=True)
    std = x.std(axis=axes, keepdims=True)
    floor = 1.0 / np.sqrt(x[0].size) if len(x) else 1.0
    return (x - mean) / np.maximum(std, floor)
