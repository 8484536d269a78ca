"""Box geometry shared by detection parity, tests and (later) accuracy scoring."""

from __future__ import annotations

from typing import Literal

import numpy as np


def box_overlaps(a: np.ndarray, b: np.ndarray, overlap: Literal["union", "min"]) -> np.ndarray:
    """(M, N) intersection over union (or over the smaller area) of x1,y1,x2,y2 boxes."""
    inter_w = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0])
    inter_h = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1])
    inter = np.maximum(inter_w, 0) * np.maximum(inter_h, 0)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    if overlap == "union":
        denominator = area_a[:, None] + area_b[None, :] - inter
    else:
        denominator = np.minimum(area_a[:, None], area_b[None, :])
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
