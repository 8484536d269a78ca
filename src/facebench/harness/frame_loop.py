"""The per-frame benchmark loop: every frame read, run through the pipeline, timed and logged.

The runner owns the input: it reads each frame and times the read (``t_read_s``); the
pipeline times the phases of the frame it is given, so how frames arrive (as fast as they
decode, or paced at the video's rate) is the runner's business alone. ``t_total_s`` is the
wall time from the start of one frame's read to the start of the next (the last frame: to
the end of its bookkeeping), so ``t_total_s - sum(phases)`` is the harness's own overhead,
reported as ``t_unattributed_s``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from facebench.models.layout import FACENET_EMBEDDING_SIZE
from facebench.recognition.mtcnn import STAGES, WORK_COUNTS
from facebench.recognition.pipeline import PHASES, FacePipeline

FRAME_TIME_COLUMNS = [f"t_{phase}_s" for phase in ("read", *PHASES)]
DETECT_STAGE_COLUMNS = [f"t_detect_{stage}_s" for stage in STAGES]


@dataclass
class RunLog:
    """Per-frame rows, per-face rows, each frame's [start, end) clock readings (ns) and the
    embeddings of the faces not too small (in faces' order)."""

    frames: pd.DataFrame
    faces: pd.DataFrame
    bounds_ns: np.ndarray  # (F, 2)
    embeddings: np.ndarray  # (M, 128)


def run_frames(
    frames: Iterable, pipeline: FacePipeline, warmup_frames: int, progress_every: int = 50
) -> RunLog:
    """Read and process every frame of ``frames`` (decoded RGB uint8 arrays); the first
    ``warmup_frames`` are flagged ``is_warmup``."""
    clock = time.perf_counter_ns
    iterator = iter(frames)
    frame_rows, face_rows, bounds, embeddings = [], [], [], []
    index = 0
    while True:
        t_start = clock()
        rgb = next(iterator, None)
        if rgb is None:
            break
        t_read = clock()
        result = pipeline.process(rgb)
        det = result.detections
        embeddings.append(result.embeddings)
        frame_rows.append(
            {
                "frame": index,
                "is_warmup": index < warmup_frames,
                "t_read_s": (t_read - t_start) / 1e9,
                **result.phase_s(),
                "n_faces": len(det),
                **{f"t_detect_{k}_s": v for k, v in result.detect_stages_s.items()},
                **det.work,
            }
        )
        for box, score, name, distance, nearest in zip(
            det.boxes, det.scores, result.identities, result.distances, result.nearest, strict=True
        ):
            face_rows.append(
                {
                    "frame": index,
                    "x": box[0],
                    "y": box[1],
                    "w": box[2] - box[0],
                    "h": box[3] - box[1],
                    "score": score,
                    "identity": name,
                    "distance": distance,
                    "nearest": nearest,
                }
            )
        if bounds:
            bounds[-1][1] = t_start  # previous frame ends where this one's read starts
        bounds.append([t_start, 0])
        index += 1
        if progress_every and index % progress_every == 0:
            print(f"{index} frames", file=sys.stderr, flush=True)
        bounds[-1][1] = clock()  # provisional end: after this frame's logging
    bounds_ns = np.array(bounds, dtype=np.int64).reshape(-1, 2)
    frame_table = pd.DataFrame(frame_rows).reindex(
        columns=[
            "frame",
            "is_warmup",
            *FRAME_TIME_COLUMNS,
            "t_total_s",
            "n_faces",
            *DETECT_STAGE_COLUMNS,
            *WORK_COUNTS,
        ]
    )
    # integers, empty where the detector reports no work
    frame_table = frame_table.astype(dict.fromkeys(WORK_COUNTS, "Int64"))
    if len(frame_table):
        frame_table["t_total_s"] = (bounds_ns[:, 1] - bounds_ns[:, 0]) / 1e9
        attributed = frame_table[FRAME_TIME_COLUMNS].sum(axis=1)
        frame_table.insert(
            frame_table.columns.get_loc("t_total_s") + 1,
            "t_unattributed_s",
            frame_table["t_total_s"] - attributed,
        )
    faces = pd.DataFrame(
        face_rows, columns=["frame", "x", "y", "w", "h", "score", "identity", "distance", "nearest"]
    )
    empty = np.zeros((0, FACENET_EMBEDDING_SIZE), np.float32)
    embedded = np.concatenate(embeddings) if embeddings else empty
    return RunLog(frame_table, faces, bounds_ns, embedded)
