"""The fast-preset comparison's figure (SVG): FPS per input beside the paper's, and the rates
pooled over the inputs, baseline and preset side by side."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.container import BarContainer

from facebench.analysis.fast.reader import MEAN_LABEL, PAIR, POOLED, RATES, config_label
from facebench.analysis.plotting import figure


def _grouped_bars(
    ax: Axes, groups: Sequence[str], series: Sequence[tuple[str, Sequence[float]]]
) -> list[BarContainer]:
    """One bar per series in each group, side by side, the groups named on the x axis."""
    x = np.arange(len(groups))
    width = 0.8 / len(series)
    bars = [
        ax.bar(x + (k - (len(series) - 1) / 2) * width, values, width, label=name)
        for k, (name, values) in enumerate(series)
    ]
    ax.set_xticks(x, groups, rotation=30, ha="right", rotation_mode="anchor")
    return bars


def _preset_rows(table: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """The label and rows of each preset pair of ``table``."""
    return [
        (config_label(rows["device"].iloc[0], *key), rows)
        for key, rows in table.groupby(PAIR, sort=False)
    ]


def _fps_panel(ax: Axes, table: pd.DataFrame, paper: tuple[float, float], label: str) -> None:
    """FPS per input and their mean, baseline and preset side by side, the preset's faces per
    frame above its bars, the paper's FPS as a dashed line."""
    names = table["video"] + " " + table["resolution"]
    table = table.assign(group=names.where(table["video"] != POOLED, MEAN_LABEL))
    groups = [*dict.fromkeys(g for g in table["group"] if g != MEAN_LABEL), MEAN_LABEL]
    baseline = table.drop_duplicates("group").set_index("group").reindex(groups)
    presets = [
        (name, rows.set_index("group").reindex(groups)) for name, rows in _preset_rows(table)
    ]
    series = [(table["baseline"].iloc[0], baseline["fps_baseline"])]
    series += [(name, rows["fps_fast"]) for name, rows in presets]
    bars = _grouped_bars(ax, groups, series)
    for container, (_, rows) in zip(bars[1:], presets, strict=True):
        faces = [f"{v:.2f}" if pd.notna(v) else "" for v in rows["faces_per_frame_fast"]]
        ax.bar_label(container, faces, fontsize="x-small")
    fps, faces_per_frame = paper
    ax.axhline(
        fps, color="k", ls="--", label=f"{label}: {fps:g} FPS, {faces_per_frame:g} faces/frame"
    )
    ax.set(ylabel="frames per second", title="(a) FPS per input (preset: faces per frame above)")
    ax.margins(y=0.4)  # room for the legend above the bars
    ax.legend(fontsize="small", loc="upper left")


def _rates_panel(ax: Axes, pooled: pd.DataFrame) -> None:
    """Precision, recall and identification accuracy (per frame and per track) pooled over the
    inputs, baseline and preset side by side."""
    baseline = pooled.iloc[0]
    series = [(baseline["baseline"], [baseline[f"{r}_baseline"] for r in RATES])]
    series += [
        (name, [rows[f"{r}_fast"].iloc[0] for r in RATES]) for name, rows in _preset_rows(pooled)
    ]
    names = ["precision", "recall", "identification\nper frame", "identification\nper track"]
    for container in _grouped_bars(ax, names, series):
        ax.bar_label(container, fmt="%.3f", fontsize="x-small")
    ax.set(ylim=(0, 1.4), title="(b) against the ground truth, pooled over the inputs")
    ax.legend(fontsize="small", loc="upper left")


def comparison_figure(
    table: pd.DataFrame, paper: tuple[float, float], paper_label: str, path: Path
) -> Path:
    """FPS per input beside the paper's (``paper``: its FPS and faces per frame, drawn as
    ``paper_label``) and the pooled rates, baseline vs preset, as an SVG at ``path``."""
    presets = ", ".join(name for name, _ in _preset_rows(table))
    with figure(path, 2, (6.5, 4.5)) as (speed_ax, rates_ax):
        _fps_panel(speed_ax, table, paper, paper_label)
        _rates_panel(rates_ax, table[table["video"] == POOLED])
        speed_ax.figure.suptitle(f"fast preset {presets} vs {table['baseline'].iloc[0]}")
    return Path(path)
