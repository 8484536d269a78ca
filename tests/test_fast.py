"""The fast preset against the baseline: speed, rates and boxes on hand-made frames and faces
whose answers are worked out by hand (no models, no workflow)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import REPO_ROOT
from helpers import svg_text

from facebench.analysis.fast import figures, reader, summary
from facebench.analysis.stages import Aggregate
from facebench.errors import FacebenchError

PAPER_TABLE6 = REPO_ROOT / "resources" / "paper" / "table6_reconstructed.csv"
BASELINE = {"device": "local", "detector": "openvino", "recognizer": "tflite"}
PRESET = {"device": "local-fast", "detector": "openvino", "recognizer": "tflite"}
ENROLLED = frozenset({"ann", "bob"})
ANN, BOB = (0, 0, 100, 100, "ann"), (200, 0, 100, 100, "bob")
TWO_FACES = [[ANN, BOB]] * 4  # four frames, both people in each
SETTINGS = {
    "device": PRESET["device"],
    "baseline": BASELINE,
    "max_accuracy_drop": 0.01,
    "min_box_iou": 0.95,
    "paper": {"platform": "rtx2080ti-ub16", "detector": "TRT", "recognizer": "TFLite"},
}

Box = tuple[float, float, float, float, str]


def run(
    config: dict, video: str, resolution: str, boxes: list[list[Box]], seconds: float, repeat=1
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Frames and faces of one run: ``boxes`` (x, y, w, h, identity) per frame, each frame
    taking ``seconds``."""
    keys = {**config, "video": video, "resolution": resolution, "repeat": repeat}
    frames = pd.DataFrame(
        {
            "frame": range(len(boxes)),
            "t_total_s": seconds,
            "n_faces": [len(b) for b in boxes],
        }
    ).assign(**keys)
    faces = pd.DataFrame(
        [(i, *box[:4], 0.99, box[4]) for i, frame in enumerate(boxes) for box in frame],
        columns=["frame", "x", "y", "w", "h", "score", "identity"],
    ).assign(**keys)
    return frames, faces


def truth_of(video: str, resolution: str, boxes: list[list[Box]]) -> pd.DataFrame:
    """Ground truth in load_groundtruth's columns: ``boxes`` per frame, all detectable."""
    return pd.DataFrame(
        [
            (i, who, x, y, w, h, min(w, h), True)
            for i, frame in enumerate(boxes)
            for x, y, w, h, who in frame
        ],
        columns=["frame", "identity", "x", "y", "w", "h", "min_side_px", "detectable"],
    ).assign(video=video, resolution=resolution)


def combined(*runs: tuple[pd.DataFrame, pd.DataFrame]) -> tuple[pd.DataFrame, pd.DataFrame]:
    return (
        pd.concat([r[0] for r in runs], ignore_index=True),
        pd.concat([r[1] for r in runs], ignore_index=True),
    )


def compare(frames: pd.DataFrame, faces: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    return summary.preset_comparison(
        frames, faces, truth, ENROLLED, BASELINE, PRESET["device"], 0.01, 0.95
    )


def shifted(box: Box, dx: float) -> Box:
    return (box[0] + dx, *box[1:])


def test_identical_answers_twice_as_fast():
    runs = [
        run(config, "v1", resolution, TWO_FACES, seconds)
        for config, seconds in ((BASELINE, 0.1), (PRESET, 0.05))
        for resolution in ("FHD", "HD")
    ]
    truth = pd.concat([truth_of("v1", r, TWO_FACES) for r in ("FHD", "HD")], ignore_index=True)
    table = compare(*combined(*runs), truth)
    assert tuple(table.columns) == reader.COMPARISON_COLUMNS
    assert list(zip(table["video"], table["resolution"], strict=True)) == [
        ("v1", "HD"),
        ("v1", "FHD"),
        ("all", "all"),
    ]
    assert table["baseline"].eq("local openvino/tflite").all()
    assert table["speedup"].to_numpy() == pytest.approx([2.0] * 3)
    assert table["fps_fast"].to_numpy() == pytest.approx([20.0] * 3)
    assert table["faces_per_frame_fast"].to_numpy() == pytest.approx([2.0] * 3)
    assert table["n_frames"].tolist() == [4, 4, 8]
    assert table["max_drop_points"].tolist() == [0.0] * 3
    assert table["precision_fast"].tolist() == [1.0] * 3
    assert table["n_matched_boxes"].tolist() == [8, 8, 16]
    assert table["mean_box_iou"].to_numpy() == pytest.approx([1.0] * 3)
    assert table[["unmatched_baseline", "unmatched_fast"]].to_numpy().sum() == 0
    assert table["accuracy_held"].all() and table["boxes_same"].all()


def test_missed_and_shifted_faces_lose_accuracy_and_boxes():
    # preset: bob missed in frames 0 and 1; ann 20 px to the right in frames 2 and 3 (IoU 2/3
    # with the baseline's and the truth's box); bob named "unknown" in frame 3
    preset = [[ANN], [ANN], [shifted(ANN, 20), BOB], [shifted(ANN, 20), (*BOB[:4], "unknown")]]
    runs = [run(BASELINE, "v1", "HD", TWO_FACES, 0.1), run(PRESET, "v1", "HD", preset, 0.05)]
    table = compare(*combined(*runs), truth_of("v1", "HD", TWO_FACES))
    pooled = table.iloc[-1]
    assert (pooled.precision_baseline, pooled.recall_baseline, pooled.accuracy_baseline) == (
        1.0,
        1.0,
        1.0,
    )
    assert pooled.precision_fast == 1.0 and pooled.recall_fast == pytest.approx(6 / 8)
    assert pooled.accuracy_fast == pytest.approx(5 / 6)
    assert pooled.max_drop_points == pytest.approx(25.0)  # recall: 100 % -> 75 %
    assert pooled.n_matched_boxes == 6
    assert pooled.mean_box_iou == pytest.approx((4 + 2 * 2 / 3) / 6)
    assert pooled.p5_box_iou == pytest.approx(2 / 3)
    assert (pooled.unmatched_baseline, pooled.unmatched_fast) == (2, 0)
    assert not pooled.accuracy_held and not pooled.boxes_same


def test_slightly_shifted_boxes_keep_the_accuracy_but_not_the_boxes():
    # every preset box 5 px to the right: IoU 95 x 100 / (2 x 100 x 100 - 95 x 100) = 0.905
    preset = [[shifted(box, 5) for box in frame] for frame in TWO_FACES]
    runs = [run(BASELINE, "v1", "HD", TWO_FACES, 0.1), run(PRESET, "v1", "HD", preset, 0.1)]
    pooled = compare(*combined(*runs), truth_of("v1", "HD", TWO_FACES)).iloc[-1]
    assert pooled.max_drop_points == 0.0 and pooled.accuracy_held
    assert pooled.mean_box_iou == pytest.approx(9500 / 10500)
    assert pooled.n_matched_boxes == 8 and not pooled.boxes_same


def test_nothing_matched_gives_nan_not_zero():
    # preset: no face in frames 0 and 1, both 80 px to the right in frames 2 and 3 (IoU 1/9)
    far = [shifted(ANN, 80), shifted(BOB, 80)]
    preset = [[], [], far, far]
    runs = [run(BASELINE, "v1", "HD", TWO_FACES, 0.1), run(PRESET, "v1", "HD", preset, 0.1)]
    pooled = compare(*combined(*runs), truth_of("v1", "HD", TWO_FACES)).iloc[-1]
    assert pooled.n_matched_boxes == 0
    assert (pooled.unmatched_baseline, pooled.unmatched_fast) == (8, 4)
    assert np.isnan(pooled.mean_box_iou) and np.isnan(pooled.p5_box_iou)
    assert not pooled.boxes_same


def test_boxes_are_compared_on_the_frames_both_measured():
    # the preset measured two frames more (4 and 5): their faces have nothing to be matched with
    runs = [run(BASELINE, "v1", "HD", TWO_FACES, 0.1), run(PRESET, "v1", "HD", TWO_FACES * 2, 0.1)]
    pooled = compare(*combined(*runs), truth_of("v1", "HD", TWO_FACES)).iloc[-1]
    assert pooled.n_matched_boxes == 8
    assert (pooled.unmatched_baseline, pooled.unmatched_fast) == (0, 0)


def test_pooled_fps_is_the_mean_of_the_inputs_fps():
    # baseline: 10 FPS on HD, 2 FPS on FHD; preset: HD repeats at 20 and 10 FPS (15), FHD at 8;
    # the preset's second HD repeat has ann 5 px to the right (its boxes are not compared)
    runs = [
        run(BASELINE, "v1", "HD", TWO_FACES, 0.1),
        run(BASELINE, "v1", "FHD", TWO_FACES[:2], 0.5),
        run(PRESET, "v1", "HD", TWO_FACES, 0.05),
        run(PRESET, "v1", "HD", [[shifted(ANN, 5), BOB]] * 4, 0.1, repeat=2),
        run(PRESET, "v1", "FHD", TWO_FACES[:2], 0.125),
    ]
    truth = pd.concat(
        [truth_of("v1", "HD", TWO_FACES), truth_of("v1", "FHD", TWO_FACES[:2])], ignore_index=True
    )
    table = compare(*combined(*runs), truth)
    assert table["fps_fast"].to_numpy() == pytest.approx([15.0, 8.0, 11.5])
    assert table["fps_baseline"].to_numpy() == pytest.approx([10.0, 2.0, 6.0])
    assert table["speedup"].iloc[-1] == pytest.approx(11.5 / 6.0)
    assert table["n_frames"].tolist() == [8, 2, 10]
    assert table["mean_box_iou"].tolist() == [1.0, 1.0, 1.0]  # boxes of the first repeats
    assert table["fps_fast"].iloc[-1] != pytest.approx(10 / (0.2 + 0.4 + 0.25))


@pytest.mark.parametrize("missing", ["baseline", "preset"])
def test_a_side_without_runs_is_an_error(missing):
    config = BASELINE if missing == "preset" else PRESET
    frames, faces = run(config, "v1", "HD", TWO_FACES, 0.1)
    with pytest.raises(summary.NothingToCompare, match=f"the {missing} .* has no runs"):
        compare(frames, faces, truth_of("v1", "HD", TWO_FACES))


def test_nothing_to_compare_writes_not_measured(tmp_path):
    paths = summary.not_compared("fast comparison: the baseline has no runs", tmp_path)
    assert pd.read_csv(paths[0]).empty
    assert "not measured" in paths[1].read_text() and "baseline has no runs" in svg_text(paths[2])


def test_paper_fps_reads_the_papers_table6():
    assert reader.paper_fps(PAPER_TABLE6, "rtx2080ti-ub16", "TRT", "TFLite") == (18.48, 3.31)
    with pytest.raises(FacebenchError, match=r"table6_reconstructed\.csv"):
        reader.paper_fps(PAPER_TABLE6, "rtx2080ti-ub16", "TRT", "ONNX")


def test_comparison_figure_draws_the_papers_line(tmp_path):
    runs = [run(BASELINE, "v1", "HD", TWO_FACES, 0.1), run(PRESET, "v1", "HD", TWO_FACES, 0.05)]
    table = compare(*combined(*runs), truth_of("v1", "HD", TWO_FACES))
    out = figures.comparison_figure(table, (18.48, 3.31), "paper rtx2080ti", tmp_path / "c.svg")
    text = svg_text(out)
    assert "paper rtx2080ti: 18.48 FPS, 3.31 faces/frame" in text
    assert "v1 HD" in text and "local-fast openvino/tflite" in text


def test_write_fast_comparison_writes_and_prints(tmp_path, capsys):
    runs = [run(BASELINE, "v1", "HD", TWO_FACES, 0.1), run(PRESET, "v1", "HD", TWO_FACES, 0.05)]
    frames, faces = combined(*runs)
    truth = truth_of("v1", "HD", TWO_FACES).drop(columns=["video", "resolution"])
    (tmp_path / "videos" / "v1").mkdir(parents=True)
    truth.to_csv(tmp_path / "videos" / "v1" / "HD.groundtruth.csv", index=False)
    paths = summary.write_fast_comparison(
        Aggregate(frames, faces, pd.DataFrame()),
        tmp_path / "videos",
        ENROLLED,
        SETTINGS,
        PAPER_TABLE6,
        tmp_path / "out",
    )
    assert [p.name for p in paths] == ["comparison.csv", "comparison.html", "comparison.svg"]
    assert all(p.stat().st_size > 0 for p in paths)
    assert pd.read_csv(paths[0])["precision_fast"].tolist() == [1.0, 1.0]
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 and "10.00 -> 20.00 FPS (x2.00)" in lines[0]
    assert "accuracy held, boxes the same" in lines[0]


def test_the_ci_run_compares_its_fast_preset_with_the_baseline(workflow_dir, tabulated_runs):
    """The workflow's comparison: a row per input both sides kept and the pooled row, speeds
    and frame counts as the aggregated frames give them, the preset's runs recording the
    settings that make it fast."""
    config = yaml.safe_load((workflow_dir / "config.yaml").read_text())
    settings, results = config["fast"], workflow_dir / "results"
    table = pd.read_csv(results / "fast" / "comparison.csv", dtype={"resolution": str})
    sides = {"fast": {"device": settings["device"]}, "baseline": settings["baseline"]}
    kept = {}
    for side, selected in sides.items():
        runs = tabulated_runs[(tabulated_runs[list(selected)] == pd.Series(selected)).all(axis=1)]
        kept[side] = set(zip(runs["video"], runs["resolution"], strict=True))
    inputs = len(kept["fast"] & kept["baseline"])
    assert list(table.columns) == list(reader.COMPARISON_COLUMNS)
    preset = config["runs"]["devices"][settings["device"]]
    assert len(preset["detectors"]) == 1 and set(table.device) == {settings["device"]}
    assert table.recognizer.value_counts().to_dict() == dict.fromkeys(
        preset["recognizers"], inputs + 1
    )
    table = table[table.recognizer == preset["recognizers"][0]]
    pooled = table.iloc[-1]
    assert (pooled.video, pooled.resolution) == ("all", "all")
    assert pooled.fps_fast == pytest.approx(table.fps_fast.iloc[:-1].mean(), rel=1e-5)
    assert pooled.n_matched_boxes > 0 and 0.5 <= pooled.mean_box_iou <= 1
    frames = pd.read_parquet(results / "aggregate" / "frames.parquet")
    frames = frames.astype({c: str for c in ("device", "detector", "recognizer", "video")})
    frames["resolution"] = frames["resolution"].astype(str)
    for row in table.iloc[:-1].itertuples():  # per input: the measured frames' count and rate
        for side, selected in sides.items():
            mine = frames[
                (frames[list(selected)] == pd.Series(selected)).all(axis=1)
                & (frames["video"] == row.video)
                & (frames["resolution"] == row.resolution)
            ]
            per_repeat = mine.groupby("repeat")["t_total_s"].agg(["size", "sum"])
            assert getattr(row, f"fps_{side}") == pytest.approx(
                (per_repeat["size"] / per_repeat["sum"]).mean(), rel=1e-5
            ), (side, row.video, row.resolution)  # the mean of each repeat's FPS
            if side == "fast":
                assert row.n_frames == len(mine)
    assert pooled.n_frames == table.n_frames.iloc[:-1].sum()
    speedups = (table.fps_fast / table.fps_baseline).tolist()
    assert table.speedup.tolist() == pytest.approx(speedups, rel=1e-5)  # 6 digits in the CSV
    for path in (results / "runs" / settings["device"]).glob("*/*/rep*/run.json"):
        meta = json.loads(path.read_text())
        assert meta["config"]["pyramid_resize"] == preset["pyramid_resize"] == "halving"
        assert meta["config"]["batching"] == preset["batching"] == "per_frame"
        assert meta["detector_backend"]["static_shapes"] is True
    assert "paper rtx2080ti-ub16 TRT/TFLite" in svg_text(results / "fast" / "comparison.svg")


def test_a_rate_that_rises_is_shown_but_not_held_against_the_preset():
    """The baseline misses bob in two frames, the preset finds him: recall rises 25 points,
    nothing falls, so accuracy is held (the rise shows in the recall columns)."""
    baseline = [[ANN], [ANN], [ANN, BOB], [ANN, BOB]]
    runs = [run(BASELINE, "v1", "HD", baseline, 0.1), run(PRESET, "v1", "HD", TWO_FACES, 0.1)]
    pooled = compare(*combined(*runs), truth_of("v1", "HD", TWO_FACES)).iloc[-1]
    assert (pooled.recall_baseline, pooled.recall_fast) == (pytest.approx(6 / 8), 1.0)
    assert pooled.max_drop_points == 0.0 and pooled.accuracy_held
    assert (pooled.unmatched_baseline, pooled.unmatched_fast) == (0, 2)
