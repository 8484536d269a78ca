"""The serving experiment's figures (SVG) from the point table: throughput against cameras,
latency against throughput (the knee) and the server's p50 time split; one line or bar per
server setting (recognizer, max_batch, max_queue_delay_ms), the no-op harness check in black. An
empty table gives each figure a ``not measured: <reason>`` message instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from facebench.analysis.plotting import figure, legend_outside, not_measured
from facebench.analysis.serving.reader import CAMERAS, NOOP, RUN_KEYS

PANEL = (6.0, 3.8)
WIDE = (8.0, 4.2)  # a figure of one panel and a legend beside it
NO_RUNS = "no serving runs"
PARTS = {"queue_p50_ms": "queue", "assembly_p50_ms": "assembly", "compute_p50_ms": "compute"}


def _settings(points: pd.DataFrame) -> Iterator[tuple[str, dict, pd.DataFrame]]:
    """Each server setting's label, line style and rows, in the table's order."""
    for i, ((recognizer, max_batch, delay_ms), rows) in enumerate(
        points.groupby(list(RUN_KEYS), sort=False)
    ):
        noop = recognizer == NOOP
        label = f"{recognizer} b{max_batch} d{delay_ms:g} ms" + (" (no network)" if noop else "")
        style = {"color": "k", "linestyle": "--"} if noop else {"color": f"C{i}"}
        yield label, style, rows


def _absent(ax: Axes, title: str, points: pd.DataFrame, reason: str | None, what: str) -> None:
    ax.set_title(title)
    not_measured(ax, {"serving": reason or (NO_RUNS if points.empty else f"no {what}")})


def throughput_figure(points: pd.DataFrame, out: Path, reason: str | None = None) -> Path:
    """Achieved frames/s (left) and faces/s (right) against the number of paced cameras, one
    line per setting, with the offered load."""
    cameras = points[points["mode"].eq(CAMERAS)]
    title = "Throughput against cameras"
    with figure(out, 2 if len(cameras) else 1, PANEL) as axes:
        if cameras.empty:
            _absent(axes[0], title, points, reason, "camera points")
            return Path(out)
        offered = cameras.groupby("cameras")["offered_per_s"].median()
        axes[0].plot(offered.index, offered, ":", color="0.5", label="offered")
        for label, style, rows in _settings(cameras):
            rows = rows.sort_values("cameras")
            for ax, column in zip(axes, ("frames_per_s", "faces_per_s"), strict=True):
                ax.plot(rows["cameras"], rows[column], marker="o", label=label, **style)
        ticks = sorted(cameras["cameras"].unique())
        for ax, unit in zip(axes, ("frames", "faces embedded"), strict=True):
            ax.set(xscale="log", xlabel="paced cameras", ylabel=f"{unit} per second")
            ax.set_xticks(ticks, [f"{c:g}" for c in ticks])
            ax.minorticks_off()
        axes[0].set_title(title)
        axes[1].legend()
        legend_outside(axes[1])
    return Path(out)


def latency_throughput_figure(points: pd.DataFrame, out: Path, reason: str | None = None) -> Path:
    """p99 (solid) and p50 (dotted) latency against achieved faces/s (frames/s when no run
    embedded a face) over every point of each setting, both log scale: the knee."""
    answered = points.dropna(subset=["latency_p99_ms"])
    title = "Latency against throughput"
    with figure(out, 1, WIDE) as (ax,):
        if answered.empty:
            _absent(ax, title, points, reason, "answered requests")
            return Path(out)
        rate = "faces_per_s" if answered["faces_per_s"].gt(0).any() else "frames_per_s"
        for label, style, rows in _settings(answered):
            rows = rows.sort_values(rate)
            ax.plot(rows[rate], rows["latency_p99_ms"], marker="o", label=label, **style)
            p50 = {**style, "linestyle": ":"}
            ax.plot(rows[rate], rows["latency_p50_ms"], marker=".", **p50)
        ax.plot([], [], "k:", marker=".", label="p50 (dotted)")
        ax.set(
            title=title,
            xscale="log",
            yscale="log",
            xlabel=rate.replace("_per_s", " per second") + " (log scale)",
            ylabel="latency (ms, log scale), p99 solid",
        )
        ax.legend()
        legend_outside(ax)
    return Path(out)


def breakdown_figure(points: pd.DataFrame, out: Path, reason: str | None = None) -> Path:
    """Stacked horizontal bars: p50 queue wait, batch assembly and compute per setting at its
    largest camera count."""
    cameras = points[points["mode"].eq(CAMERAS)]
    title = "Server time per request (p50 of each part)"
    largest = cameras.loc[cameras.groupby(list(RUN_KEYS), sort=False)["cameras"].idxmax()]
    settings = list(_settings(largest))  # one row each
    with figure(out, 1, (WIDE[0], 1.2 + 0.45 * len(settings))) as (ax,):
        if not settings:
            _absent(ax, title, points, reason, "camera points")
            return Path(out)
        y = np.arange(len(settings))
        left = np.zeros(len(settings))
        for i, (column, part) in enumerate(PARTS.items()):
            width = largest[column].fillna(0).to_numpy()
            ax.barh(y, width, 0.6, left=left, label=part, color=f"C{i}")
            left += width
        labels = [f"{label}, {rows['cameras'].iloc[0]:g} cameras" for label, _, rows in settings]
        ax.set_yticks(y, labels)
        ax.invert_yaxis()
        ax.set(title=title, xlabel="milliseconds")
        ax.legend()
        legend_outside(ax)
    return Path(out)


FIGURES: dict[str, Callable[[pd.DataFrame, Path, str | None], Path]] = {
    "throughput": throughput_figure,
    "latency": latency_throughput_figure,
    "breakdown": breakdown_figure,
}
