"""The analysis outputs of the end-to-end workflow run (config/ci.yaml): aggregate, tables,
claims, figures and the executed notebook."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pandas as pd
import pytest
import yaml
from test_analysis import svg_text

from facebench.analysis.claims import VERDICTS
from facebench.analysis.stages import TABLES


@pytest.fixture(scope="module")
def results(workflow_dir: Path) -> Path:
    return workflow_dir / "results"


@pytest.fixture(scope="module")
def config(workflow_dir: Path) -> dict:
    return yaml.safe_load((workflow_dir / "config.yaml").read_text())


def _run_dirs(results: Path) -> list[Path]:
    return sorted(p.parent for p in (results / "runs").glob("*/*__*/*_*/rep*/run.json"))


def test_aggregate_counts_runs_times_frames_minus_warmup(results, config):
    runs = _run_dirs(results)
    metas = [json.loads((r / "run.json").read_text()) for r in runs]
    frames = pd.read_parquet(results / "aggregate" / "frames.parquet")
    faces = pd.read_parquet(results / "aggregate" / "faces.parquet")
    warmup = config["runs"]["warmup_frames"]
    assert all(m["summary"]["frames"] - m["summary"]["measured_frames"] == warmup for m in metas)
    assert len(frames) == sum(m["summary"]["measured_frames"] for m in metas) > 0
    measured_faces = 0
    for run in runs:
        raw_frames, raw_faces = pd.read_csv(run / "frames.csv"), pd.read_csv(run / "faces.csv")
        kept = raw_frames.loc[~raw_frames["is_warmup"], "frame"]
        measured_faces += raw_faces["frame"].isin(kept).sum()
    assert len(faces) == measured_faces
    assert frames["frame"].min() >= warmup  # warm-up frames are the first ones
    expected_devices = set(config["runs"]["this_host"])
    assert set(frames["device"].astype(str)) == expected_devices
    assert set(frames["device_class"].astype(str)) == {"edge"}
    run_table = pd.read_parquet(results / "aggregate" / "runs.parquet")
    assert len(run_table) == len(runs)
    one_thread = run_table[run_table["device"].astype(str) == "local-1thread"]
    assert len(one_thread) and (one_thread["recognizer_threads"] == 1).all()


def test_tables(results, config):
    table6 = pd.read_csv(results / "tables" / "table6.csv")
    devices = config["runs"]["devices"]
    pairs = sum(len(d["detectors"]) * len(d["recognizers"]) for d in devices.values())
    assert len(table6) == pairs
    assert (table6["n_inputs"] == 2 * 3).all()
    assert (table6["total_time_p50_s"] <= table6["total_time_p99_s"]).all()
    assert table6[["detection_time_s", "recognition_time_s", "fps", "faces"]].gt(0).all().all()
    accuracy = pd.read_csv(results / "tables" / "accuracy.csv")
    assert accuracy["recall"].gt(0.5).all() and accuracy["precision"].between(0, 1).all()
    energy = pd.read_csv(results / "tables" / "energy.csv")
    assert energy["energy_per_frame_j"].isna().all()  # no GPU/board rail on the CI machine
    assert energy["note"].str.contains("not measured").all()
    comparison = pd.read_csv(results / "tables" / "paper_vs_ours.csv")
    assert comparison["paper_mean"].notna().any() and comparison["ours_mean"].notna().any()
    written = {p.name for p in (results / "tables").iterdir()}
    tables = {f"{name}.{kind}" for name in TABLES for kind in ("csv", "html")}
    assert written == tables | {"missing.html"}  # its CSV is results/missing.csv
    missing = pd.read_csv(results / "missing.csv", dtype=str, keep_default_na=False)
    assert missing["reason"].str.startswith("skipped: ").all()  # every runnable run aggregated


def test_claims_have_twelve_verdicts(results):
    claims = pd.read_csv(results / "claims.csv").set_index("claim")
    assert list(claims.index) == list(range(1, 13))
    assert claims["verdict"].isin(VERDICTS).all() and claims["reason"].notna().all()
    assert "edge only" in claims.loc[3, "reason"]  # no cloud device in the CI data
    assert claims.loc[1, "verdict"] != "not testable here"  # read time is measured everywhere


def test_every_figure_drawn_power_not_measured(results):
    figures = {p.stem: p for p in (results / "figures").glob("*.svg")}
    assert len(figures) == 14 and all(p.stat().st_size > 1000 for p in figures.values())
    assert "not measured: GPU / board rail" in svg_text(figures["fig15_power"])
    assert "local-1thread" in svg_text(figures["fig12_pair_fps"])
    assert "no pair" not in svg_text(figures["fig14_pair_memory"])


def test_notebook_executed(results):
    notebook = nbformat.read(results / "notebooks" / "analysis.ipynb", as_version=4)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code)
    outputs = [o for c in code for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    injected = [c for c in code if "injected-parameters" in c.metadata.get("tags", [])]
    assert injected and str(results / "aggregate") in injected[0].source
    claims_cell = json.dumps([o.get("data", o.get("text")) for o in code[-2].outputs])
    assert "not testable here" in claims_cell
