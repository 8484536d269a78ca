"""Analysis: aggregation, accuracy, tables, claims and figures on synthetic runs in the real
schema, plus the same pipeline on the real tree of the end-to-end CI run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import REPO_ROOT
from helpers import svg_text
from matplotlib.figure import Figure

from facebench.analysis import figures, plotting, tables
from facebench.analysis.accuracy import run_accuracy
from facebench.analysis.aggregate import (
    CONFIG_COLUMNS,
    RUN_GLOB,
    collect_runs,
    load_groundtruth,
    read_runs,
    run_table,
    write_parquet,
)
from facebench.analysis.claims.check import CLAIMS, check_claims
from facebench.analysis.claims.engine import VERDICTS
from facebench.analysis.paper import read_paper_claims
from facebench.analysis.synthetic import ENROLLED, Device, write_dataset
from facebench.errors import FacebenchError
from facebench.recognition.boxes import match_boxes
from facebench.schemas import validate_records, validate_table

VIDEO_FRAMES = {"video1": 24, "video2": 16}
WARMUP = 4
DEVICES = [
    Device(
        "jetson",
        "edge",
        [("tf", "tf"), ("tf", "tflite"), ("tensorrt", "tensorrt"), ("tensorrt", "tflite")],
        speed=4,
        gpu=True,
        gpu_name="Volta",
    ),
    Device("server", "cloud", [("tf", "tf"), ("onnx", "onnx"), ("tensorrt", "tflite")]),
]
N_RUNS = sum(len(d.pairs) for d in DEVICES) * len(VIDEO_FRAMES) * 3
PAPER_TABLE6 = REPO_ROOT / "resources" / "paper" / "table6_reconstructed.csv"
PAPER_CLAIMS = REPO_ROOT / "resources" / "paper" / "claims.yaml"


def find_runs(runs_dir: Path, device_class: dict[str, str]) -> list:
    """Every complete run (run.json is written last) under ``runs_dir``, sorted by path."""
    return read_runs(sorted(runs_dir.glob(RUN_GLOB)), device_class)


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("synthetic")
    write_dataset(root, DEVICES, VIDEO_FRAMES, repeats=1, warmup_frames=WARMUP, seed=3)
    return root


@pytest.fixture(scope="module")
def device_class() -> dict[str, str]:
    return {d.name: d.device_class for d in DEVICES}


@pytest.fixture(scope="module")
def collected(synthetic, device_class) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    runs_dir = synthetic / "results" / "runs"
    runs = find_runs(runs_dir, device_class)
    frames, faces = collect_runs(runs, synthetic / "resources" / "videos")
    return frames, faces, run_table(runs)


def test_synthetic_runs_follow_the_real_schema(synthetic):
    run_dir = next((synthetic / "results" / "runs").rglob("run.json")).parent
    validate_table(pd.read_csv(run_dir / "frames.csv"), "frames", str(run_dir))
    faces = pd.read_csv(run_dir / "faces.csv", keep_default_na=False, na_values=[""])
    validate_table(faces, "faces", str(run_dir))
    validate_records([json.loads((run_dir / "run.json").read_text())], "run", str(run_dir))


def test_aggregation_counts_runs_times_frames_minus_warmup(synthetic, collected):
    frames, faces, runs = collected
    assert len(runs) == N_RUNS
    measured = sum(n - WARMUP for n in VIDEO_FRAMES.values()) * N_RUNS // len(VIDEO_FRAMES)
    assert len(frames) == measured
    assert frames["frame"].min() == WARMUP and "is_warmup" not in frames
    on_disk = sum(
        (pd.read_csv(p)["frame"] >= WARMUP).sum()
        for p in (synthetic / "results" / "runs").rglob("faces.csv")
    )
    assert len(faces) == on_disk
    assert list(frames.columns[: len(CONFIG_COLUMNS)]) == list(CONFIG_COLUMNS)
    assert set(frames["device_class"]) == {"edge", "cloud"}
    assert list(frames["resolution"].cat.categories) == ["480", "HD", "FHD"]
    per_frame = faces.groupby([*CONFIG_COLUMNS, "frame"], observed=True).size()
    counted = frames.set_index([*CONFIG_COLUMNS, "frame"])["n_faces"]
    assert per_frame.reindex(counted.index, fill_value=0).eq(counted).all()
    assert frames["n_truth_faces"].notna().all()


def test_parquet_round_trip(collected, tmp_path):
    frames, faces, runs = collected
    paths = write_parquet(frames, faces, tmp_path, runs)
    assert [p.name for p in paths] == ["frames.parquet", "faces.parquet", "runs.parquet"]
    pd.testing.assert_frame_equal(pd.read_parquet(paths[0]), frames)
    assert not list(tmp_path.glob(".*tmp*"))


def _copy_one_run(synthetic: Path, tmp_path: Path) -> Path:
    source = next((synthetic / "results" / "runs").rglob("run.json")).parent
    target = tmp_path / "runs" / source.relative_to(synthetic / "results" / "runs")
    shutil.copytree(source, target)
    return target


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda d: (d / "frames.csv").write_text("frame,is_warmup\n0,True\n"), "missing column"),
        (
            lambda d: (d / "faces.csv").write_text(
                "frame,x,y,w,h,score,identity,distance\nzero,1,2,3,4,0.9,a,0.5\n"
            ),
            "faces.csv",
        ),
        (lambda d: (d / "run.json").write_text("{not json"), "run.json"),
        (lambda d: (d / "faces.csv").unlink(), "faces.csv"),
    ],
)
def test_malformed_run_is_one_line_naming_the_file(
    synthetic, device_class, tmp_path, damage, message
):
    run_dir = _copy_one_run(synthetic, tmp_path)
    damage(run_dir)
    with pytest.raises(FacebenchError) as error:
        collect_runs(find_runs(tmp_path / "runs", device_class))
    assert message in str(error.value) and str(run_dir) in str(error.value)
    assert "\n" not in str(error.value)


def test_unknown_device_is_an_error(synthetic, tmp_path):
    _copy_one_run(synthetic, tmp_path)
    with pytest.raises(FacebenchError, match="not in the config"):
        find_runs(tmp_path / "runs", {})


def _hand_made() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """One run, frames 0-4; known answer: 7 detections, 6 faces (5 detectable), 4 matches,
    3 of them identified right. Frame 2 has two candidates per box (greedy decides); frame 3
    has no ground truth (not scored); frame 4 is an explicit empty frame."""
    config = {
        "device": "d",
        "device_class": "edge",
        "detector": "tf",
        "recognizer": "tf",
        "video": "v",
        "resolution": "HD",
        "repeat": 1,
    }
    truth = pd.DataFrame(
        [
            (0, "ben_afflek", 0, 0, 100, 100, True),
            (0, "mindy_kaling", 200, 0, 100, 100, True),  # not enrolled: right if "unknown"
            (0, "madonna", 400, 0, 10, 10, False),  # too small, missed
            (1, "ben_afflek", 0, 0, 100, 100, True),  # found at IoU 0.4 only: missed
            (2, "elton_john", 0, 0, 100, 100, True),
            (2, "jerry_seinfeld", 50, 0, 100, 100, True),
            (4, None, np.nan, np.nan, np.nan, np.nan, False),
        ],
        columns=["frame", "identity", "x", "y", "w", "h", "detectable"],
    ).assign(video="v", resolution="HD")
    faces = pd.DataFrame(
        [
            (0, 2, 2, 100, 100, "ben_afflek"),
            (0, 205, 0, 100, 100, "unknown"),
            (0, 600, 600, 50, 50, "unknown"),  # false positive
            (1, 0, 0, 40, 100, "ben_afflek"),  # IoU 0.4
            (2, 20, 0, 100, 100, "elton_john"),  # IoU 0.67 with elton, 0.54 with jerry
            (2, 60, 0, 100, 100, "madonna"),  # IoU 0.82 with jerry: matched, wrong name
            (3, 0, 0, 100, 100, "ben_afflek"),  # frame without ground truth: ignored
            (4, 0, 0, 100, 100, "ben_afflek"),  # explicit empty frame: false positive
        ],
        columns=["frame", "x", "y", "w", "h", "identity"],
    ).assign(**config)
    frames = pd.DataFrame({"frame": range(5)}).assign(**config)
    return frames, faces, truth


def test_accuracy_on_a_hand_made_case():
    frames, faces, truth = _hand_made()
    row = run_accuracy(frames, faces, truth, ENROLLED).iloc[0]
    assert (row.n_scored_frames, row.n_pred, row.n_truth, row.n_truth_detectable) == (4, 7, 6, 5)
    assert (row.tp, row.tp_detectable, row.id_correct) == (4, 4, 3)
    assert row.precision == pytest.approx(4 / 7) and row.recall == pytest.approx(4 / 6)
    assert row.recall_detectable == pytest.approx(4 / 5)
    assert row.identification_accuracy == pytest.approx(3 / 4)


def test_accuracy_matches_per_frame_greedy_matching(collected, synthetic):
    frames, faces, _ = collected
    truth = load_groundtruth(
        synthetic / "resources" / "videos", frames[["video", "resolution"]].drop_duplicates()
    )
    result = run_accuracy(frames, faces, truth, ENROLLED).set_index(list(CONFIG_COLUMNS))
    key = ("server", "cloud", "onnx", "onnx", "video1", "HD", 1)
    run_faces = faces[(faces[list(CONFIG_COLUMNS)].astype(str) == list(map(str, key))).all(axis=1)]
    run_truth = truth[(truth["video"] == "video1") & (truth["resolution"] == "HD")]
    run_truth = run_truth[run_truth["frame"] >= WARMUP].dropna(subset=["identity"])
    tp = 0
    for frame, pred in run_faces.groupby("frame"):
        gt = run_truth[run_truth["frame"] == frame]
        corners = [t[["x", "y", "w", "h"]].to_numpy() for t in (pred, gt)]
        boxes = [np.c_[c[:, :2], c[:, :2] + c[:, 2:]] for c in corners]
        tp += sum(iou >= 0.5 for _, _, iou in match_boxes(*boxes))
    assert result.loc[key, "tp"] == tp
    assert result.loc[key, "n_truth"] == len(run_truth) and result.loc[key, "n_pred"] == len(
        run_faces
    )


def test_table6_columns_and_values(collected):
    frames, _, _ = collected
    table = tables.table6(frames)
    assert {
        "device",
        "device_class",
        "detector",
        "recognizer",
        "recognition_time_s",
        "detection_time_s",
        "fps",
        "faces",
        "total_time_p50_s",
        "total_time_p90_s",
        "total_time_p99_s",
        "n_frames",
        "n_inputs",
        "n_runs",
    } <= set(table.columns)
    assert len(table) == sum(len(d.pairs) for d in DEVICES)
    assert (table["n_inputs"] == 6).all() and (table["n_runs"] == 6).all()
    one = frames[(frames["device"] == "server") & (frames["detector"] == "onnx")]
    fps = one.groupby(["video", "resolution"], observed=True)["t_total_s"].agg(
        lambda t: len(t) / t.sum()
    )
    row = table[(table["device"] == "server") & (table["detector"] == "onnx")].iloc[0]
    assert row["fps"] == pytest.approx(fps.mean())
    per_res = tables.per_resolution_table(frames)
    assert len(per_res) == 3 * len(table)


def test_table6_counts_runs_on_a_busy_host(collected):
    frames, _, runs = collected
    assert (tables.table6(frames, runs)["n_busy_runs"] == 0).all()
    one = (runs["device"] == "server") & (runs["detector"] == "onnx")
    runs = runs.assign(busy_warning=np.where(one & (runs["video"] == "video1"), "host busy", ""))
    table = tables.table6(frames, runs).set_index(["device", "detector"], drop=False)
    assert table.loc[("server", "onnx"), "n_busy_runs"] == 3  # video1 at 3 resolutions
    assert table["n_busy_runs"].sum() == 3


def test_energy_table_says_not_measured(collected):
    frames, _, runs = collected
    energy = tables.energy_table(frames, runs).set_index(["device", "detector", "recognizer"])
    assert energy.loc[("jetson", "tf", "tf"), "energy_per_frame_j"] > 0
    assert "not measured" in energy.loc[("server", "tf", "tf"), "note"]


def _paper_like_csv(path: Path) -> Path:
    rows = [
        ("p", "edge", "TF", "TF", 0.4, 0.6, 1.0, 2.4),
        ("p", "edge", "TRT", "TF", 0.4, 0.1, 2.0, 3.0),
        ("p", "edge", "TRT", "TFLite", 0.3, 0.1, 2.5, 3.0),
    ]
    columns = [
        "platform",
        "platform_class",
        "detector",
        "recognizer",
        "avg_recognition_time_s",
        "avg_detection_time_s",
        "avg_fps",
        "avg_num_faces",
    ]
    pd.DataFrame(rows, columns=columns).to_csv(path, index=False)
    return path


def test_paper_vs_ours_ratios(collected, tmp_path):
    frames, _, _ = collected
    comparison = tables.paper_vs_ours(
        _paper_like_csv(tmp_path / "t6.csv"),
        tables.table6(frames),
        tables.per_resolution_table(frames),
    ).set_index(["quantity", "step", "framework"])
    paper = comparison.loc[("detection speed-up over tf", "", "tensorrt")]
    assert paper["paper_mean"] == pytest.approx(6.0) and paper["ours_n"] == 2
    assert comparison.loc[("fps drop", "480->HD", "all"), "paper_mean"] == 2.4
    assert comparison.loc[("fps drop", "HD->FHD", "all"), "ours_mean"] > 1


def test_the_papers_table6_gives_the_papers_numbers():
    """The claims' computations, run on the paper's own Table 6, give the paper's numbers."""
    paper, numbers = tables.read_paper_table6(PAPER_TABLE6), read_paper_claims()
    parts = {c.number: c.table6_parts(paper, numbers) for c in CLAIMS if c.table6_parts}
    fps_lost = parts[12][0].values
    assert fps_lost.min() == pytest.approx(0.046, abs=0.001)
    assert fps_lost.max() == pytest.approx(0.62, abs=0.005)
    assert parts[5][0].values.between(0.51, 0.77).all()
    # tflite over tf recognition time: rtx8000 +66 % minus jetson-agx -25 %
    assert parts[6][0].values["rtx8000 - jetson-agx"] == pytest.approx(0.916, abs=0.005)
    tf_spread, trt_spread, _ = (p.values.iloc[0] for p in parts[7])
    assert tf_spread == pytest.approx(0.0125, abs=0.001) and trt_spread == pytest.approx(
        0.073, abs=0.001
    )


def test_paper_claims_prose_comes_from_their_numbers(tmp_path):
    """claims.yaml: every claim has a source, its text is filled in from its numbers, and a
    broken file is one line naming it."""
    paper = read_paper_claims()
    assert sorted(paper.claims) == [c.number for c in CLAIMS] and paper.equivalence_margin == 0.25
    assert all(c.source and "{" not in c.text + c.paper for c in paper.claims.values())
    assert paper.claims[1].paper == "0.6 % to 1 %"
    assert paper.claims[9].text == "Ubuntu 16.04 is faster than 18.04 on identical hardware."
    edited = PAPER_CLAIMS.read_text().replace("read_share: [0.006, 0.01]", "read_share: [0.5, 2]")
    (tmp_path / "claims.yaml").write_text(edited)
    assert read_paper_claims(tmp_path / "claims.yaml").claims[1].paper == "50 % to 200 %"
    for good, broken, message in (
        (
            "equivalence_margin: 0.25",
            "equivalence_margin: ten",
            "equivalence_margin: 'ten' is not of type 'number'",
        ),
        ("read_share: [0.006, 0.01]", "read_share: [0.006]", "claims/1/values/read_share"),
        ('"{read_share.lo:%} % to', '"{share.lo:%} % to', "claim 1: a template does not fit"),
        ("os_pair:", "os_pair: [", "not a readable YAML file"),
    ):
        (tmp_path / "claims.yaml").write_text(PAPER_CLAIMS.read_text().replace(good, broken))
        with pytest.raises(FacebenchError) as error:
            read_paper_claims(tmp_path / "claims.yaml")
        assert str(error.value).startswith(f"{tmp_path / 'claims.yaml'}: ")
        assert message in str(error.value) and "\n" not in str(error.value)


def test_claims_have_twelve_computed_verdicts(collected):
    frames, _, runs = collected
    claims = check_claims(frames, runs).set_index("claim")
    assert list(claims.index) == list(range(1, 13))
    assert claims["verdict"].isin(VERDICTS).all()
    assert (claims["reason"].str.len() > 0).all()
    # The synthetic devices' designed speeds decide these: the edge device runs 4x slower than
    # the cloud one (3); TensorRT detects 0.012 s/Mpix against TF's 0.08 (4) and embeds 0.01 s
    # a face against TFLite's 0.025 (12); both devices run one OS (9). TensorRT FaceNet runs
    # only behind the TensorRT detector and TF's behind TF's: no ratio of one factor (5).
    designed = {3: "holds", 4: "holds", 12: "holds"}
    assert claims.loc[list(designed), "direction"].to_dict() == designed
    assert claims.loc[[5, 9], "verdict"].eq("not testable here").all()
    assert "(same detector)" in claims.loc[5, "reason"]
    assert "only one OS" in claims.loc[9, "reason"]


def test_every_figure_is_written(collected, synthetic, tmp_path):
    frames, faces, runs = collected
    truth = load_groundtruth(
        synthetic / "resources" / "videos", frames[["video", "resolution"]].drop_duplicates()
    )
    by_config = tables.accuracy_table(run_accuracy(frames, faces, truth, ENROLLED))
    comparison = tables.paper_vs_ours(
        _paper_like_csv(tmp_path / "t6.csv"),
        tables.table6(frames),
        tables.per_resolution_table(frames),
    )
    pair = figures.Pair("device", "jetson", "server")
    paths = figures.all_figures(frames, tmp_path / "figs", runs, by_config, comparison, pair)
    assert len(paths) == 14 and len({p.name for p in paths}) == 14
    for path in paths:
        text = path.read_text()
        assert text.startswith("<?xml") and "</svg>" in text, path
    assert "not measured" not in svg_text(tmp_path / "figs" / "fig15_power.svg")
    assert "no pair" not in svg_text(tmp_path / "figs" / "fig12_pair_fps.svg")


@pytest.fixture
def drawn(monkeypatch) -> list[Figure]:
    """Every matplotlib figure the plotting helpers make and the figures module saves, in
    order."""
    saved: list[Figure] = []

    class Recorded(Figure):
        def savefig(self, *args, **kwargs) -> None:
            saved.append(self)
            super().savefig(*args, **kwargs)

    monkeypatch.setattr(plotting, "Figure", Recorded)
    return saved


def test_power_figures_plot_the_measured_power(collected, drawn, tmp_path):
    """Figures 15 and 16 plot the GPU rail power the synthetic jetson measures (the server
    measures none): one box at its median, one bar per configuration at its mean."""
    frames, _, runs = collected
    figures.fig15_power(frames, tmp_path / "fig15.svg", runs)
    (box,) = drawn[-1].axes[0].containers
    (median,) = box.medians
    expected = frames.loc[frames["device"] == "jetson", "power_w"].median()
    assert median.get_ydata() == pytest.approx([expected, expected], rel=1e-4)
    figures.fig16_power_by_framework(frames, tmp_path / "fig16.svg", runs)
    bars = [c.datavalues[0] for c in drawn[-1].axes[0].containers]
    means = frames.groupby(["device", "detector", "recognizer"], observed=True)["power_w"].mean()
    assert len(means.dropna()) == 4 and sorted(bars) == pytest.approx(sorted(means.dropna()))


def test_absent_measures_give_not_measured_figures(collected, tmp_path):
    frames, _, runs = collected
    nothing = frames.assign(power_w=np.nan, energy_j=np.nan, gpu_mem_used_mb=np.nan)
    for draw in (
        figures.fig15_power,
        figures.fig16_power_by_framework,
        figures.energy_per_frame,
        figures.fig13_memory,
    ):
        text = svg_text(draw(nothing, tmp_path / f"{draw.__name__}.svg", runs))
        assert "not measured: " in text, draw.__name__
    assert "no sensor on this synthetic device" in svg_text(tmp_path / "fig15_power.svg")
    for draw in (figures.fig12_pair_fps, figures.fig14_pair_memory):  # runs.pair: []
        missing = svg_text(draw(frames, tmp_path / f"{draw.__name__}.svg", None, runs))
        assert "no pair configured" in missing, draw.__name__
    setting = figures.Pair("recognizer_threads", "1", "2")  # every run used 2 threads
    text = svg_text(figures.fig14_pair_memory(frames, tmp_path / "mem.svg", setting, runs))
    assert "no run with recognizer_threads = 1" in text


def test_figures_are_reproducible(collected, tmp_path):
    frames, _, _ = collected
    first = figures.fig09_fps_per_resolution(frames, tmp_path / "a.svg").read_bytes()
    assert figures.fig09_fps_per_resolution(frames, tmp_path / "b.svg").read_bytes() == first
