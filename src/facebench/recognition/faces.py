"""From detections to FaceNet inputs: crop or align to 160x160, prewhiten."""

from __future__ import annotations

import cv2
import numpy as np

from facebench.models.layout import FACE_SIZE_PX
from facebench.recognition.boxes import largest

CROP_MARGIN_PX = 44  # davidsandberg/facenet compare.py: 44 px in source pixels, half per side
ALIGNMENTS = ("crop", "similarity")

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


def crop_with_margin(
    rgb: np.ndarray, box: np.ndarray, margin_px: int = CROP_MARGIN_PX
) -> np.ndarray:
    """The paper's pipeline: box plus margin, clipped to the frame, bilinear resize to 160."""
    height, width = rgb.shape[:2]
    x1 = int(max(np.floor(box[0] - margin_px / 2), 0))
    y1 = int(max(np.floor(box[1] - margin_px / 2), 0))
    x2 = int(min(np.ceil(box[2] + margin_px / 2), width))
    y2 = int(min(np.ceil(box[3] + margin_px / 2), height))
    if x2 <= x1 or y2 <= y1:  # a box entirely outside the frame: nothing to crop
        return np.zeros((FACE_SIZE_PX, FACE_SIZE_PX, 3), np.uint8)
    return cv2.resize(
        rgb[y1:y2, x1:x2], (FACE_SIZE_PX, FACE_SIZE_PX), interpolation=cv2.INTER_LINEAR
    )


_similarity_fallbacks = 0


def similarity_fallbacks() -> int:
    """Faces cropped instead of aligned (no similarity transform fits their landmarks) since
    the process started, so a run can report how many of its faces were not aligned."""
    return _similarity_fallbacks


def similarity_matrix(landmarks: np.ndarray) -> np.ndarray | None:
    """The 2x3 similarity transform of 5 landmarks onto the template; None if none fits."""
    matrix, _ = cv2.estimateAffinePartial2D(landmarks.astype(np.float32), SIMILARITY_TEMPLATE)
    return matrix


def align_similarity(rgb: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """5-point similarity transform onto the ArcFace template (seed 002's alignment); a crop
    around the landmarks, counted by :func:`similarity_fallbacks`, where none fits."""
    global _similarity_fallbacks
    matrix = similarity_matrix(landmarks)
    if matrix is None:
        _similarity_fallbacks += 1
        return crop_with_margin(rgb, np.r_[landmarks.min(0), landmarks.max(0)])
    return cv2.warpAffine(rgb, matrix, (FACE_SIZE_PX, FACE_SIZE_PX), flags=cv2.INTER_LINEAR)


def extract_faces(
    rgb: np.ndarray, boxes: np.ndarray, landmarks: np.ndarray, alignment: str
) -> np.ndarray:
    """(N, 160, 160, 3) uint8 faces for N detections, by ``alignment`` ('crop'|'similarity')."""
    if alignment not in ALIGNMENTS:
        raise ValueError(f"alignment {alignment!r} not in {ALIGNMENTS}")
    if alignment == "crop":
        faces = [crop_with_margin(rgb, box) for box in boxes]
    else:
        faces = [align_similarity(rgb, points) for points in landmarks]
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
