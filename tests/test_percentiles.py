"""Tail percentiles stated only with enough frames; Table 6 cells with bootstrap intervals."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from facebench.analysis import tables
from facebench.analysis.outputs import write_html
from facebench.analysis.resampling import Resampling
from facebench.analysis.stages import Aggregate, aggregate
from facebench.analysis.synthetic import Device, write_dataset
from facebench.harness.benchmark_run import summarize
from facebench.harness.percentiles import NOTE_COLUMN, min_frames, withheld

DEVICES = [Device("server", "cloud", [("tf", "tf"), ("onnx", "onnx")])]


def test_the_floor_is_where_the_largest_value_bounds_the_percentile():
    assert (min_frames(90, 0.95), min_frames(99, 0.95)) == (29, 299)
    for p, c in ((50, 0.95), (90, 0.95), (99, 0.95), (90, 0.99), (99, 0.99)):
        n = min_frames(p, c)
        assert (p / 100) ** n <= 1 - c < (p / 100) ** (n - 1)


def test_a_percentile_below_its_floor_is_nan_with_the_reason():
    table = pd.DataFrame({"t_p50": [1.0, 2.0, 3.0], "t_p90": [4.0, 5.0, 6.0], "t_p99": [7.0] * 3})
    counts = pd.Series([20, 100, 400])
    out = withheld(table, {"t_p50": 50, "t_p90": 90, "t_p99": 99}, counts, 0.95)
    assert out["t_p50"].tolist() == [1.0, 2.0, 3.0]
    assert math.isnan(out.loc[0, "t_p90"]) and out.loc[1:, "t_p90"].tolist() == [5.0, 6.0]
    assert out["t_p99"].isna().tolist() == [True, True, False]
    assert out[NOTE_COLUMN].tolist() == [
        "p90: not enough frames (20 of 29); p99: not enough frames (20 of 299)",
        "p99: not enough frames (100 of 299)",
        "",
    ]


@pytest.fixture(scope="module")
def frames(tmp_path_factory) -> pd.DataFrame:
    root = tmp_path_factory.mktemp("repeats")
    device_class = write_dataset(root, DEVICES, {"video1": 30}, repeats=3, warmup_frames=5, seed=2)
    runs = sorted((root / "results" / "runs").rglob("run.json"))
    aggregate(runs, device_class, root / "resources" / "videos", root / "aggregate")
    return Aggregate.read(root / "aggregate").frames


def test_table6_withholds_the_p99_of_too_few_frames(frames):
    table = tables.table6(frames)
    assert (table["n_frames"] == 3 * 3 * 25).all()  # 3 resolutions x 3 repeats x 25 frames
    assert table["total_time_p99_s"].isna().all() and table["total_time_p90_s"].notna().all()
    assert (table[NOTE_COLUMN] == "p99: not enough frames (225 of 299)").all()
    assert tables.table6(frames, confidence=0.5)["total_time_p99_s"].notna().all()


def test_every_cell_gets_an_interval_around_its_value(frames, tmp_path):
    resampling = Resampling(replicates=60, seed=1)
    for table, by in (
        (tables.table6(frames), tables.CONFIG),
        (tables.per_resolution_table(frames), [*tables.CONFIG, "resolution"]),
    ):
        out = tables.with_intervals(table, frames, by, resampling)
        assert out.drop(columns=out.columns.difference(table.columns)).equals(table)
        for column in tables.INTERVALS:
            i = out.columns.get_loc(column)
            assert list(out.columns[i : i + 3]) == [column, f"{column}_lo", f"{column}_hi"]
            lo, value, hi = out[f"{column}_lo"], out[column], out[f"{column}_hi"]
            assert (lo <= value).all() and (value <= hi).all() and (lo < hi).all()
    page = write_html(out, Path(tmp_path) / "t.html", "t").read_text()
    assert "fps_lo" not in page
    assert f"{out['fps'][0]:.4g} [{out['fps_lo'][0]:.4g}, {out['fps_hi'][0]:.4g}]" in page


def test_intervals_come_from_the_resampling_seed(frames):
    table = tables.table6(frames)
    one = tables.with_intervals(table, frames, tables.CONFIG, Resampling(replicates=30, seed=3))
    again = tables.with_intervals(table, frames, tables.CONFIG, Resampling(replicates=30, seed=3))
    assert np.array_equal(one["fps_lo"], again["fps_lo"])


def test_a_runs_summary_leaves_out_the_percentiles_its_frames_cannot_state():
    n, rng = 50, np.random.default_rng(0)
    times = {c: rng.uniform(0.1, 0.2, n) for c in ("t_read_s", "t_detect_s", "t_embed_s")}
    frames = pd.DataFrame(
        {"is_warmup": np.arange(n) < 10, "n_faces": 1, "t_unattributed_s": 0.001, **times}
    ).assign(t_total_s=lambda f: f[[*times, "t_unattributed_s"]].sum(axis=1))
    summary = summarize(frames)
    assert summary["t_total_s"]["p90"] is not None and summary["t_total_s"]["p99"] is None
    assert summary["percentile_note"] == "p99: not enough frames (40 of 299)"
