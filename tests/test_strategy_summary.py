"""The strategy summary on small hand-made runs written in the run-directory format."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from matplotlib.text import Text

from facebench.analysis.strategies.reader import read_strategy_runs
from facebench.analysis.strategies.summary import (
    MONTH_S,
    strategy_accuracy,
    strategy_table,
    table2,
    winners,
    write_strategy_outputs,
)
from facebench.errors import FacebenchError

CONFIG = {
    "links": {
        "lan": {"up_mbit": 1000, "down_mbit": 1000, "rtt_ms": 1, "usd_per_gb": 0},
        "4g": {"up_mbit": 10, "down_mbit": 30, "rtt_ms": 40, "usd_per_gb": 2.0},
    },
    "prices": {
        "cloud_instance": "test instance",
        "cloud_instance_per_hour_usd": 0.36,
        "cloud_instance_vcpus": 4,
        "cloud_egress_per_gb_usd": 0.1,
        "edge_board": "test board",
        "edge_board_usd": 240,
        "edge_life_months": 24,
    },
}
ENROLLED = frozenset({"alice", "bob"})
BOX = {"alice": (10, 10, 50, 50), "bob": (100, 10, 50, 50)}
FRAME_FIELDS = (
    "frame,clip_frame,is_warmup,t_capture_s,status,latency_s,reply_latency_s,bytes_up,"
    "bytes_down,edge_cpu_s,server_cpu_s,n_faces,n_sent_faces"
)
FACE_FIELDS = "frame,clip_frame,x,y,w,h,score,identity,distance,track_id,source"


def write_run(
    root: Path,
    strategy: str,
    link: str,
    statuses: list[str],
    latencies: list[float] | None = None,
    clip_len: int = 1000,
    faces: list[tuple[int, str, str]] = (),
    fps: float = 10.0,
    warmup: int = 2,
) -> Path:
    """A run of ``statuses`` (one per captured frame, the first ``warmup`` warm-up) at ``fps``:
    processed frames take ``latencies`` in order and send 10 000 bytes up, 500 down, 10 ms edge
    and 50 ms server CPU; lost frames send 10 000 up. ``faces``: (frame, person whose box it
    is, identity reported)."""
    run_dir = root / strategy / link / "clip_HD"
    run_dir.mkdir(parents=True)
    latency = iter(latencies or [])
    lines = [FRAME_FIELDS]
    for frame, status in enumerate(statuses):
        done = status == "processed"
        seconds = next(latency) if done else ""
        lines.append(
            f"{frame},{frame % clip_len},{frame < warmup},{frame / fps},{status},{seconds},"
            f"{seconds},{0 if status == 'dropped' else 10000},{500 if done else 0},"
            f"{0.01 if done else ''},{0.05 if done else ''},0,0"
        )
    (run_dir / "frames.csv").write_text("\n".join(lines) + "\n")
    face_lines = [FACE_FIELDS] + [
        f"{frame},{frame % clip_len},{','.join(map(str, BOX[person]))},0.99,{identity},0.5,1,server"
        for frame, person, identity in faces
    ]
    (run_dir / "faces.csv").write_text("\n".join(face_lines) + "\n")
    counts = {s: statuses.count(s) for s in ("processed", "dropped", "lost")}
    meta = {
        "strategy": strategy,
        "link": link,
        "video": "clip",
        "resolution": "HD",
        "fps": fps,
        "duration_s": len(statuses) / fps,
        "detector": "onnx",
        "recognizer": "onnx",
        "transport": "tcp",
        "encoding": "jpeg q90",
        "edge_emulation": "none",
        "link_check": {
            "measured": {
                "rtt_ms_p50": 41.0,
                "rtt_ms_p90": 45.0,
                "up_mbit": 9.5,
                "down_mbit": 29.0,
                "loss_pct": 0.0,
            },
            "nominal": {"rtt_ms": 40, "up_mbit": 10, "down_mbit": 30},
        },
        "frames": {"captured": len(statuses), **counts},
        "host": "test",
    }
    (run_dir / "run.json").write_text(json.dumps(meta))
    return run_dir


def summarise(run_dirs: list[Path], truths: dict | None = None) -> pd.DataFrame:
    frames, faces, runs = read_strategy_runs(run_dirs)
    accuracy = strategy_accuracy(frames, faces, truths or {}, ENROLLED)
    return strategy_table(frames, runs, accuracy, CONFIG).set_index("strategy")


# measured frames 2-11 at 10 fps: 7 processed (latency 0.1-0.7 s), 2 dropped, 1 lost
STATUSES = ["processed"] * 7 + ["dropped", "lost", "processed", "dropped", "processed"]
LATENCIES = [0.05, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]


def test_latency_rates_traffic_and_cpu(tmp_path):
    row = summarise([write_run(tmp_path, "cloud", "4g", STATUSES, LATENCIES)]).loc["cloud"]
    assert (row.latency_p50_ms, row.latency_p90_ms) == pytest.approx((400, 640))
    assert row.latency_p99_ms == pytest.approx(694)  # the lost frame is not a latency
    assert row.measured_span_s == pytest.approx(1.0)  # 1.1 s - 0.2 s + one frame interval
    assert (row.captured_fps, row.achieved_fps) == pytest.approx((10, 7))
    assert (row.dropped_share, row.lost_share) == pytest.approx((0.2, 0.1))
    assert (row.up_kbit_s, row.down_kbit_s) == pytest.approx((640, 28))  # 80 000 B, 3 500 B
    assert (row.bytes_up_per_frame, row.bytes_down_per_frame) == pytest.approx((8000, 350))
    assert (row.edge_cpu_ms, row.server_cpu_ms) == pytest.approx((10, 50))
    assert (row.edge_cpu_share, row.server_cpu_share) == pytest.approx((0.07, 0.35))
    assert (row.link_rtt_ms_measured, row.link_up_mbit_measured) == (41, 9.5)


def test_cost_arithmetic(tmp_path):
    table = summarise(
        [
            write_run(tmp_path, "cloud", "4g", STATUSES, LATENCIES),
            write_run(tmp_path, "edge", "4g", STATUSES, LATENCIES),
        ]
    )
    months = MONTH_S / 1.0  # measured windows of 1 s in a camera-month
    cloud = table.loc["cloud"]
    compute = 0.35 / 3600 / 4 * 0.36  # server CPU s, per hour, 4 vCPUs
    link = (80_000 + 3_500) / 1e9 * 2.0
    egress = 3_500 / 1e9 * 0.1
    assert cloud.compute_usd_per_camera_month == pytest.approx(compute * months)
    assert cloud.link_usd_per_camera_month == pytest.approx(link * months)
    assert cloud.egress_usd_per_camera_month == pytest.approx(egress * months)
    assert cloud.edge_board_usd_per_camera_month == 0
    assert cloud.cost_per_camera_month_usd == pytest.approx(456.4512)
    assert cloud.cost_per_1000_frames_usd == pytest.approx((compute + link + egress) / 7 * 1000)
    edge = table.loc["edge"]
    assert edge.edge_board_usd_per_camera_month == pytest.approx(10)  # 240 USD / 24 months
    assert edge.cost_per_camera_month_usd == pytest.approx(466.4512)
    assert edge.cost_per_1000_frames_usd == pytest.approx(466.4512 * 1000 / (7 * MONTH_S))
    assert "0.36 USD/h" in edge.cost_basis


def test_unknown_link_is_an_error(tmp_path):
    with pytest.raises(FacebenchError, match="'wifi'"):
        summarise([write_run(tmp_path, "cloud", "wifi", STATUSES, LATENCIES)])


def _table(rows: list[tuple[str, str, float, float, float]], faces: int = 10_000) -> pd.DataFrame:
    """A summary table of (link, strategy, accuracy, p90 ms, uplink kbit/s) rows, accuracy
    measured on ``faces`` matched faces per run."""
    table = pd.DataFrame(
        rows,
        columns=["link", "strategy", "identification_accuracy", "latency_p90_ms", "up_kbit_s"],
    )
    return table.assign(
        video="clip",
        resolution="HD",
        latency_p50_ms=table["latency_p90_ms"] / 2,
        edge_cpu_ms=1.0,
        server_cpu_ms=1.0,
        achieved_fps=10.0,
        cost_per_camera_month_usd=table["up_kbit_s"] / 10,
        cost_basis="test prices",
        n_identified_faces=faces,
    )


def test_winner_needs_accuracy_then_latency_then_uplink():
    table = _table(
        [
            ("lan", "cloud", 0.90, 100, 3000),  # fastest, but 5 points below the best
            ("lan", "edge", 0.95, 200, 5),
            ("lan", "hybrid", 0.94, 150, 50),  # within 2 points, faster than edge
            ("4g", "cloud", 0.95, 400, 3000),
            ("4g", "edge", 0.95, 155, 5),  # p90 within 5 % of hybrid's, lower uplink
            ("4g", "hybrid", 0.95, 150, 50),
        ]
    )
    result = winners(table).set_index("link")
    assert result.loc["lan", "winner"] == "hybrid"
    assert "cloud out" in result.loc["lan", "why"]
    assert result.loc["4g", "winner"] == "edge"
    assert result.loc["4g", "cheapest"] == "edge"
    assert result.loc["4g", "cheapest_cost_per_camera_month_usd"] == pytest.approx(0.5)
    assert "within 2 points" in result.loc["lan", "rule"]


def test_an_accuracy_gap_within_sampling_noise_does_not_exclude():
    rows = [("lan", "cloud", 0.90, 100, 3000), ("lan", "edge", 0.95, 200, 5)]
    assert winners(_table(rows, faces=10_000)).loc[0, "winner"] == "edge"
    assert winners(_table(rows, faces=40)).loc[0, "winner"] == "cloud"  # 5 points of 40 faces


def test_table2_rows_and_best():
    table = _table([("lan", "cloud", 0.90, 100, 3000), ("lan", "edge", 0.95, 200, 5)])
    result = table2(table, winners(table)).set_index("criterion")
    assert list(result.columns[-4:]) == ["cloud", "edge", "best", "note"]
    assert result.loc["latency p90", "best"] == "cloud"
    assert result.loc["identification accuracy", "best"] == "edge"
    assert result.loc["uplink", "cloud"] == 3000
    assert result.loc["winner", "best"] == "edge"  # cloud is 5 points less accurate
    leaves = result.loc["what leaves the site"]
    assert (leaves.kind, leaves.cloud, leaves.edge) == (
        "definition",
        "video frames (JPEG)",
        "metadata only (identities, boxes)",
    )


def test_looped_clip_is_scored_by_clip_frame(tmp_path):
    truth = pd.DataFrame(
        [(0, "alice", *BOX["alice"]), (1, "", *[np.nan] * 4), (2, "bob", *BOX["bob"])],
        columns=["frame", "identity", "x", "y", "w", "h"],
    ).assign(detectable=lambda t: t["identity"] != "")
    statuses = ["processed"] * 4 + ["dropped"] + ["processed"] * 4  # frames 0-8, clip of 3
    faces = [
        (0, "alice", "alice"),  # warm-up: not scored
        (2, "bob", "bob"),  # clip frame 2
        (3, "alice", "alice"),  # clip frame 0
        (5, "bob", "alice"),  # clip frame 2: found, wrong name
        (6, "alice", "alice"),  # clip frame 0; frame 8 (bob) is missed
    ]
    run_dir = write_run(
        tmp_path, "hybrid", "lan", statuses, [0.1] * 8, clip_len=3, faces=faces, warmup=1
    )
    frames, faces_table, _ = read_strategy_runs([run_dir])
    row = strategy_accuracy(frames, faces_table, {("clip", "HD"): truth}, ENROLLED).iloc[0]
    assert (row.n_scored_frames, row.n_dropped_frames) == (7, 1)
    assert (row.n_truth, row.n_pred, row.tp, row.id_correct) == (5, 4, 4, 3)
    assert (row.precision, row.recall) == pytest.approx((1.0, 0.8))
    assert row.identification_accuracy == pytest.approx(0.75)


def test_no_runs_give_empty_tables_and_figures_with_the_reason(tmp_path, monkeypatch):
    texts: list[str] = []
    save = Figure.savefig

    def record(fig: Figure, *args, **kwargs):
        texts.extend(t.get_text() for t in fig.findobj(Text))
        return save(fig, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", record)
    reason = "network emulation needs root"
    paths = write_strategy_outputs(
        [], {}, ENROLLED, CONFIG, tmp_path / "out", tmp_path / "fig", reason
    )
    assert all(path.is_file() for path in paths) and len(paths) == 12
    summary = pd.read_csv(tmp_path / "out" / "summary.csv")
    assert summary.empty and {"latency_p90_ms", "cost_per_camera_month_usd"} <= set(summary)
    assert pd.read_parquet(tmp_path / "out" / "frames.parquet")["bytes_up"].dtype == "int64"
    assert (tmp_path / "fig" / "strategies_bandwidth.svg").read_text().lstrip().startswith("<?xml")
    assert sum(f"not measured: strategies: {reason}" in text for text in texts) == 3


def test_outputs_of_real_runs(tmp_path):
    run_dirs = [
        write_run(tmp_path / "runs", strategy, link, STATUSES, LATENCIES)
        for strategy in ("cloud", "hybrid")
        for link in ("lan", "4g")
    ]
    write_strategy_outputs(run_dirs, {}, ENROLLED, CONFIG, tmp_path / "out", tmp_path / "f", None)
    summary = pd.read_csv(tmp_path / "out" / "summary.csv")
    assert list(summary["link"]) == ["lan", "lan", "4g", "4g"]  # config order
    assert list(summary["strategy"]) == ["cloud", "hybrid"] * 2
    assert len(pd.read_csv(tmp_path / "out" / "winners.csv")) == 2
    assert all(
        (tmp_path / "f" / f"strategies_{n}.svg").stat().st_size > 5000
        for n in ("latency", "bandwidth", "accuracy")
    )


def test_malformed_frames_csv_names_the_file(tmp_path):
    run_dir = write_run(tmp_path, "cloud", "lan", STATUSES, LATENCIES)
    frames_csv = run_dir / "frames.csv"
    lines = frames_csv.read_text().splitlines()
    lines[5] = lines[5].replace(",processed,", ",processed,fast")
    frames_csv.write_text("\n".join(lines) + "\n")
    with pytest.raises(FacebenchError, match=str(frames_csv)):
        read_strategy_runs([run_dir])


def test_a_run_filed_twice_is_an_error(tmp_path):
    first = write_run(tmp_path / "a", "cloud", "lan", STATUSES, LATENCIES)
    second = write_run(tmp_path / "b", "cloud", "lan", STATUSES, LATENCIES)
    with pytest.raises(FacebenchError, match=f"{second}/run.json: the same run as {first}"):
        read_strategy_runs([first, second])
