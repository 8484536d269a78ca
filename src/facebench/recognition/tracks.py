"""Identity per track: a face's quality and a track's template embedding."""

from __future__ import annotations

import numpy as np

QUALITY_HALF_PX = 40.0  # a face of this side (px) gets half the size weight of a large one


def face_quality(box_side_px: float, score: float) -> float:
    """Weight of one face in its track's template: detector score times a size term rising
    from 0 (no pixels) towards 1 (large faces)."""
    side = max(float(box_side_px), 0.0)
    return float(score) * side / (side + QUALITY_HALF_PX)


def track_template(embeddings: np.ndarray, quality: np.ndarray) -> np.ndarray:
    """Quality-weighted mean of the L2-normalised embeddings, renormalised to unit length."""
    unit = embeddings / np.linalg.norm(embeddings, axis=1, keepdims=True)
    weights = np.asarray(quality, np.float64)
    if weights.sum() <= 0:
        weights = np.ones(len(unit))
    mean = (unit * weights[:, None]).sum(0)
    return (mean / np.linalg.norm(mean)).astype(np.float32)
