"""One server, many cameras: the CI run's serving outputs."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
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
    one_camera = cameras[cameras["cameras"] == 1]
    assert (one_camera["dropped_share"] == 0).all()
    assert (one_camera["frames_per_s"] > 0).all()


def test_batching_is_measured_and_leaves_accuracy_unchanged(workflow_dir):
    batching = pd.read_csv(workflow_dir / "results" / "serving" / "batching.csv")
    ours = batching[batching["source"].str.startswith("ours")]
    assert set(ours["recognizer"]) == set(CI["recognizers"])
    assert (ours["frames_speedup"] > 0).all()
    assert ours["accuracy_unchanged"].astype(str).eq("True").all()
    assert set(batching.loc[~batching.index.isin(ours.index), "frames_speedup"]) == {3.7, 2.4}


def test_capacity_and_harness_are_reported(workflow_dir):
    serving = workflow_dir / "results" / "serving"
    capacity = pd.read_csv(serving / "capacity.csv")
    assert len(capacity) == len(CI["recognizers"]) * len(CI["max_batch"]) + 1
    assert (capacity["peak_rate_per_s"] > 0).all()
    harness = pd.read_csv(serving / "harness.csv")
    assert len(harness) == 1 and harness["ceiling_ratio"].iloc[0] > 1
