"""The ground-truth CSV of a video: its columns, reading, writing, checking and completion.

One row per face (``frame, identity, x, y, w, h``, box in the video's pixels) and one explicit
empty row (identity "", no box) per frame without a face. ``min_side_px`` and ``detectable``
are derived from the box: a user's ground truth may leave them out.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from facebench.errors import FacebenchError
from facebench.fileio import atomic_path
from facebench.recognition.boxes import MIN_FACE_PX

BOX_COLUMNS = ["x", "y", "w", "h"]
USER_COLUMNS = ("frame", "identity", *BOX_COLUMNS)  # what a user's ground truth must have
DERIVED_COLUMNS = ("min_side_px", "detectable")
GROUNDTRUTH_DTYPES = {
    "frame": "int64",
    "identity": "string",
    "x": "float64",
    "y": "float64",
    "w": "float64",
    "h": "float64",
    "min_side_px": "float64",
    "detectable": "bool",
}
GROUNDTRUTH_COLUMNS = tuple(GROUNDTRUTH_DTYPES)


def groundtruth_csv(videos_dir: Path, video: str, resolution: str) -> Path:
    """Where the ground truth of ``video`` at ``resolution`` lives under ``resources/videos``."""
    return Path(videos_dir) / video / f"{resolution}.groundtruth.csv"


def complete_groundtruth(
    faces: pd.DataFrame, frames: Iterable[int], min_detectable_px: float = MIN_FACE_PX
) -> pd.DataFrame:
    """Face rows (frame, identity, x, y, w, h) with corners rounded to 0.1 px (a box inside the
    frame stays inside), min_side_px and detectable added, plus one explicit empty row per frame
    of ``frames`` without a face."""
    faces = faces.astype({c: float for c in BOX_COLUMNS})
    right, bottom = (faces["x"] + faces["w"]).round(1), (faces["y"] + faces["h"]).round(1)
    faces["x"], faces["y"] = faces["x"].round(1), faces["y"].round(1)
    faces["w"], faces["h"] = (right - faces["x"]).round(1), (bottom - faces["y"]).round(1)
    faces["min_side_px"] = faces[["w", "h"]].min(axis=1)
    faces["detectable"] = faces["min_side_px"] >= min_detectable_px
    empty_frames = np.setdiff1d(np.fromiter(frames, int), faces["frame"].to_numpy(int))
    empty = pd.DataFrame({"frame": empty_frames, "identity": "", "detectable": False})
    rows = pd.concat([faces, empty.reindex(columns=faces.columns)], ignore_index=True)
    rows = rows.astype({"frame": int, "detectable": bool})
    return rows.sort_values("frame", kind="stable")[list(GROUNDTRUTH_COLUMNS)].reset_index(
        drop=True
    )


def write_groundtruth(groundtruth: pd.DataFrame, path: Path) -> None:
    """The ground truth as CSV (atomically), boxes to 0.1 px, empty fields for no-face rows."""
    with atomic_path(path) as tmp:
        groundtruth.to_csv(tmp, index=False, float_format="%.1f")


def read_groundtruth(path: Path) -> pd.DataFrame:
    """A ground-truth CSV; identity is "" on a frame's explicit no-face row."""
    try:
        groundtruth = pd.read_csv(path, dtype={"identity": str})
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise FacebenchError(f"{path}: not a readable ground-truth CSV ({error})") from error
    if "identity" in groundtruth:
        groundtruth["identity"] = groundtruth["identity"].fillna("")
    return groundtruth


def read_truths(paths: Iterable[Path]) -> dict[tuple[str, str], pd.DataFrame]:
    """The ground truths at ``resources/videos/<video>/<res>.groundtruth.csv`` paths, by
    (video, resolution)."""
    return {
        (Path(path).parent.name, Path(path).name.split(".")[0]): read_groundtruth(Path(path))
        for path in paths
    }


def validate_groundtruth(groundtruth: pd.DataFrame, frame_count: int, path: Path) -> None:
    """FacebenchError naming ``path`` unless the columns of ``USER_COLUMNS`` are there, every
    frame index is in [0, frame_count) and every frame has at least one row."""
    if missing := [c for c in USER_COLUMNS if c not in groundtruth]:
        raise FacebenchError(f"{path}: ground truth lacks columns {', '.join(missing)}")
    if not pd.api.types.is_integer_dtype(groundtruth["frame"]):
        raise FacebenchError(f"{path}: ground-truth frame indices are not all integers")
    frames = groundtruth["frame"].to_numpy()
    if outside := sorted({int(f) for f in frames if not 0 <= f < frame_count}):
        raise FacebenchError(
            f"{path}: frame indices outside the video's [0, {frame_count}): {outside[:5]}"
        )
    if missing_frames := sorted(set(range(frame_count)) - {int(f) for f in frames}):
        raise FacebenchError(
            f"{path}: {len(missing_frames)} of {frame_count} frames have no row "
            f"(first: {missing_frames[0]})"
        )
    if groundtruth[BOX_COLUMNS].isna().any(axis=1).ne(groundtruth["identity"] == "").any():
        raise FacebenchError(f"{path}: face rows need a box, no-face rows an empty box")
