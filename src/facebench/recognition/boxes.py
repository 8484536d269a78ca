"""Box geometry shared by MTCNN's NMS, detection parity, the video line-up check and accuracy
scoring."""

from __future__ import annotations

from typing import Literal

import numpy as np

MATCH_IOU = 0.5  # a detection matches a ground-truth face at IoU >= 0.5 (PASCAL VOC)
MIN_FACE_PX = 20.0  # MTCNN's default minimum face size: smaller faces count as not detectable


def box_overlaps(a: np.ndarray, b: np.ndarray, overlap: Literal["union", "min"]) -> np.ndarray:
    """(M, N) intersection over union (or over the smaller area) of x1,y1,x2,y2 boxes."""
    return _overlaps(a[:, None, :], b[None, :, :], overlap)


def paired_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N,) IoU of row i of ``a`` with row i of ``b`` (x1,y1,x2,y2 boxes)."""
    return _overlaps(a, b, "union")


def _overlaps(a: np.ndarray, b: np.ndarray, overlap: Literal["union", "min"]) -> np.ndarray:
    """Overlap of x1,y1,x2,y2 boxes along the last axis of broadcastable ``a`` and ``b``."""
    inter_w = np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0])
    inter_h = np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1])
    inter = np.maximum(inter_w, 0) * np.maximum(inter_h, 0)
    area_a = (a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1])
    area_b = (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
    denominator = area_a + area_b - inter if overlap == "union" else np.minimum(area_a, area_b)
    return inter / np.maximum(denominator, np.finfo(np.float64).tiny)


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of x1,y1,x2,y2 boxes: (len(a), len(b))."""
    a, b = np.asarray(a, np.float64).reshape(-1, 4), np.asarray(b, np.float64).reshape(-1, 4)
    return box_overlaps(a, b, "union")


def match_boxes(a: np.ndarray, b: np.ndarray) -> list[tuple[int, int, float]]:
    """Greedy one-to-one matching by descending IoU: (index in a, index in b, IoU), IoU > 0."""
    iou = iou_matrix(a, b)
    pairs = []
    while iou.size and iou.max() > 0:
        i, j = np.unravel_index(iou.argmax(), iou.shape)
        pairs.append((int(i), int(j), float(iou[i, j])))
        iou[i, :], iou[:, j] = -1, -1
    return pairs


def largest(boxes: np.ndarray) -> int:
    """Index of the box with the largest area (the photo's subject)."""
    return int(np.argmax((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])))
