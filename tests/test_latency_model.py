"""Where the time goes: MTCNN reports its work per frame (stand-in nets, no model files), the
runner logs it, and the latency model recovers known coefficients from synthetic frames."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import svg_text

from facebench.analysis import latency_model as lm
from facebench.analysis.aggregate import collect_runs, read_csv_typed, read_runs, schema_columns
from facebench.analysis.synthetic import Device, write_dataset
from facebench.backends.base import Detections, l2_normalize
from facebench.harness.frame_loop import run_frames
from facebench.recognition.gallery import Gallery
from facebench.recognition.mtcnn import WORK_COUNTS, Mtcnn, MtcnnParams, pyramid_sizes
from facebench.recognition.pipeline import FacePipeline
from facebench.schemas import validate_table

RESOLUTIONS = {"480": [720, 480], "HD": [1280, 720], "FHD": [1920, 1080]}
CONFIG = {"device": "host", "device_class": "edge", "detector": "onnx", "recognizer": "tflite"}
TRUTH = {
    "detect": {"intercept": 0.004, "mpix": 0.03, "n_rnet_in": 2e-5},
    "embed": {"intercept": 0.001, "n_faces": 0.015},
}
OTHER_S = 0.003  # read, align, identify and harness of every synthetic frame


class CountingNets:
    """Stand-in MTCNN nets: P-Net finds a face every 8th cell, R-Net passes every other box,
    O-Net every box; how many boxes R- and O-Net received is recorded."""

    def __init__(self, faces: bool = True) -> None:
        self.faces = faces
        self.calls: dict[str, list[int]] = {"pnet": [], "rnet": [], "onet": []}

    def pnet(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        h, w = ((np.asarray(image.shape[1:3]) - 12) // 2 + 1).tolist()
        probability = np.zeros((1, h, w, 2), np.float32)
        probability[0, ::8, ::8, 1] = 0.9 if self.faces else 0.0
        self.calls["pnet"].append(1)
        return np.zeros((1, h, w, 4), np.float32), probability

    def rnet(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        self.calls["rnet"].append(len(crops))
        face = (np.arange(len(crops)) % 2 == 0).astype(np.float32)
        return np.zeros((len(crops), 4), np.float32), np.stack([1 - face, face], axis=1)

    def onet(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        self.calls["onet"].append(len(crops))
        n = len(crops)
        probability = np.tile(np.float32([0.05, 0.95]), (n, 1))
        return np.zeros((n, 4), np.float32), np.zeros((n, 10), np.float32), probability


class UnreportingDetector:
    """A detector that finds faces but reports no work (as a backend outside our MTCNN)."""

    def detect(self, rgb: np.ndarray, stages: dict | None = None) -> Detections:
        found = Mtcnn(CountingNets()).detect(rgb, stages)
        return Detections(found.boxes, found.scores, found.landmarks)


class ConstantRecognizer:
    def embed(self, faces: np.ndarray) -> np.ndarray:
        return l2_normalize(np.ones((len(faces), 128), np.float32))


def test_mtcnn_detect_reports_its_work() -> None:
    nets = CountingNets()
    rgb = np.zeros((240, 320, 3), np.uint8)
    found = Mtcnn(nets).detect(rgb, {})
    levels = len(pyramid_sizes(240, 320, MtcnnParams()))
    assert found.work == {
        "n_pyramid_levels": levels,
        "n_rnet_in": sum(nets.calls["rnet"]),
        "n_onet_in": sum(nets.calls["onet"]),
    }
    assert len(nets.calls["pnet"]) == levels
    assert 0 < found.work["n_onet_in"] < found.work["n_rnet_in"]  # R-Net rejected some
    assert len(found) <= found.work["n_onet_in"]


def test_mtcnn_without_proposals_reports_zero_boxes() -> None:
    nets = CountingNets(faces=False)
    found = Mtcnn(nets).detect(np.zeros((240, 320, 3), np.uint8))
    assert found.work == {
        "n_pyramid_levels": len(nets.calls["pnet"]),
        "n_rnet_in": 0,
        "n_onet_in": 0,
    }
    assert not nets.calls["rnet"] and not nets.calls["onet"]


def _frames_csv(detector, tmp_path: Path) -> pd.DataFrame:
    """frames.csv of three frames through ``detector``, written and read back as aggregation
    reads it (schema types)."""
    gallery = Gallery(np.array(["a"]), l2_normalize(np.ones((1, 128))), 0.5)
    pipeline = FacePipeline(detector, ConstantRecognizer(), gallery)
    rgb = np.zeros((120, 160, 3), np.uint8)
    frames = run_frames([rgb] * 3, pipeline, warmup_frames=0, progress_every=0).frames
    sensors = schema_columns("frames").required - set(frames.columns)  # not measured here
    frames = frames.assign(**dict.fromkeys(sorted(sensors), np.nan))
    validate_table(frames, "frames", "frames.csv")
    frames.to_csv(tmp_path / "frames.csv", index=False, float_format="%.9g")
    return read_csv_typed(tmp_path / "frames.csv", schema_columns("frames")).to_pandas()


def test_runner_logs_mtcnn_work(tmp_path: Path) -> None:
    frames = _frames_csv(Mtcnn(CountingNets()), tmp_path)
    assert frames[list(WORK_COUNTS)].notna().all().all()
    assert (frames["n_rnet_in"] > frames["n_onet_in"]).all()


def test_a_detector_without_counts_leaves_them_empty(tmp_path: Path) -> None:
    frames = _frames_csv(UnreportingDetector(), tmp_path)
    assert frames[list(WORK_COUNTS)].isna().all().all()  # null, never zero
    assert (frames["n_faces"] > 0).all()


def synthetic_frames(
    n_per_resolution: int = 300, outliers: float = 0.0, seed: int = 1
) -> pd.DataFrame:
    """Frames of one configuration and video at every resolution whose detection and
    recognition times follow TRUTH plus 1 ms noise; a fraction ``outliers`` of the frames
    stalls (detection +50-300 ms)."""
    rng = np.random.default_rng(seed)
    parts = []
    for resolution, (w, h) in RESOLUTIONS.items():
        n = n_per_resolution
        proposals = rng.integers(10, 600, n)
        faces = rng.integers(0, 7, n)
        detect = TRUTH["detect"]
        t_detect = (
            detect["intercept"] + detect["mpix"] * w * h / 1e6 + detect["n_rnet_in"] * proposals
        )
        t_detect += rng.normal(0, 0.001, n) + (rng.random(n) < outliers) * rng.uniform(0.05, 0.3, n)
        t_embed = TRUTH["embed"]["intercept"] + TRUTH["embed"]["n_faces"] * faces
        t_embed += rng.normal(0, 0.001, n)
        parts.append(
            pd.DataFrame(
                {
                    **CONFIG,
                    "video": "video1",
                    "resolution": resolution,
                    "t_detect_s": t_detect,
                    "t_embed_s": t_embed,
                    "t_total_s": t_detect + t_embed + OTHER_S,
                    "n_faces": faces,
                    "n_rnet_in": proposals,
                }
            )
        )
    frames = pd.concat(parts, ignore_index=True)
    return frames.astype({key: "category" for key in [*CONFIG, "video", "resolution"]})


def _fits(frames: pd.DataFrame) -> dict[str, lm.Fit]:
    (fits,) = lm.fit_configurations(lm.content_frames(frames, RESOLUTIONS)).values()
    return {fit.model.phase: fit for fit in fits}


def test_fit_recovers_known_coefficients_despite_stalls() -> None:
    frames = synthetic_frames(outliers=0.02)
    fits = _fits(frames)
    for phase, truth in TRUTH.items():
        fit = fits[phase]
        assert fit.notes == () and fit.n_frames == len(frames)
        for term, value in truth.items():
            assert fit.estimate[term] == pytest.approx(value, rel=0.05), (phase, term)
            assert fit.ci_lo[term] <= value <= fit.ci_hi[term], (phase, term)
    # least squares is pulled by the stalls: its intercept is off by their mean share
    rows = lm.content_frames(frames, RESOLUTIONS)
    x = np.column_stack([np.ones(len(rows)), rows[["mpix", "n_rnet_in"]]])
    ols = np.linalg.lstsq(x, rows["t_detect_s"], rcond=None)[0]
    assert abs(ols[0] - TRUTH["detect"]["intercept"]) > 5 * abs(
        fits["detect"].estimate["intercept"] - TRUTH["detect"]["intercept"]
    )


def test_coefficient_table_has_every_term_with_its_interval() -> None:
    fits = lm.fit_configurations(lm.content_frames(synthetic_frames(100), RESOLUTIONS))
    table = lm.coefficient_table(fits)
    assert list(zip(table["phase"], table["term"], strict=True)) == [
        (phase, term) for phase, terms in TRUTH.items() for term in terms
    ]
    assert (table["ci_lo"] <= table["estimate"]).all()
    assert (table["estimate"] <= table["ci_hi"]).all()
    assert table["r2"].gt(0.9).all() and (table["n_frames"] == 300).all()
    assert (table["note"] == "").all()


def test_predicted_fps_matches_the_measured_fps() -> None:
    frames = lm.content_frames(synthetic_frames(), RESOLUTIONS)
    table = lm.prediction_table(frames, lm.fit_configurations(frames))
    assert sorted(table["resolution"]) == sorted(RESOLUTIONS) and (table["n_frames"] == 300).all()
    assert table["other_time_s"].to_numpy() == pytest.approx(OTHER_S)
    assert table["predicted_fps"].to_numpy() == pytest.approx(table["fps"].to_numpy(), rel=0.01)
    assert table["fps_error"].abs().max() < 0.01 and (table["note"] == "").all()


def test_missing_counts_are_noted_and_pixels_fitted(tmp_path: Path) -> None:
    frames = synthetic_frames().drop(columns="n_rnet_in")  # runs from before the counts
    paths = lm.write_latency_model(frames, RESOLUTIONS, tmp_path)
    assert sorted(p.name for p in paths) == sorted(
        f"{name}{suffix}"
        for name, suffix in [
            ("latency_model", ".csv"),
            ("latency_model", ".html"),
            ("latency_model_fps", ".csv"),
            ("latency_model_fps", ".html"),
            ("latency_model", ".svg"),
        ]
    )
    table = pd.read_csv(tmp_path / "latency_model.csv", keep_default_na=False, na_values=[""])
    detect = table[table["phase"] == "detect"].set_index("term")
    assert np.isnan(detect.loc["n_rnet_in", "estimate"])
    assert detect["note"].str.startswith("not measured: n_rnet_in").all()
    assert detect.loc["mpix", "ci_lo"] > 0  # pixels still explain detection
    fps = pd.read_csv(tmp_path / "latency_model_fps.csv")
    assert fps["predicted_fps"].notna().all()
    assert "not measured: n_rnet_in" in svg_text(tmp_path / "latency_model.svg")


def test_counts_missing_on_some_frames_fit_on_the_rest() -> None:
    frames = synthetic_frames()
    old = frames.index[: len(frames) // 3]
    frames["n_rnet_in"] = frames["n_rnet_in"].astype(float)
    frames.loc[old, "n_rnet_in"] = np.nan
    fit = _fits(frames)["detect"]
    assert fit.n_frames == len(frames) - len(old)
    assert fit.notes == (
        f"n_rnet_in not measured on {len(old)} of {len(frames)} frames "
        f"({lm.ABSENT['n_rnet_in']}): fitted on the others",
    )
    assert fit.estimate["n_rnet_in"] == pytest.approx(TRUTH["detect"]["n_rnet_in"], rel=0.05)


def test_one_resolution_leaves_pixels_unfitted() -> None:
    frames = synthetic_frames()
    fit = _fits(frames[frames["resolution"] == "HD"])["detect"]
    assert set(fit.estimate) == {"intercept", "n_rnet_in"}
    assert fit.notes == ("mpix: not fitted (one value only, or a multiple of the other terms)",)


def test_no_frames_give_a_not_measured_figure(tmp_path: Path) -> None:
    frames = synthetic_frames().iloc[:0]
    lm.write_latency_model(frames, RESOLUTIONS, tmp_path)
    assert pd.read_csv(tmp_path / "latency_model.csv").empty
    assert pd.read_csv(tmp_path / "latency_model_fps.csv").empty
    assert "not measured: latency model: no measured frames" in svg_text(
        tmp_path / "latency_model.svg"
    )


def test_older_synthetic_runs_in_the_real_schema(tmp_path: Path) -> None:
    """Runs written without MTCNN's counts (the schema keeps them valid) aggregate and fit."""
    device = Device("host", "edge", [("onnx", "tflite")])
    device_class = write_dataset(tmp_path, [device], {"video1": 30}, warmup_frames=2, seed=4)
    runs = read_runs(sorted((tmp_path / "results" / "runs").glob("*/*/*/*/run.json")), device_class)
    frames, _ = collect_runs(runs)
    assert frames["n_rnet_in"].isna().all()
    table = lm.coefficient_table(lm.fit_configurations(lm.content_frames(frames, RESOLUTIONS)))
    detect = table[table["phase"] == "detect"]
    assert detect["note"].str.contains("not measured: n_rnet_in").all()
    assert detect.set_index("term").loc["mpix", "estimate"] > 0
