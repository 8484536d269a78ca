"""The serving runs read: a run (``runs/{recognizer}/b{max_batch}_d{delay_ms}/``) is one server
configuration with requests.parquet, faces.parquet, points.json and run.json; each of its points
is one offered load (N paced cameras, or Poisson arrivals at a rate). Every table's rows get the
run's setting and input."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd
import pyarrow as pa

from facebench.analysis.aggregate import Columns, read_json
from facebench.analysis.rundirs import keyed_frame, read_parquet_typed, read_run_dirs
from facebench.errors import FacebenchError
from facebench.serving.load import STATUSES

NOOP = "noop"  # the harness check's recognizer: the no-op model, no network runs
NOOP_MODEL = "no-op"  # how run.json's model names it
RUN_KEYS = ("recognizer", "max_batch", "max_queue_delay_ms")
POINT_KEYS = (*RUN_KEYS, "point")
CAMERAS = "cameras"  # the mode of a point of paced cameras

_I, _F, _S, _B = pa.int64(), pa.float64(), pa.string(), pa.bool_()
RUN_TYPES = {  # joined to every table
    "recognizer": _S,
    "max_batch": _I,
    "max_queue_delay_ms": _F,
    "video": _S,
    "resolution": _S,
}
RUN_INFO = {
    "model": _S,
    "strategy": _S,
    "duration_s": _F,
    "warmup_s": _F,
    "p99_bound_ms": _F,
    "queue_size": _I,
    "peak_rate_per_s": _F,
    "host": _S,
    "cpu_model": _S,
    "path": _S,
}
SERVER_TIMES = (
    "t_recv_ns",
    "t_enqueue_ns",
    "t_batch_start_ns",
    "t_assembled_ns",
    "t_start_ns",
    "t_done_ns",
    "t_server_reply_ns",
)
REQUEST_COLUMNS = Columns(
    types={
        "camera": _I,
        "frame": _I,
        "clip_frame": _I,
        "is_warmup": _B,
        "status": _S,
        "t_send_ns": _I,
        "t_sent_ns": _F,
        "t_reply_ns": _F,
        "latency_s": _F,
        "n_faces_sent": _F,
        "n_faces": _F,
        **dict.fromkeys(SERVER_TIMES, _F),
        "server_cpu_s": _F,
        "batch_size": _F,
        "batch_faces": _F,
        "point": _S,
    },
    required=frozenset(
        {"camera", "frame", "clip_frame", "is_warmup", "status", "t_send_ns", "latency_s"}
        | {"n_faces_sent", "n_faces", "point"}
    ),
    not_null=frozenset(
        {"camera", "frame", "clip_frame", "is_warmup", "status", "t_send_ns", "point"}
    ),
)
FACE_COLUMNS = Columns(
    types={
        "camera": _I,
        "frame": _I,
        "clip_frame": _I,
        **dict.fromkeys(("x", "y", "w", "h", "score"), _F),
        "identity": _S,
        "distance": _F,
        "track_id": _F,
        "source": _S,
        "point": _S,
    },
    required=frozenset({"camera", "frame", "clip_frame", "x", "y", "w", "h", "identity", "point"}),
    not_null=frozenset({"camera", "frame", "clip_frame", "x", "y", "w", "h", "point"}),
)
RECORDED_POINT = {  # an entry of points.json's points
    "point": _S,
    "mode": _S,
    "cameras": _F,
    "rate_per_s": _F,
    "requests": _I,
    "ok": _I,
    "rejected": _I,
    "error": _I,
    "lost": _I,
    "ok_per_s": _F,
    "p50_latency_s": _F,
    "p99_latency_s": _F,
}
POINT_ATTRIBUTES = ("mode", "cameras", "rate_per_s")  # joined to the requests


def read_serving_runs(
    run_dirs: Iterable[Path],
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(requests, faces, points, runs) of the run directories, each row with its run's
    recognizer, max_batch, max_queue_delay_ms, video and resolution (requests also with their
    point's mode, cameras and rate_per_s; points: points.json's entries); a bad file raises
    FacebenchError naming it."""
    runs = read_run_dirs(run_dirs, _run_key, RUN_KEYS, "setting")
    tables: dict[str, list[pa.Table]] = {"requests": [], "faces": [], "points": [], "runs": []}
    for run in runs:
        recorded = read_json(run.path / "points.json")
        points = _recorded_points(run.path / "points.json", recorded)
        requests = read_parquet_typed(run.path / "requests.parquet", REQUEST_COLUMNS)
        _check_requests(run.path / "requests.parquet", requests, set(points["point"].to_pylist()))
        tables["requests"].append(requests)
        tables["faces"].append(read_parquet_typed(run.path / "faces.parquet", FACE_COLUMNS))
        tables["points"].append(points)
        tables["runs"].append(_run_info(run.meta, recorded, run.path))
    types = {
        "requests": REQUEST_COLUMNS.types,
        "faces": FACE_COLUMNS.types,
        "points": RECORDED_POINT,
        "runs": RUN_INFO,
    }
    requests, faces, points, infos = (
        keyed_frame(runs, found, RUN_TYPES, types[name]) for name, found in tables.items()
    )
    attributes = points[[*POINT_KEYS, *POINT_ATTRIBUTES]]
    return requests.merge(attributes, on=list(POINT_KEYS)), faces, points, infos


def _run_key(meta: dict, path: Path) -> dict:
    """The run's setting and input (``RUN_TYPES``) from its run.json."""
    try:
        model = str(meta["model"])
        return {
            "recognizer": NOOP if model.startswith(NOOP_MODEL) else model,
            "max_batch": int(meta["max_batch"]),
            "max_queue_delay_ms": float(meta["max_queue_delay_ms"]),
            "video": str(meta["video"]),
            "resolution": str(meta["resolution"]),
        }
    except (KeyError, TypeError, ValueError) as error:
        raise FacebenchError(f"{path}: missing or bad setting ({error!r})") from error


def _run_info(meta: dict, recorded: dict, run_dir: Path) -> pa.Table:
    """The run's row of the runs table (``RUN_INFO``)."""
    settings = meta.get("settings") if isinstance(meta.get("settings"), dict) else {}
    row = {
        "model": meta["model"],
        **{k: recorded.get(k, settings.get(k)) for k in ("strategy", "duration_s", "warmup_s")},
        **{k: settings.get(k) for k in ("p99_bound_ms", "queue_size")},
        "peak_rate_per_s": recorded.get("peak_rate_per_s"),
        **{k: meta.get(k) for k in ("host", "cpu_model")},
        "path": str(run_dir),
    }
    try:
        return pa.Table.from_pylist([row], schema=pa.schema(RUN_INFO))
    except (pa.ArrowException, TypeError, ValueError) as error:
        raise FacebenchError(f"{run_dir / 'run.json'}: {error}") from error


def _recorded_points(path: Path, recorded: dict) -> pa.Table:
    """points.json's points (``RECORDED_POINT``), each named once."""
    points = recorded.get("points")
    if not isinstance(points, list) or not all(
        isinstance(p, dict) and {"point", "mode"} <= p.keys() for p in points
    ):
        raise FacebenchError(f"{path}: no list of points, each with a point and a mode")
    try:
        table = pa.Table.from_pylist(points, schema=pa.schema(RECORDED_POINT))
    except (pa.ArrowException, TypeError, ValueError) as error:
        raise FacebenchError(f"{path}: {error}") from error
    if len(set(names := table["point"].to_pylist())) < len(names):
        raise FacebenchError(f"{path}: a point is listed twice")
    return table


def _check_requests(path: Path, requests: pa.Table, points: set[str]) -> None:
    """Known statuses and points, and each camera's frame once per point."""
    if unknown := set(requests["status"].to_pylist()) - set(STATUSES):
        raise FacebenchError(f"{path}: unknown status {', '.join(sorted(unknown))}")
    if unknown := set(requests["point"].to_pylist()) - points:
        raise FacebenchError(f"{path}: point(s) {', '.join(sorted(unknown))} not in points.json")
    sent = requests.select(["point", "camera", "frame"]).to_pandas()
    if sent.duplicated().any():
        raise FacebenchError(f"{path}: a camera sent the same frame twice in one point")
