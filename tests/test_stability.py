"""Long-stream stability: windows of video time, per-window recall, accuracy and p50 frame time
on hand-made frames, faces and ground truth, and the drift verdict of each run."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from facebench.analysis.aggregate import CONFIG_COLUMNS, write_parquet
from facebench.analysis.stability import (
    Stability,
    add_window,
    drift_table,
    run_spans,
    window_table,
    write_stability,
)

RUN = {
    "device": "d",
    "device_class": "edge",
    "detector": "tf",
    "recognizer": "tf",
    "video": "v",
    "resolution": "HD",
    "repeat": 1,
}
SETTINGS = Stability(
    window_s=10, max_latency_change=0.1, max_recall_drop=0.05, max_accuracy_drop=0.05
)
ENROLLED = frozenset({"a", "b"})


def frames_of(n_frames: int, warmup: int = 0, **run: object) -> pd.DataFrame:
    """Measured frames ``warmup``..``n_frames - 1`` of one run, 0.1 s each, no face."""
    return pd.DataFrame(
        {"frame": np.arange(warmup, n_frames), "t_total_s": 0.1, "n_faces": 0}
    ).assign(**RUN | run)


def runs_of(fps: float, **run: object) -> pd.DataFrame:
    return pd.DataFrame([RUN | run | {"video_fps": fps}])


@pytest.mark.parametrize(
    ("seconds", "n_windows", "last_window_frame"),
    [(78, 8, 1400), (72, 7, 1200), (130, 13, 2400), (14, 1, 0), (15, 2, 200), (3, 1, 0)],
)
def test_windows_of_video_time_last_one_to_the_end(seconds, n_windows, last_window_frame):
    fps = 20  # 10 s windows of 200 frames; a remainder under 5 s joins the last window
    frames = frames_of(seconds * fps)
    spans = run_spans(frames, runs_of(fps), 10)
    assert spans.loc[0, "duration_s"] == seconds and spans.loc[0, "n_windows"] == n_windows
    window = add_window(frames, spans, 10)["window"].to_numpy()
    assert window.max() == n_windows - 1
    assert frames["frame"][window == n_windows - 1].min() == last_window_frame
    assert (np.diff(window) >= 0).all() and window[0] == 0


def test_window_uses_each_runs_own_fps():
    frames = pd.concat([frames_of(40, video="v"), frames_of(60, video="w")])
    runs = pd.concat([runs_of(2, video="v"), runs_of(3, video="w")])
    windowed = add_window(frames, run_spans(frames, runs, 10), 10)
    for video in ("v", "w"):  # both 20 s long: frames 0-19 (v), 0-29 (w) in window 0
        rows = windowed[windowed["video"] == video]
        assert rows.groupby("window").size().tolist() == [len(rows) // 2] * 2


def hand_made() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """A 2 s run at 10 fps (two 1 s windows), frames 0-1 warm-up, one face of ``a`` per frame.
    Window 0 (frames 2-9): found and named right in each, 0.1 s per frame. Window 1 (frames
    10-19): found in frames 10-14 only, named ``b`` in 10-11, 0.2 s per frame."""
    frames = frames_of(20, warmup=2).assign(n_faces=1)
    frames.loc[frames["frame"] >= 10, "t_total_s"] = 0.2
    frames.loc[frames["frame"] >= 15, "n_faces"] = 0
    truth = pd.DataFrame(
        {"frame": range(20), "identity": "a", "x": 0.0, "y": 0.0, "w": 100.0, "h": 100.0}
    ).assign(detectable=True, video="v", resolution="HD")
    found = [*range(2, 15)]
    faces = truth[truth["frame"].isin(found)].drop(columns=["video", "resolution", "detectable"])
    faces = faces.assign(identity=np.where(faces["frame"].isin([10, 11]), "b", "a"), **RUN)
    return frames, faces, truth


def test_metrics_per_window():
    frames, faces, truth = hand_made()
    spans = run_spans(frames, runs_of(10), 1)
    windows = window_table(frames, faces, truth, ENROLLED, spans, 1).set_index("window")
    assert windows[["start_s", "end_s"]].to_numpy().tolist() == [[0, 1], [1, 2]]
    assert windows["n_frames"].tolist() == [8, 10] and windows["n_faces"].tolist() == [8, 5]
    assert windows["n_truth"].tolist() == [8, 10]
    assert windows["recall"].tolist() == [1.0, 0.5]
    assert windows["identification_accuracy"].tolist() == pytest.approx([1.0, 0.6])
    assert windows["p50_latency_s"].tolist() == pytest.approx([0.1, 0.2])


def windows_of(*rows: tuple[float, float, float], **run: object) -> pd.DataFrame:
    """One run's 10 s windows, each (recall, identification accuracy, p50 frame time)."""
    table = pd.DataFrame(rows, columns=["recall", "identification_accuracy", "p50_latency_s"])
    start = 10.0 * np.arange(len(rows))
    return table.assign(window=range(len(rows)), start_s=start, end_s=start + 10, **RUN | run)


def test_rising_latency_is_drift():
    windows = windows_of((0.9, 0.8, 0.10), (0.9, 0.8, 0.11), (0.9, 0.8, 0.125))
    row = drift_table(windows, SETTINGS).iloc[0]
    assert row["n_windows"] == 3 and row["duration_s"] == 30
    assert row["p50_latency_s_change"] == pytest.approx(0.25)
    assert row["drift"] == "yes"
    assert row["reason"] == "p50 frame time +25.0 % (tolerance ±10 %)"


def test_falling_rates_are_drift_each_named():
    windows = windows_of((0.9, 0.8, 0.1), (0.8, 0.7, 0.1))
    row = drift_table(windows, SETTINGS).iloc[0]
    assert row["drift"] == "yes"
    assert row["reason"] == (
        "recall -10.0 points (tolerance -5); identification accuracy -10.0 points (tolerance -5)"
    )


def test_changes_within_tolerance_are_stable():
    # latency -10 % and recall -5 points: at the tolerance; accuracy rising: never drift
    windows = windows_of((0.9, 0.5, 0.1), (0.2, 0.1, 0.3), (0.85, 0.9, 0.09))
    row = drift_table(windows, SETTINGS).iloc[0]
    assert row[["recall_change", "identification_accuracy_change"]].tolist() == pytest.approx(
        [-0.05, 0.4]
    )
    assert (row["drift"], row["reason"]) == ("no", "")


def test_one_window_is_not_checked_and_runs_are_separate():
    windows = pd.concat(
        [
            windows_of((0.9, 0.8, 0.1), video="short").assign(end_s=3.0),
            windows_of((0.9, 0.8, 0.1), (0.9, 0.8, 0.1), video="long"),
        ]
    )
    drift = drift_table(windows, SETTINGS).set_index("video")
    assert drift.loc["short", "drift"] == "not checked: one window (video 3 s; 2 windows need 15 s)"
    assert drift.loc["short", "n_windows"] == 1 and drift.loc["short", "duration_s"] == 3
    assert drift.loc["long", "drift"] == "no"


def test_written_tables_and_figure(tmp_path):
    frames, faces, truth = hand_made()
    runs = pd.DataFrame([RUN | {"path": str(tmp_path / "runs" / "rep1"), "video_fps": 10.0}])
    write_parquet(frames, faces, tmp_path / "aggregate", runs)
    truth_csv = tmp_path / "videos" / "v" / "HD.groundtruth.csv"
    truth_csv.parent.mkdir(parents=True)
    truth.drop(columns=["video", "resolution"]).assign(min_side_px=100).to_csv(
        truth_csv, index=False
    )
    gallery = tmp_path / "gallery.json"
    gallery.write_text(json.dumps({"enrolled_people": sorted(ENROLLED)}))
    settings = Stability(1, 0.1, 0.05, 0.05)
    written = write_stability(
        tmp_path / "aggregate", tmp_path / "videos", gallery, settings, tmp_path / "out"
    )
    assert sorted(p.name for p in written) == [
        "drift.csv",
        "drift.html",
        "stability.svg",
        "windows.csv",
        "windows.html",
    ]
    drift = pd.read_csv(tmp_path / "out" / "drift.csv")
    assert drift[list(CONFIG_COLUMNS)].astype(str).iloc[0].tolist() == list(map(str, RUN.values()))
    assert drift.loc[0, "drift"] == "yes" and "recall -50.0 points" in drift.loc[0, "reason"]
    assert len(pd.read_csv(tmp_path / "out" / "windows.csv")) == 2
