"""The analysis outputs of the end-to-end workflow run (config/ci.yaml): aggregate, tables,
claims, figures and the executed notebook."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import nbformat
import pandas as pd
import pytest
import yaml
from helpers import svg_text

from facebench.analysis.claims.engine import VERDICTS
from facebench.analysis.validity import RULE_COLUMNS, RULES
from facebench.report_entries import TABLES


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


def _kept_inputs(tabulated_runs: pd.DataFrame) -> pd.Series:
    """Per configuration (device, detector, recognizer), its inputs the tables keep."""
    inputs = tabulated_runs.groupby(["device", "detector", "recognizer"])[["video", "resolution"]]
    return inputs.apply(lambda runs: len(runs.drop_duplicates()))


def test_tables(results, config, tabulated_runs):
    table6 = pd.read_csv(results / "tables" / "table6.csv")
    devices = config["runs"]["devices"]
    pairs = sum(len(d["detectors"]) * len(d["recognizers"]) for d in devices.values())
    assert len(table6) == pairs
    inputs = _kept_inputs(tabulated_runs)
    timed = config["runs"]["videos"] or config["videos"]["generated"]
    all_inputs = len(timed) * len(config["videos"]["resolutions"])
    n_inputs = table6.set_index(["device", "detector", "recognizer"])["n_inputs"]
    assert n_inputs.to_dict() == inputs.reindex(n_inputs.index, fill_value=0).to_dict()
    if not config["validity"]["exclude_invalid"]:  # CI: every run kept, whatever the host load
        assert (table6["n_inputs"] == all_inputs).all() and (
            table6["n_invalid_runs_excluded"] == 0
        ).all()
    table6 = table6[table6["n_inputs"] > 0]  # a configuration whose runs were all excluded
    # every pair times >= 15 measured frames of varying content per input: p90 above p50; a
    # p99 is stated only from 299 frames on (at 95 %), else withheld with the reason
    assert (table6["n_frames"] > 1).all()
    assert (table6["total_time_p50_s"] < table6["total_time_p90_s"]).all()
    assert (table6["detection_time_p50_s"] < table6["detection_time_p90_s"]).all()
    withheld = table6["total_time_p99_s"].isna()
    assert table6.loc[withheld, "percentile_note"].str.contains("p99: not enough frames").all()
    assert (
        table6.loc[~withheld, "total_time_p50_s"] < table6.loc[~withheld, "total_time_p99_s"]
    ).all()
    assert (table6["fps_lo"] <= table6["fps"]).all() and (table6["fps"] <= table6["fps_hi"]).all()
    assert table6[["detection_time_s", "recognition_time_s", "fps", "faces"]].gt(0).all().all()
    # The rates below are of all the timed inputs (videos identify differently): checked for
    # the configurations that kept them all (every one when invalid runs are kept, as in CI).
    whole = table6.loc[table6["n_inputs"] == all_inputs, ["device", "detector", "recognizer"]]
    accuracy = pd.read_csv(results / "tables" / "accuracy.csv").merge(whole)
    assert accuracy["recall"].gt(0.5).all()
    # The CI run identifies ~0.71 of its matched faces (gallery of the sdist's few photos,
    # tiny low-resolution faces in the generated videos); 0.5 is well below that noise but far
    # above what a broken embedder or gallery scores (~chance, or all "unknown").
    assert accuracy["identification_accuracy"].gt(0.5).all(), accuracy.to_string()
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


def _iou(a: tuple, b: tuple) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    w = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    h = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    return w * h / (aw * ah + bw * bh - w * h)


def _greedy_tp(pred: list[tuple], truth: list[tuple], iou_min: float = 0.5) -> int:
    """One-to-one matches with IoU >= iou_min, greedily by descending IoU."""
    pairs = sorted(
        ((_iou(p, t), i, j) for i, p in enumerate(pred) for j, t in enumerate(truth)),
        reverse=True,
    )
    used_p, used_t = set(), set()
    for iou, i, j in pairs:
        if iou >= iou_min and i not in used_p and j not in used_t:
            used_p.add(i)
            used_t.add(j)
    return len(used_p)


def _kept(table: pd.DataFrame, tabulated_runs: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``table`` (aggregated frames or faces) of the runs the tables keep."""
    keys = ["device", "detector", "recognizer", "video", "resolution"]
    kept = pd.MultiIndex.from_frame(tabulated_runs[keys].astype(str))
    return table[pd.MultiIndex.from_frame(table[keys].astype(str)).isin(kept)]


def test_precision_and_recall_recomputed_from_faces_and_ground_truth(
    workflow_dir, results, tabulated_runs
):
    """accuracy.csv's precision and recall equal what the aggregated faces of the runs the
    tables keep and the videos' ground-truth files give with an independent IoU >= 0.5 greedy
    matching."""
    frames = _kept(pd.read_parquet(results / "aggregate" / "frames.parquet"), tabulated_runs)
    faces = _kept(pd.read_parquet(results / "aggregate" / "faces.parquet"), tabulated_runs)
    accuracy = pd.read_csv(results / "tables" / "accuracy.csv")
    truth = {}
    for path in (workflow_dir / "resources" / "videos").glob("*/*.groundtruth.csv"):
        table = pd.read_csv(path)  # a frame's row without identity: scored, no face in it
        for frame, rows in table.groupby("frame"):
            rows = rows.dropna(subset=["identity"])
            boxes = list(rows[["x", "y", "w", "h"]].itertuples(index=False, name=None))
            truth[(path.parent.name, path.name.split(".")[0], frame)] = boxes
    key = ["device", "detector", "recognizer"]
    run_key = ["video", "resolution", "repeat", "frame"]
    for config_key, row in accuracy.set_index(key).iterrows():
        mine = frames[(frames[key].astype(str) == pd.Series(config_key, key)).all(axis=1)]
        found = faces[(faces[key].astype(str) == pd.Series(config_key, key)).all(axis=1)]
        per_frame = {
            k: list(g[["x", "y", "w", "h"]].itertuples(index=False, name=None))
            for k, g in found.groupby(
                [found[c].astype(str) if c != "frame" else found[c] for c in run_key]
            )
        }
        n_pred = n_truth = tp = 0
        for video, resolution, repeat, frame in mine[run_key].itertuples(index=False):
            gt = truth.get((str(video), str(resolution), frame))
            if gt is None:
                continue  # a frame without ground truth is not scored
            pred = per_frame.get((str(video), str(resolution), str(repeat), frame), [])
            n_pred, n_truth = n_pred + len(pred), n_truth + len(gt)
            tp += _greedy_tp(pred, gt)
        assert (row["n_pred"], row["n_truth"], row["tp"]) == (n_pred, n_truth, tp), config_key
        assert row["precision"] == pytest.approx(tp / n_pred)
        assert row["recall"] == pytest.approx(tp / n_truth)


def test_claims_have_twelve_verdicts(results):
    """The CI data decide claims 1 (read share) and 8 (resolution scaling) on measured times;
    the rest need what the CI run has not by design: a cloud device (3), TF or TensorRT
    backends (2, 4-7, 12), a GPU or board rail (10, 11), two OSes (9)."""
    claims = pd.read_csv(results / "claims.csv").set_index("claim")
    assert list(claims.index) == list(range(1, 13))
    assert claims["verdict"].isin(VERDICTS).all() and claims["reason"].notna().all()
    measured = claims.loc[[1, 8], "verdict"]
    assert measured.isin(["holds", "does not hold", "inconclusive"]).all(), measured
    assert claims.loc[[1, 8], "ours"].str.contains(r"\[").all()  # bootstrap intervals
    untestable = claims.drop(index=[1, 8])
    assert (untestable["verdict"] == "not testable here").all(), untestable
    assert "edge only" in claims.loc[3, "reason"]
    assert "only one OS" in claims.loc[9, "reason"]
    assert "not measured: no NVIDIA GPU" in claims.loc[10, "reason"]


def test_validity_verdicts_are_complete_and_consistent(results, config):
    """validity.csv judges every run by every rule: a rule fails exactly when its value is
    beyond its threshold (not checked when unmeasured), a run is valid exactly when no rule
    fails, each failure is named in its reasons, and the rules the CI run satisfies by design
    pass whatever the host load (frames, warm-up, parity), and the repeats are compared."""
    settings = config["validity"]
    checked = pd.read_csv(results / "validity.csv", dtype={"resolution": str, "reasons": str})
    run_dirs = _run_dirs(results)
    assert len(checked) == len(run_dirs) and checked["run"].is_unique
    metas = {str(r): json.loads((r / "run.json").read_text()) for r in run_dirs}
    statuses = {"pass", "fail", "not checked"}
    for rule in RULES:
        value = checked[rule.value].astype(float)
        limit = rule.threshold(settings)
        beyond = value < limit if rule.minimum else value > limit
        assert checked[rule.name].isin(statuses).all(), rule.name
        assert ((checked[rule.name] == "not checked") == value.isna()).all(), rule.name
        assert ((checked[rule.name] == "fail") == beyond).all(), rule.name
        reason = rule.reason.split(":")[0]  # its words before the measured value
        assert (checked["reasons"].fillna("").str.contains(reason) == beyond).all(), rule.name
    names = [name for name, _ in RULE_COLUMNS]
    fails = (checked[names] == "fail").sum(axis=1)
    assert (checked["valid"] == (fails == 0)).all()
    reasons = checked["reasons"].fillna("").str.split("; ").str.len()
    assert (reasons.where(fails > 0, 0) == fails).all()  # one reason per failed rule
    measured = [
        metas[str(results.parent / run)]["summary"]["measured_frames"] for run in checked["run"]
    ]
    assert checked["n_frames"].tolist() == measured
    designed = {"enough_frames": "pass", "warmup_excluded": "pass", "parity_passed": "pass"}
    assert {n: set(checked[n]) for n in designed} == {n: {v} for n, v in designed.items()}
    assert config["runs"]["repeats"] > 1 and "not checked" not in set(checked["repeat_typical"])
    assert (checked["n_warmup_frames"] == config["runs"]["warmup_frames"]).all()
    fate = "left out of" if settings["exclude_invalid"] else "kept in every table and figure"
    headline = f"Run validity: {(~checked['valid']).sum()} of {len(checked)} runs fail a rule"
    html = (results / "validity.html").read_text()
    assert headline in html and fate in html


SVG = "{http://www.w3.org/2000/svg}"
DATA_ARTIST = re.compile(
    r"(line2d|PathCollection|QuadMesh|\w*PolyCollection|LineCollection|image)_\d+$"
)
# measures the CI host has no sensor for: these figures say why instead of plotting
NOT_MEASURED_HERE = {"energy_per_frame", "fig15_power", "fig16_power_by_framework"}


def plotted_artists(path: Path) -> int:
    """Data artists in a matplotlib SVG's axes: lines of >= 2 points or with markers,
    collections, meshes, images, and bar patches (not an axes' background and four spines)."""
    count = 0
    for axes in ET.parse(path).getroot().iter(f"{SVG}g"):
        if not axes.get("id", "").startswith("axes_"):
            continue
        children = [c for c in axes if c.tag == f"{SVG}g"]
        patches = [c for c in children if c.get("id", "").startswith("patch_")]
        count += max(0, len(patches) - 5)
        for child in children:
            name = child.get("id", "")
            if not DATA_ARTIST.match(name):
                continue
            if name.startswith("line2d_"):
                d = " ".join(p.get("d", "") for p in child.iter(f"{SVG}path"))
                if len(re.findall(r"[ML]", d)) < 2 and not child.findall(f".//{SVG}use"):
                    continue
            count += 1
    return count


def test_every_figure_plots_data_or_says_not_measured(results):
    figures = {p.stem: p for p in (results / "figures").glob("*.svg")}
    assert len(figures) == 14
    for name, path in figures.items():
        if name in NOT_MEASURED_HERE and not plotted_artists(path):
            assert re.search(r"not measured: \S", svg_text(path)), f"{name}: empty, no reason"
        else:
            assert plotted_artists(path) > 0, f"{name}: no data plotted"
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
