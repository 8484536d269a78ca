"""What the fast-preset comparison reads and the shape of its table: each side's rows of the
aggregate (the baseline configuration, the preset's device), the paper's Table 6 FPS, the
comparison's columns and labels."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from facebench.analysis.aggregate import RUN_KEYS
from facebench.analysis.tables import INPUT
from facebench.errors import FacebenchError

PAIR = ["detector", "recognizer"]
KEYS = [*PAIR, *INPUT]  # a row of the comparison: the preset's pair on one input
SIDES = ("baseline", "fast")
RATES = {
    "precision": "precision",
    "recall": "recall",
    "accuracy": "identification_accuracy",
    "accuracy_track": "identification_accuracy_track",
}
POOLED = "all"  # video and resolution of the rows pooled over the inputs
MEAN_LABEL = "mean of inputs"
COMPARISON_COLUMNS = (
    "device",
    "detector",
    "recognizer",
    "baseline",
    "video",
    "resolution",
    "n_frames",
    "fps_baseline",
    "fps_fast",
    "speedup",
    "faces_per_frame_baseline",
    "faces_per_frame_fast",
    *(f"{rate}_{side}" for rate in RATES for side in SIDES),
    "max_drop_points",
    "n_matched_boxes",
    "mean_box_iou",
    "p5_box_iou",
    "unmatched_baseline",
    "unmatched_fast",
    "accuracy_held",
    "boxes_same",
)


def config_label(device: str, detector: str, recognizer: str) -> str:
    """``device detector/recognizer``."""
    return f"{device} {detector}/{recognizer}"


def select(table: pd.DataFrame, config: Mapping[str, str]) -> pd.DataFrame:
    """The rows of ``table`` whose columns equal ``config``'s values, key columns as text."""
    mask = np.logical_and.reduce([table[k].astype(str) == v for k, v in config.items()])
    rows = table[mask]
    return rows.astype({k: str for k in RUN_KEYS[:-1]})


def paper_fps(
    table6_csv: Path, platform: str, detector: str, recognizer: str
) -> tuple[float, float]:
    """(avg_fps, avg_num_faces) of the paper's Table 6 row of ``platform``, ``detector`` and
    ``recognizer`` (its names, e.g. TRT, TFLite)."""
    paper = pd.read_csv(table6_csv)
    row = paper[
        (paper["platform"] == platform)
        & (paper["detector"] == detector)
        & (paper["recognizer"] == recognizer)
    ]
    if row.empty:
        raise FacebenchError(f"{table6_csv}: no row for {platform} {detector}/{recognizer}")
    return float(row["avg_fps"].iloc[0]), float(row["avg_num_faces"].iloc[0])
