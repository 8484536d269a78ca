"""One server under load, summarised: throughput, latency, where the server's time goes, the
camera capacity within a latency bound, what dynamic batching buys and the harness's ceiling.

Per run and point (one offered load), over the measured (non-warm-up) requests: rates over the
measured send span, latency percentiles of the answered (ok) requests, the share not answered,
the server's p50 queue / assembly / compute split, the batch size, server CPU per face and
identification accuracy (each answered request scored against the ground truth of its
``clip_frame``: the clip loops).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from facebench.analysis.accuracy import (
    COUNT_COLUMNS,
    add_rates,
    clip_accuracy,
    difference_half_width,
)
from facebench.analysis.outputs import write_parquet, write_tables
from facebench.analysis.rundirs import typed
from facebench.analysis.serving.figures import FIGURES
from facebench.analysis.serving.reader import (
    CAMERAS,
    NOOP,
    POINT_KEYS,
    RUN_KEYS,
    read_serving_runs,
)
from facebench.errors import FacebenchError

HARNESS_TARGET = 20.0  # the no-op run should serve this many times the best real run
OURS = "ours: CPU, this host"
PAPER = "paper: DeepStream, TensorRT on Jetson (Table 7)"
PAPER_COLUMNS = (
    "platform",
    "detector",
    "recognizer",
    "batch_size",
    "fps",
    "avg_num_faces",
    "speedup_over_batch1_pipeline",
)

POINT_TYPES = {
    "recognizer": str,
    "max_batch": "int64",
    "max_queue_delay_ms": float,
    "point": str,
    "mode": str,
    "cameras": float,
    "rate_per_s": float,
    "video": str,
    "resolution": str,
    "offered_per_s": float,
    "frames_per_s": float,
    "faces_per_s": float,
    "faces_counted": str,
    "latency_p50_ms": float,
    "latency_p90_ms": float,
    "latency_p99_ms": float,
    "dropped_share": float,
    "queue_p50_ms": float,
    "assembly_p50_ms": float,
    "compute_p50_ms": float,
    "mean_batch_size": float,
    "server_cpu_ms_per_face": float,
    "identification_accuracy": float,
    "n_identified_faces": float,
    "n_requests": "int64",
    "n_ok": "int64",
    "measured_span_s": float,
    "peak_rate_per_s": float,
}
CAPACITY_TYPES = {
    "recognizer": str,
    "max_batch": "int64",
    "max_queue_delay_ms": float,
    "capacity_cameras": float,
    "frames_per_s": float,
    "faces_per_s": float,
    "latency_p99_ms": float,
    "dropped_share": float,
    "largest_cameras_run": float,
    "p99_bound_ms": float,
    "max_dropped_share": float,
    "peak_rate_per_s": float,
    "note": str,
}
SIDES = ("batch1", "batched")  # max_batch 1, and the best max_batch
MAX_DROPPED_SHARE = 0.01  # a point within capacity answers at least 99 % of its requests
BATCHING_TYPES = {
    "source": str,
    "platform": str,
    "recognizer": str,
    "cameras": float,
    **{f"{column}_{side}": float for column in ("max_batch", "delay_ms") for side in SIDES},
    **{
        f"{column}_{side}": float
        for column in ("frames_per_s", "faces_per_s", "latency_p99_ms", "peak_rate_per_s")
        for side in SIDES
    },
    "frames_speedup": float,
    "faces_speedup": float,
    "peak_rate_speedup": float,
    "accuracy_cameras": float,
    **{f"accuracy_{side}": float for side in SIDES},
    "accuracy_change_points": float,
    "accuracy_noise_points": float,
    "accuracy_unchanged": "boolean",
    "note": str,
}
HARNESS_TYPES = {
    "cameras": float,
    "noop_frames_per_s": float,
    "noop_offered_per_s": float,
    "noop_latency_p99_ms": float,
    "recognizer": str,
    "max_batch": float,
    "max_queue_delay_ms": float,
    "real_frames_per_s": float,
    "ratio": float,
    "target_ratio": float,
    "meets_target": "boolean",
    "noop_max_frames_per_s": float,
    "real_max_frames_per_s": float,
    "ceiling_ratio": float,
    "note": str,
}


def point_table(
    requests: pd.DataFrame,
    faces: pd.DataFrame,
    runs: pd.DataFrame,
    truths: Mapping[tuple[str, str], pd.DataFrame],
    enrolled: frozenset[str] | set[str],
) -> pd.DataFrame:
    """One row per run and point over its measured requests: rates over the measured span
    (from the first to the last scheduled send plus the mean interval between sends), latency
    percentiles and the server's p50 split of the ok requests, the share not ok, the mean batch
    size (over batches), server CPU per face embedded and identification accuracy. Faces
    embedded: the crops sent (hybrid), or the faces in the replies when a run sends none."""
    sends_crops = (
        requests["n_faces_sent"]
        .fillna(0)
        .gt(0)
        .groupby([requests[k] for k in RUN_KEYS])
        .transform("any")
    )
    data = requests.assign(sends_crops=sends_crops)[~requests["is_warmup"]]
    ok = data["status"].eq("ok")
    data = data.assign(
        ok=ok,
        faces=data["n_faces_sent"].where(data["sends_crops"], data["n_faces"]).where(ok, 0),
        latency_ms=data["latency_s"] * 1e3,
        queue_ms=(data["t_batch_start_ns"] - data["t_enqueue_ns"]) / 1e6,
        assembly_ms=(data["t_assembled_ns"] - data["t_batch_start_ns"]) / 1e6,
        compute_ms=(data["t_done_ns"] - data["t_assembled_ns"]) / 1e6,
        batch_share=1 / data["batch_size"],  # summed over a batch's requests: 1
    )
    grouped = data.groupby(list(POINT_KEYS), sort=False)
    stats = pd.concat(
        [
            grouped[
                ["mode", "cameras", "rate_per_s", "video", "resolution", "sends_crops"]
            ].first(),
            grouped.size().rename("n_requests"),
            grouped[["ok", "faces", "batch_share"]].sum(),
            grouped["server_cpu_s"].sum(min_count=1),
            grouped["batch_size"].count().rename("n_batched"),
            grouped["t_send_ns"].agg(["min", "max"]),
            *(
                grouped["latency_ms"].quantile(q).rename(f"latency_p{round(q * 100)}_ms")
                for q in (0.5, 0.9, 0.99)
            ),
            *(
                grouped[f"{part}_ms"].median().rename(f"{part}_p50_ms")
                for part in ("queue", "assembly", "compute")
            ),
        ],
        axis=1,
    ).reset_index()
    accuracy = _point_accuracy(data[ok], faces, truths, enrolled)
    stats = stats.merge(accuracy, on=list(POINT_KEYS), how="left")
    stats = stats.merge(runs[[*RUN_KEYS, "peak_rate_per_s"]], on=list(RUN_KEYS), how="left")
    return _ordered(_derive(stats))


def _point_accuracy(
    answered: pd.DataFrame,
    faces: pd.DataFrame,
    truths: Mapping[tuple[str, str], pd.DataFrame],
    enrolled: frozenset[str] | set[str],
) -> pd.DataFrame:
    """Identification accuracy and matched faces per run and point, each camera a stream."""
    streams = [*POINT_KEYS, "camera", "video", "resolution"]
    scores = clip_accuracy(answered, faces, truths, enrolled, streams)
    counts = scores.groupby(list(POINT_KEYS))[list(COUNT_COLUMNS)].sum().reset_index()
    rates = add_rates(counts.astype(dict.fromkeys(COUNT_COLUMNS, float)))
    return rates[[*POINT_KEYS, "identification_accuracy", "tp"]].rename(
        columns={"tp": "n_identified_faces"}
    )


def _derive(stats: pd.DataFrame) -> pd.DataFrame:
    """The point table's rates and shares from per-point totals, typed, in its column order."""
    n = stats["n_requests"]
    span_s = (stats["max"] - stats["min"]) * n / (n - 1).where(n > 1) / 1e9
    embedded = stats["faces"].where(stats["faces"] > 0)
    table = stats.assign(
        offered_per_s=n / span_s,
        frames_per_s=stats["ok"] / span_s,
        faces_per_s=stats["faces"] / span_s,
        faces_counted=np.where(stats["sends_crops"], "crops sent", "faces in replies"),
        dropped_share=1 - stats["ok"] / n,
        mean_batch_size=stats["n_batched"] / stats["batch_share"].where(stats["batch_share"] > 0),
        server_cpu_ms_per_face=stats["server_cpu_s"] * 1e3 / embedded,
        n_ok=stats["ok"],
        measured_span_s=span_s,
    )
    return typed(table, POINT_TYPES)


def _ordered(table: pd.DataFrame) -> pd.DataFrame:
    """Rows by recognizer (the no-op last), max_batch, delay, then camera points by count
    before Poisson points by rate."""
    order = table.assign(
        _noop=table["recognizer"].eq(NOOP), _poisson=table["mode"].ne(CAMERAS)
    ).sort_values(["_noop", *RUN_KEYS, "_poisson", "cameras", "rate_per_s"], kind="stable")
    return table.loc[order.index].reset_index(drop=True)


def _camera_points(points: pd.DataFrame) -> pd.DataFrame:
    return points[points["mode"].eq(CAMERAS)]


def capacity_table(
    points: pd.DataFrame, p99_bound_ms: float, max_dropped: float = MAX_DROPPED_SHARE
) -> pd.DataFrame:
    """Per run: the most cameras it served with p99 latency within ``p99_bound_ms`` and at
    most ``max_dropped`` of the requests not answered (0 when none: the note says so), that
    point's rates, and the peak Poisson rate of points.json's search."""
    rows = []
    for key, run in points.groupby(list(RUN_KEYS), sort=False):
        cameras = _camera_points(run)
        held = cameras[
            (cameras["latency_p99_ms"] <= p99_bound_ms) & (cameras["dropped_share"] <= max_dropped)
        ]
        best = held.loc[held["cameras"].idxmax()] if len(held) else pd.Series(dtype=float)
        note = "" if len(held) else "none within the bound" if len(cameras) else "no camera points"
        rows.append(
            dict(zip(RUN_KEYS, key, strict=True))
            | best.reindex(
                ["frames_per_s", "faces_per_s", "latency_p99_ms", "dropped_share"]
            ).to_dict()
            | {
                "capacity_cameras": best.get("cameras", 0.0),
                "largest_cameras_run": cameras["cameras"].max(),
                "p99_bound_ms": p99_bound_ms,
                "max_dropped_share": max_dropped,
                "peak_rate_per_s": run["peak_rate_per_s"].iloc[0],
                "note": note,
            }
        )
    return typed(pd.DataFrame(rows, columns=list(CAPACITY_TYPES)), CAPACITY_TYPES)


def read_table7(path: Path) -> pd.DataFrame:
    """The paper's Table 7 (DeepStream at batch 16 on Jetson boards)."""
    try:
        table = pd.read_csv(path)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise FacebenchError(f"{path}: not a readable CSV ({error})") from error
    if missing := [c for c in PAPER_COLUMNS if c not in table]:
        raise FacebenchError(f"{path}: missing column(s) {', '.join(missing)}")
    return table


def batching_table(
    points: pd.DataFrame, paper_table7: pd.DataFrame, cameras: int = 8
) -> pd.DataFrame:
    """Per recognizer, at ``cameras`` cameras (else the most that every one of its settings
    ran; the note says so): max_batch 1 and the max_batch with the most faces/s, their rates,
    p99 latencies, peak Poisson rates and ratios, and whether identification accuracy moved
    beyond the 95 % two-proportion interval; then the paper's Table 7 rows (its speedup is
    DeepStream's over the same board's MTCNN + FaceNet TensorRT pipeline at batch 1)."""
    real = _camera_points(points[points["recognizer"].ne(NOOP)])
    rows = [
        _batching_row(recognizer, group, cameras)
        for recognizer, group in real.groupby("recognizer", sort=False)
    ]
    rows += [
        {
            "source": PAPER,
            "platform": paper["platform"],
            "recognizer": paper["recognizer"],
            "max_batch_batched": paper["batch_size"],
            "frames_per_s_batched": paper["fps"],
            "frames_speedup": paper["speedup_over_batch1_pipeline"],
            "note": "speedup over the same board's MTCNN + FaceNet TensorRT pipeline at batch 1"
            f" ({paper['detector']} detector, {paper['avg_num_faces']:g} faces per frame on"
            " average)",
        }
        for _, paper in paper_table7.iterrows()
    ]
    return typed(pd.DataFrame(rows, columns=list(BATCHING_TYPES)), BATCHING_TYPES)


def _batching_row(recognizer: str, group: pd.DataFrame, cameras: int) -> dict:
    """The batching table's row of one recognizer from its camera points."""
    row = {"source": OURS, "platform": "this host (CPU)", "recognizer": recognizer}
    counts = set.intersection(*(set(g["cameras"]) for _, g in group.groupby(list(RUN_KEYS))))
    if not counts:
        return row | {"note": "no camera count was run by every setting"}
    chosen = cameras if cameras in counts else max(counts)
    note = f"{cameras} cameras not run by every setting: the most that were, {chosen:g}"
    note = "" if chosen == cameras else note
    at = group[group["cameras"].eq(chosen)].sort_values(  # ties: the higher peak rate
        ["faces_per_s", "peak_rate_per_s", "max_batch"],
        ascending=[False, False, True],
        na_position="last",
    )
    unbatched = at[at["max_batch"].eq(1)]
    row |= {"cameras": chosen}
    if unbatched.empty:
        return row | {"note": "; ".join(filter(None, [note, "no max_batch 1 run"]))}
    sides = dict(zip(SIDES, (unbatched.iloc[0], at.iloc[0]), strict=True))
    for side, point in sides.items():
        row |= {
            f"max_batch_{side}": point["max_batch"],
            f"delay_ms_{side}": point["max_queue_delay_ms"],
            **{
                f"{column}_{side}": point[column]
                for column in ("frames_per_s", "faces_per_s", "latency_p99_ms", "peak_rate_per_s")
            },
        }
    one, best = sides["batch1"], sides["batched"]
    row |= _accuracy_change(group, best)
    return row | {
        "frames_speedup": best["frames_per_s"] / one["frames_per_s"],
        "faces_speedup": best["faces_per_s"] / one["faces_per_s"],
        "peak_rate_speedup": best["peak_rate_per_s"] / one["peak_rate_per_s"],
        "note": note,
    }


def _accuracy_change(group: pd.DataFrame, best: pd.Series) -> dict:
    """Identification accuracy at max_batch 1 and at ``best``'s setting, compared at the most
    cameras both served without drops: a request the full queue rejected takes its crops with
    it, so under overload accuracy moves with the drops, not with the batching."""
    settings = {"batch1": group["max_batch"].eq(1)}
    settings["batched"] = group["max_batch"].eq(best["max_batch"]) & group["max_queue_delay_ms"].eq(
        best["max_queue_delay_ms"]
    )
    served = [
        set(group.loc[chosen & group["dropped_share"].le(MAX_DROPPED_SHARE), "cameras"])
        for chosen in settings.values()
    ]
    if not (both := set.intersection(*served)):
        return {"accuracy_cameras": np.nan}
    at = group["cameras"].eq(max(both))
    one, batched = (group[chosen & at].iloc[0] for chosen in settings.values())
    change = batched["identification_accuracy"] - one["identification_accuracy"]
    noise = difference_half_width(
        one["identification_accuracy"],
        one["n_identified_faces"],
        batched["identification_accuracy"],
        batched["n_identified_faces"],
    )
    return {
        "accuracy_cameras": max(both),
        "accuracy_batch1": one["identification_accuracy"],
        "accuracy_batched": batched["identification_accuracy"],
        "accuracy_change_points": change * 100,
        "accuracy_noise_points": noise * 100,
        "accuracy_unchanged": pd.NA if np.isnan(change + noise) else abs(change) <= noise,
    }


def harness_table(points: pd.DataFrame) -> pd.DataFrame:
    """The no-op run's highest frames/s over its camera points against the best real run's
    frames/s at the same camera count, and their ratio (the harness should manage at least
    ``HARNESS_TARGET`` times: reported, not asserted); beside it the same over every point,
    Poisson ones included, as paced cameras cap what the no-op run is offered. Empty without
    points."""
    if points.empty:
        return typed(pd.DataFrame(columns=list(HARNESS_TYPES)), HARNESS_TYPES)
    is_noop = points["recognizer"].eq(NOOP)
    ceilings = points.groupby(is_noop)["frames_per_s"].max()
    row: dict = {
        "target_ratio": HARNESS_TARGET,
        "noop_max_frames_per_s": ceilings.get(True, np.nan),
        "real_max_frames_per_s": ceilings.get(False, np.nan),
    }
    row["ceiling_ratio"] = row["noop_max_frames_per_s"] / row["real_max_frames_per_s"]
    cameras = _camera_points(points).dropna(subset=["frames_per_s"])
    noop = cameras[cameras["recognizer"].eq(NOOP)]
    if noop.empty:
        return typed(
            pd.DataFrame([row | {"note": "no no-op run with camera points"}]), HARNESS_TYPES
        )
    top = noop.loc[noop["frames_per_s"].idxmax()]
    row |= {
        "cameras": top["cameras"],
        "noop_frames_per_s": top["frames_per_s"],
        "noop_offered_per_s": top["offered_per_s"],
        "noop_latency_p99_ms": top["latency_p99_ms"],
    }
    real = cameras[cameras["recognizer"].ne(NOOP) & cameras["cameras"].eq(top["cameras"])]
    if real.empty:
        return typed(
            pd.DataFrame([row | {"note": f"no real run at {top['cameras']:g} cameras"}]),
            HARNESS_TYPES,
        )
    best = real.loc[real["frames_per_s"].idxmax()]
    ratio = top["frames_per_s"] / best["frames_per_s"]
    offered_all = top["frames_per_s"] >= 0.99 * top["offered_per_s"]
    row |= best[list(RUN_KEYS)].to_dict() | {
        "real_frames_per_s": best["frames_per_s"],
        "ratio": ratio,
        "meets_target": bool(ratio >= HARNESS_TARGET),
        "note": "the no-op run served all it was offered: its ceiling is higher"
        if offered_all
        else "",
    }
    return typed(pd.DataFrame([row]), HARNESS_TYPES)


def write_serving_outputs(
    run_dirs: Iterable[Path],
    truths: Mapping[tuple[str, str], pd.DataFrame],
    enrolled: frozenset[str] | set[str],
    p99_bound_ms: float,
    paper_table7: Path,
    out_dir: Path,
    reason: str | None,
) -> list[Path]:
    """requests, faces and points parquet, the points, capacity, batching and harness tables
    (CSV, and HTML for the report) and the three figures (SVG) in ``out_dir``, each written
    whole or not at all; with no runs, empty tables and figures saying ``not measured:
    <reason>``."""
    out_dir = Path(out_dir)
    requests, faces, _, runs = read_serving_runs(run_dirs)
    points = point_table(requests, faces, runs, truths, enrolled)
    tables = {
        "points": points,
        "capacity": capacity_table(points, p99_bound_ms),
        "batching": batching_table(points, read_table7(paper_table7)),
        "harness": harness_table(points),
    }
    parquet = {"requests": requests, "faces": faces, "points": points}
    return [
        *(write_parquet(table, out_dir / f"{name}.parquet") for name, table in parquet.items()),
        *write_tables(tables, out_dir, "serving"),
        *(draw(points, out_dir / f"serving_{name}.svg", reason) for name, draw in FIGURES.items()),
    ]
