"""A small IoU tracker (SORT's association without its Kalman filter): the one tracker of the
per-frame runs (faces.csv's track_id) and the hybrid strategy's edge.

Detections of a frame are assigned to live tracks by the Hungarian method on 1 - IoU
(``scipy.optimize.linear_sum_assignment``); pairs below ``min_iou`` are not matched. An
unmatched detection starts a track; a track unseen for ``max_age_s`` of capture time ends.
The maintained ``trackers`` package was not used: it pulls in opencv-python (beside our
headless OpenCV) and supervision; motpy is abandoned and boxmot is AGPL.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from facebench.recognition.boxes import iou_matrix


@dataclass
class IouTracker:
    """Track ids for the boxes of successive frames (x1, y1, x2, y2, frame pixels)."""

    min_iou: float = 0.3
    max_age_s: float = 0.5
    _boxes: dict[int, np.ndarray] = field(default_factory=dict)
    _last_seen_s: dict[int, float] = field(default_factory=dict)
    _next_id: int = 0

    def update(self, boxes: np.ndarray, t_s: float) -> np.ndarray:
        """Track id of each box of a frame captured at ``t_s`` (seconds, any origin)."""
        for track in [t for t, seen in self._last_seen_s.items() if t_s - seen > self.max_age_s]:
            del self._boxes[track], self._last_seen_s[track]
        live = list(self._boxes)
        ids = np.full(len(boxes), -1, np.int64)
        if live and len(boxes):
            iou = iou_matrix(
                np.asarray(boxes, np.float64), np.stack([self._boxes[t] for t in live])
            )
            rows, cols = linear_sum_assignment(1.0 - iou)
            for row, col in zip(rows, cols, strict=True):
                if iou[row, col] >= self.min_iou:
                    ids[row] = live[col]
        for row in np.flatnonzero(ids < 0):
            ids[row] = self._next_id
            self._next_id += 1
        for track, box in zip(ids, boxes, strict=True):
            self._boxes[int(track)] = np.asarray(box, np.float64)
            self._last_seen_s[int(track)] = t_s
        return ids
