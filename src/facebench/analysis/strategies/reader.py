"""The strategy runs read: a run (``runs/{strategy}/{link}/{video}_{res}/``) holds frames.csv,
faces.csv and run.json; frames and faces get the run's strategy, link, video and resolution,
and the runs table one row per run."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd
import pyarrow as pa

from facebench.analysis.aggregate import Columns, read_csv_typed
from facebench.analysis.rundirs import keyed_frame, read_run_dirs, typed
from facebench.errors import FacebenchError

KEYS = ("strategy", "link", "video", "resolution")
STATUSES = ("processed", "dropped", "lost")
LINK_MEASURED = ("rtt_ms_p50", "rtt_ms_p90", "up_mbit", "down_mbit", "loss_pct")
LINK_NOMINAL = ("rtt_ms", "jitter_ms", "up_mbit", "down_mbit", "loss_pct")
RUN_TEXT = ("detector", "recognizer", "transport", "encoding", "edge_emulation", "host")

_I, _F, _S, _B = pa.int64(), pa.float64(), pa.string(), pa.bool_()
KEY_TYPES = dict.fromkeys(KEYS, _S)
FRAME_COLUMNS = Columns(
    types={
        "frame": _I,
        "clip_frame": _I,
        "is_warmup": _B,
        "t_capture_s": _F,
        "status": _S,
        "latency_s": _F,
        "reply_latency_s": _F,
        "bytes_up": _I,
        "bytes_down": _I,
        "edge_cpu_s": _F,
        "server_cpu_s": _F,
        "n_faces": _I,
        "n_sent_faces": _I,
    },
    required=frozenset({"frame", "clip_frame", "is_warmup", "t_capture_s", "status"}),
    not_null=frozenset(
        {"frame", "clip_frame", "is_warmup", "t_capture_s", "status", "bytes_up", "bytes_down"}
    ),
    bounds={"frame": (0, None), "clip_frame": (0, None), "bytes_up": (0, None)},
)
FACE_COLUMNS = Columns(
    types={
        "frame": _I,
        "clip_frame": _I,
        **dict.fromkeys(("x", "y", "w", "h", "score"), _F),
        "identity": _S,
        "distance": _F,
        "track_id": _I,
        "source": _S,
    },
    required=frozenset({"frame", "clip_frame", "x", "y", "w", "h", "identity"}),
    not_null=frozenset({"frame", "clip_frame", "x", "y", "w", "h"}),
)


def read_strategy_runs(
    run_dirs: Iterable[Path],
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(frames, faces, runs) of the run directories, frames and faces with the run's strategy,
    link, video and resolution; a bad file raises FacebenchError naming it."""
    runs = read_run_dirs(run_dirs, _run_key, KEYS, "run")
    frame_tables, face_tables = [], []
    for run in runs:
        frames = read_csv_typed(run.path / "frames.csv", FRAME_COLUMNS)
        _check_frames(run.path / "frames.csv", frames, run.meta)
        frame_tables.append(frames)
        face_tables.append(read_csv_typed(run.path / "faces.csv", FACE_COLUMNS))
    rows = [_run_row(run.meta, run.path) for run in runs]
    columns, text = list(_run_row({}, Path())), [*KEYS, *RUN_TEXT, "path"]
    counts = [f"frames_{k}" for k in ("captured", *STATUSES)]
    types = dict.fromkeys(text, str) | {
        c: "Int64" if c in counts else float for c in columns if c not in text
    }
    return (
        keyed_frame(runs, frame_tables, KEY_TYPES, FRAME_COLUMNS.types),
        keyed_frame(runs, face_tables, KEY_TYPES, FACE_COLUMNS.types),
        typed(pd.DataFrame(rows, columns=columns), types),
    )


def _run_key(meta: dict, path: Path) -> dict[str, str]:
    """The run's strategy, link, video and resolution, with run.json's fps and frame counts
    checked present."""
    missing = [k for k in (*KEYS, "fps", "frames") if k not in meta]
    if missing or not isinstance(meta["frames"], dict) or "captured" not in meta["frames"]:
        raise FacebenchError(f"{path}: missing {', '.join(missing) or 'frames.captured'}")
    return {k: str(meta[k]) for k in KEYS}


def _check_frames(path: Path, frames: pa.Table, meta: dict) -> None:
    if len(frames) != meta["frames"]["captured"]:
        raise FacebenchError(
            f"{path}: {len(frames)} frames, run.json counts {meta['frames']['captured']}"
        )
    if unknown := set(frames["status"].to_pylist()) - set(STATUSES):
        raise FacebenchError(f"{path}: unknown status {', '.join(sorted(unknown))}")


def _run_row(meta: dict, run_dir: Path) -> dict:
    """One row of the runs table (``meta`` empty: the columns)."""
    check = meta.get("link_check") or {}
    measured, nominal = check.get("measured") or {}, check.get("nominal") or {}
    counts = meta.get("frames") or {}
    return {
        **{k: meta.get(k) for k in (*KEYS, "fps", "duration_s")},
        **{k: meta.get(k, "") for k in RUN_TEXT},
        **{f"link_{k}_measured": measured.get(k) for k in LINK_MEASURED},
        **{f"link_{k}_nominal": nominal.get(k) for k in LINK_NOMINAL},
        **{f"frames_{k}": counts.get(k) for k in ("captured", *STATUSES)},
        "path": str(run_dir),
    }
