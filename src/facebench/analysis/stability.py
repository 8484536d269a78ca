"""Long-stream stability: detection recall, identification accuracy and p50 frame time per
window of each run's video time (frame index / the video's fps), and a drift flag per run.

A run of a video ``D`` seconds long has ``max(1, round(D / window_s))`` windows of
``window_s`` seconds, the last one running to the end of the video (a remainder shorter than
half a window joins it). Drift compares the run's last window with its first: the p50 frame
time changed by more than ``max_latency_change`` (relative, either way), or recall or
identification accuracy fell by more than ``max_recall_drop`` / ``max_accuracy_drop``
(absolute). A run with one window is ``not checked``. Every frame of a video is processed, so
the windows' content (faces, sizes, people) is the same for every configuration of a video:
a change that every configuration shows at the same time is the video's, not the host's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import seaborn as sns

from facebench.analysis.accuracy import read_enrolled, run_accuracy
from facebench.analysis.aggregate import CONFIG_COLUMNS, load_groundtruth, resolution_order
from facebench.analysis.outputs import write_csv, write_html
from facebench.analysis.plotting import (
    device_config_label,
    figure,
    legend_outside,
    not_measured,
)
from facebench.analysis.stages import Aggregate

RUN = list(CONFIG_COLUMNS)
WINDOW = [*RUN, "window"]
METRICS = {  # column: label
    "recall": "detection recall",
    "identification_accuracy": "identification accuracy",
    "p50_latency_s": "p50 frame time (s)",
}
MIN_WINDOWS = 2
NO_TRUTH = "no ground truth"
PANEL = (5.0, 3.2)


@dataclass(frozen=True)
class Stability:
    """The ``stability`` config section: window length and drift tolerances."""

    window_s: float
    max_latency_change: float
    max_recall_drop: float
    max_accuracy_drop: float


def run_spans(frames: pd.DataFrame, runs: pd.DataFrame, window_s: float) -> pd.DataFrame:
    """One row per run of ``frames``: ``video_fps`` (from ``runs``, one row per run),
    ``duration_s`` ((last frame + 1) / fps) and ``n_windows``."""
    last = frames.groupby(RUN, observed=True)["frame"].max().rename("last_frame").reset_index()
    spans = last.merge(runs[[*RUN, "video_fps"]], on=RUN, how="left")
    spans["duration_s"] = (spans.pop("last_frame") + 1) / spans["video_fps"]
    spans["n_windows"] = np.maximum(1, np.floor(spans["duration_s"] / window_s + 0.5)).astype(int)
    return spans


def add_window(table: pd.DataFrame, spans: pd.DataFrame, window_s: float) -> pd.DataFrame:
    """``table`` (frames or faces) with the ``window`` of each row's frame in its run."""
    span = table[[*RUN, "frame"]].merge(spans, on=RUN, how="left")
    index = np.floor(span["frame"] / (span["video_fps"] * window_s))
    return table.assign(window=np.minimum(index, span["n_windows"] - 1).astype(int).to_numpy())


def window_table(
    frames: pd.DataFrame,
    faces: pd.DataFrame,
    truth: pd.DataFrame,
    enrolled: frozenset[str],
    spans: pd.DataFrame,
    window_s: float,
) -> pd.DataFrame:
    """One row per run and window: video time ``start_s``-``end_s``, measured frames, detected
    faces, ground-truth faces, recall, identification accuracy and p50 frame time."""
    frames, faces = add_window(frames, spans, window_s), add_window(faces, spans, window_s)
    timing = (
        frames.groupby(WINDOW, observed=True)
        .agg(
            n_frames=("frame", "size"),
            n_faces=("n_faces", "sum"),
            p50_latency_s=("t_total_s", "median"),
        )
        .reset_index()
    )
    scores = run_accuracy(frames, faces, truth, enrolled, keys=WINDOW)
    windows = timing.merge(
        scores[[*WINDOW, "n_truth", "recall", "identification_accuracy"]], on=WINDOW, how="left"
    ).merge(spans[[*RUN, "n_windows", "duration_s"]], on=RUN)
    windows["start_s"] = windows["window"] * window_s
    is_last = windows["window"] == windows["n_windows"] - 1
    windows["end_s"] = windows["duration_s"].where(is_last, windows["start_s"] + window_s)
    columns = ["start_s", "end_s", "n_frames", "n_faces", "n_truth", *METRICS]
    return windows[[*WINDOW, *columns]]


def drift_table(windows: pd.DataFrame, settings: Stability) -> pd.DataFrame:
    """One row per run: its windows and duration, each metric in the first and last window and
    its change (relative for p50 frame time, absolute for the rates; rounded to 1e-6, so a
    change at the tolerance is within it), ``drift`` (``yes``, ``no`` or ``not checked:
    <why>``) and ``reason`` (the changes beyond tolerance)."""
    runs = windows.sort_values(WINDOW).groupby(RUN, observed=True)
    columns = [*RUN, "end_s", *METRICS]
    table = (
        runs.size()
        .rename("n_windows")
        .reset_index()
        .merge(runs.head(1)[columns], on=RUN)
        .merge(runs.tail(1)[columns], on=RUN, suffixes=("_first", "_last"))
        .rename(columns={"end_s_last": "duration_s"})
    )
    for metric in METRICS:
        first, last = table[f"{metric}_first"], table[f"{metric}_last"]
        change = last / first - 1 if metric == "p50_latency_s" else last - first
        table[f"{metric}_change"] = change.round(6)
    verdicts = [_verdict(row, settings) for _, row in table.iterrows()]
    table["drift"] = [drift for drift, _ in verdicts]
    table["reason"] = [reason for _, reason in verdicts]
    per_metric = [f"{m}_{end}" for m in METRICS for end in ("first", "last", "change")]
    return table[[*RUN, "n_windows", "duration_s", *per_metric, "drift", "reason"]]


def _verdict(run: pd.Series, settings: Stability) -> tuple[str, str]:
    """(``yes``/``no``/``not checked: <why>``, the changes beyond tolerance) of one run."""
    if run["n_windows"] < MIN_WINDOWS:
        need = (MIN_WINDOWS - 0.5) * settings.window_s
        return (
            f"not checked: one window (video {run['duration_s']:.3g} s; "
            f"{MIN_WINDOWS} windows need {need:g} s)",
            "",
        )
    latency, recall = run["p50_latency_s_change"], run["recall_change"]
    accuracy = run["identification_accuracy_change"]
    checks = (
        (
            f"p50 frame time {100 * latency:+.1f} % "
            f"(tolerance ±{100 * settings.max_latency_change:g} %)",
            abs(latency) > settings.max_latency_change,
        ),
        (
            f"recall {100 * recall:+.1f} points (tolerance -{100 * settings.max_recall_drop:g})",
            recall < -settings.max_recall_drop,
        ),
        (
            f"identification accuracy {100 * accuracy:+.1f} points "
            f"(tolerance -{100 * settings.max_accuracy_drop:g})",
            accuracy < -settings.max_accuracy_drop,
        ),
    )
    beyond = [text for text, exceeded in checks if exceeded]
    return ("yes" if beyond else "no"), "; ".join(beyond)


def stability_figure(windows: pd.DataFrame, out: Path) -> Path:
    """Recall, identification accuracy and p50 frame time per window against video time (the
    window's middle): a panel per metric, a row per resolution, a line per device · detector/
    recognizer (mean over repeats), a marker per video."""
    data = windows.assign(
        config=device_config_label(windows), time_s=(windows["start_s"] + windows["end_s"]) / 2
    )
    order = sorted(data["config"].unique())
    resolutions = resolution_order(data["resolution"].astype(str).unique())
    with figure(out, len(METRICS), PANEL, len(resolutions)) as axes:
        legend_ax = axes[len(METRICS) - 1]
        panels = [(r, m) for r in resolutions for m in METRICS]
        for ax, (resolution, metric) in zip(axes, panels, strict=True):
            rows = data[data["resolution"].astype(str) == resolution].dropna(subset=[metric])
            ax.set_title(f"{METRICS[metric]}, {resolution}")
            if rows.empty:
                not_measured(ax, {METRICS[metric]: NO_TRUTH})
                continue
            sns.lineplot(
                rows,
                x="time_s",
                y=metric,
                hue="config",
                hue_order=order,
                style="video",
                markers=True,
                dashes=False,
                errorbar=None,
                legend=ax is legend_ax,
                ax=ax,
            )
            ax.set(xlabel="video time (s, window middle)", ylabel=METRICS[metric])
        legend_outside(legend_ax)
    return Path(out)


def write_stability(
    aggregate_dir: Path,
    groundtruth_dir: Path,
    gallery_json: Path,
    settings: Stability,
    out_dir: Path,
) -> list[Path]:
    """``windows`` and ``drift`` tables (CSV and HTML) and ``stability.svg`` into ``out_dir``,
    from the aggregate, the ground truth and the gallery's enrolled people."""
    out_dir = Path(out_dir)
    data = Aggregate.read(aggregate_dir)
    truth = load_groundtruth(
        groundtruth_dir, data.frames[["video", "resolution"]].drop_duplicates()
    )
    spans = run_spans(data.frames, data.runs, settings.window_s)
    windows = window_table(
        data.frames, data.faces, truth, read_enrolled(gallery_json), spans, settings.window_s
    )
    written = []
    for name, table in (("windows", windows), ("drift", drift_table(windows, settings))):
        written += [
            write_csv(table, out_dir / f"{name}.csv"),
            write_html(table, out_dir / f"{name}.html", f"stability: {name}"),
        ]
    return [*written, stability_figure(windows, out_dir / "stability.svg")]
