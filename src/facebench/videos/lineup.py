"""Does the ground truth line up with the pixels? Detect on sampled frames and match boxes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from facebench.recognition.boxes import MATCH_IOU, match_boxes
from facebench.videos.reader import open_reader


def sample_frames(groundtruth: pd.DataFrame, count: int) -> list[int]:
    """Up to ``count`` frames, evenly spread, among those with a detectable face."""
    frames = np.sort(groundtruth.loc[groundtruth["detectable"].astype(bool), "frame"].unique())
    if not len(frames):
        return []
    picks = np.linspace(0, len(frames) - 1, min(count, len(frames))).round().astype(int)
    return [int(f) for f in frames[picks]]


def lineup_recall(video: Path, groundtruth: pd.DataFrame, detector, count: int = 5) -> dict:
    """Share of detectable ground-truth faces on sampled frames that a detection matches with
    IoU >= ``MATCH_IOU``, and the mean IoU of the matches."""
    wanted = set(sample_frames(groundtruth, count))
    matched, total, ious = 0, 0, []
    with open_reader(video) as reader:
        for index, rgb in enumerate(reader):
            if index not in wanted:
                continue
            truth = groundtruth[
                (groundtruth["frame"] == index) & groundtruth["detectable"].astype(bool)
            ]
            boxes = truth[["x", "y", "w", "h"]].to_numpy(float)
            boxes[:, 2:] += boxes[:, :2]
            pairs = [iou for _, _, iou in match_boxes(boxes, detector.detect(rgb).boxes)]
            good = [iou for iou in pairs if iou >= MATCH_IOU]
            matched, total, ious = matched + len(good), total + len(boxes), ious + good
            if index >= max(wanted):
                break
    return {
        "frames_checked": sorted(wanted),
        "detectable_faces": total,
        "matched": matched,
        "recall": matched / total if total else float("nan"),
        "mean_iou": float(np.mean(ious)) if ious else float("nan"),
    }
