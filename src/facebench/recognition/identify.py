"""Identification against a gallery: nearest L2-normalised embedding, one matrix product."""

from __future__ import annotations

import numpy as np


def nearest(gallery: np.ndarray, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of each query's nearest gallery row and its (plain, not squared) L2 distance.

    Rows must be L2-normalised, so ||a - b||^2 = 2 - 2 a.b.
    """
    similarity = queries @ gallery.T
    index = similarity.argmax(axis=1)
    best = similarity[np.arange(len(queries)), index]
    return index, np.sqrt(np.maximum(2.0 - 2.0 * best, 0.0))
