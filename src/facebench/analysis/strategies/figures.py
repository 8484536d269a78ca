"""The strategy comparison's figures (SVG) from the strategy table: latency, uplink against
the measured link capacity, accuracy and achieved FPS; one panel per input (video, resolution),
bars grouped by link, one bar per strategy. An empty table gives each figure a
``not measured: <reason>`` message instead.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from facebench.analysis.plotting import figure, not_measured

WIDE_RANGE = 20  # a log y axis when the largest value is this many times the smallest
PANEL = (6.0, 3.6)
NO_RUNS = "no strategy runs"


def _inputs(table: pd.DataFrame) -> list[tuple[tuple[str, str], pd.DataFrame]]:
    """Each (video, resolution) and its rows, in the table's order."""
    return list(table.groupby(["video", "resolution"], sort=False))


def _bars(ax: Axes, rows: pd.DataFrame, column: str) -> np.ndarray:
    """Bars of ``column`` grouped by link, one per strategy; the x of each row."""
    links, strategies = list(pd.unique(rows["link"])), list(pd.unique(rows["strategy"]))
    width = 0.8 / len(strategies)
    offset = {s: (i - (len(strategies) - 1) / 2) * width for i, s in enumerate(strategies)}
    x = rows["link"].map({link: i for i, link in enumerate(links)}).to_numpy(float)
    x += rows["strategy"].map(offset).to_numpy(float)
    for i, strategy in enumerate(strategies):
        mine = (rows["strategy"] == strategy).to_numpy()
        ax.bar(x[mine], rows.loc[mine, column], width, label=strategy, color=f"C{i}")
    ax.set_xticks(range(len(links)), links)
    ax.set_xlabel("link")
    return x


def _each_input(
    table: pd.DataFrame,
    out: Path,
    title: str,
    reason: str | None,
    draw: Callable[[list[Axes], pd.DataFrame], None],
    nrows: int = 1,
) -> Path:
    """A figure with ``nrows`` panels per input drawn by ``draw`` (panels, rows), or the
    not-measured message when ``table`` is empty."""
    inputs = _inputs(table)
    with figure(out, max(len(inputs), 1), PANEL, nrows if inputs else 1) as axes:
        if not inputs:
            axes[0].set_title(title)
            not_measured(axes[0], {"strategies": reason or NO_RUNS})
            return Path(out)
        for column, ((video, resolution), rows) in enumerate(inputs):
            panels = axes[column :: len(inputs)]
            panels[0].set_title(f"{title}: {video}, {resolution}")
            draw(panels, rows)
        for ax in axes[len(inputs) - 1 :: len(inputs)]:  # the last column
            if ax.get_legend_handles_labels()[0]:
                ax.legend(loc="upper left", bbox_to_anchor=(1, 1), frameon=False)
    return Path(out)


def latency_figure(table: pd.DataFrame, out: Path, reason: str | None = None) -> Path:
    """Bars: p50 latency (capture to identities at the server) per strategy and link, with p90
    and p99 markers; log y when the values span a wide range."""

    def draw(axes: list[Axes], rows: pd.DataFrame) -> None:
        (ax,) = axes
        x = _bars(ax, rows, "latency_p50_ms")
        ax.plot(x, rows["latency_p90_ms"], "v", color="k", label="p90")
        ax.plot(x, rows["latency_p99_ms"], "x", color="k", label="p99")
        values = rows[["latency_p50_ms", "latency_p99_ms"]].to_numpy(float)
        values = values[np.isfinite(values) & (values > 0)]
        wide = values.size and values.max() > WIDE_RANGE * values.min()
        ax.set(yscale="log" if wide else "linear", ylabel="latency (ms), bar: p50")

    return _each_input(table, out, "End-to-end latency", reason, draw)


def bandwidth_figure(table: pd.DataFrame, out: Path, reason: str | None = None) -> Path:
    """Bars (log y): uplink kbit/s per strategy and link, with the link's measured uplink
    capacity as a line over its group."""

    def draw(axes: list[Axes], rows: pd.DataFrame) -> None:
        (ax,) = axes
        _bars(ax, rows, "up_kbit_s")
        capacity = rows.groupby("link", sort=False)["link_up_mbit_measured"].mean() * 1e3
        for i, kbit_s in enumerate(capacity):
            label = "measured link capacity" if i == 0 else None
            ax.hlines(kbit_s, i - 0.45, i + 0.45, colors="k", linestyles="--", label=label)
        ax.set(yscale="log", ylabel="uplink (kbit/s, log scale)")

    return _each_input(table, out, "Uplink traffic", reason, draw)


def accuracy_figure(table: pd.DataFrame, out: Path, reason: str | None = None) -> Path:
    """Bars: identification accuracy (top) and achieved FPS with the capture rate (bottom) per
    strategy and link."""

    def draw(axes: list[Axes], rows: pd.DataFrame) -> None:
        top, bottom = axes
        if rows["identification_accuracy"].notna().any():
            _bars(top, rows, "identification_accuracy")
            top.set(ylim=(0, 1.05), ylabel="identification accuracy")
        else:
            not_measured(top, {"identification accuracy": "no ground truth for this input"})
        x = _bars(bottom, rows, "achieved_fps")
        bottom.plot(x, rows["captured_fps"], "_", color="k", ms=14, label="capture rate")
        bottom.set(ylabel="achieved FPS")

    return _each_input(table, out, "Accuracy and throughput", reason, draw, nrows=2)


FIGURES: dict[str, Callable[[pd.DataFrame, Path, str | None], Path]] = {
    "latency": latency_figure,
    "bandwidth": bandwidth_figure,
    "accuracy": accuracy_figure,
}
