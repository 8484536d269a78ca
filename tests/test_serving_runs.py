"""One server, many cameras: the CI run's serving outputs."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import shipped_config

REPO_ROOT = Path(__file__).resolve().parents[1]
CI = shipped_config("ci.yaml")["serving"]


def test_every_setting_ran_every_camera_count(workflow_dir):
    serving = workflow_dir / "results" / "serving"
    points = pd.read_csv(serving / "points.csv")
    cameras = points[points["mode"] == "cameras"]
    settings = {(r, b) for r in CI["recognizers"] for b in CI["max_batch"]} | {("noop", 1)}
    assert set(zip(cameras["recognizer"], cameras["max_batch"], strict=True)) == settings
    for _, runs in cameras.groupby(["recognizer", "max_batch"]):
        assert sorted(runs["cameras"]) == sorted(CI["cameras"])
    for run_json in (serving / "runs").glob("*/*/run.json"):  # cameras first, in config order
        recorded = json.loads(run_json.read_text())["points"]["points"]
        assert [p["cameras"] for p in recorded if p["mode"] == "cameras"] == CI["cameras"]
        assert any(p["mode"] == "poisson" for p in recorded)
    # One camera offers duration_s x the video's fps frames, fewer than the queue holds: none
    # is dropped, so every one is served and the served rate is the camera's.
    one_camera = cameras[cameras["cameras"] == 1]
    fps = yaml.safe_load((REPO_ROOT / "config" / "ci.yaml").read_text())["videos"]["generated"]
    offered = CI["duration_s"] * fps[CI["video"]]["fps"]
    assert offered < CI["queue_size"]
    assert (one_camera["dropped_share"] == 0).all()
    assert (one_camera["n_requests"] == offered).all() and (one_camera["n_ok"] == offered).all()
    assert one_camera["frames_per_s"].tolist() == pytest.approx(
        one_camera["offered_per_s"].tolist()
    )
    assert (one_camera["offered_per_s"] == fps[CI["video"]]["fps"]).all()


def test_batching_is_measured_and_leaves_accuracy_unchanged(workflow_dir):
    batching = pd.read_csv(workflow_dir / "results" / "serving" / "batching.csv")
    ours = batching[batching["source"].str.startswith("ours")]
    assert set(ours["recognizer"]) == set(CI["recognizers"])
    points = pd.read_csv(workflow_dir / "results" / "serving" / "points.csv")
    rate = points[points["mode"] == "cameras"].set_index(["recognizer", "cameras", "max_batch"])
    for row in ours.itertuples():  # the speed-up of the two camera runs it names
        one, batched = (
            rate.loc[
                (row.recognizer, row.cameras, getattr(row, f"max_batch_{side}")), "frames_per_s"
            ]
            for side in ("batch1", "batched")
        )
        assert row.frames_per_s_batch1 == pytest.approx(one)
        assert row.frames_speedup == pytest.approx(batched / one, rel=1e-4)
    assert ours["accuracy_unchanged"].astype(str).eq("True").all()
    assert set(batching.loc[~batching.index.isin(ours.index), "frames_speedup"]) == {3.7, 2.4}


def test_capacity_and_harness_are_reported(workflow_dir):
    serving = workflow_dir / "results" / "serving"
    capacity = pd.read_csv(serving / "capacity.csv")
    assert len(capacity) == len(CI["recognizers"]) * len(CI["max_batch"]) + 1
    # The peak rate is the highest Poisson rate whose p99 stayed within the bound with at most
    # 1 % of requests failed, 0 when even the first failed: how high depends on the host's load.
    points = pd.read_csv(serving / "points.csv")
    trials = points[points["mode"] == "poisson"]
    for row in capacity.itertuples():
        mine = trials[
            (trials["recognizer"] == row.recognizer) & (trials["max_batch"] == row.max_batch)
        ]
        assert len(mine) >= 1 and mine["rate_per_s"].iloc[0] == 1.0  # the search starts at 1/s
        passed = mine[
            (mine["latency_p99_ms"] <= CI["p99_bound_ms"])
            & (mine["n_ok"] >= 0.99 * mine["n_requests"])
        ]
        assert row.peak_rate_per_s == (passed["rate_per_s"].max() if len(passed) else 0.0)
    # The no-op server answers in well under a millisecond: at 1 request/s, a p99 of 500 ms
    # would take half a second of scheduling delay, far beyond a busy 2-core host's.
    assert capacity.set_index("recognizer").loc["noop", "peak_rate_per_s"] > 0
    harness = pd.read_csv(serving / "harness.csv")
    assert len(harness) == 1 and harness["ceiling_ratio"].iloc[0] > 1
