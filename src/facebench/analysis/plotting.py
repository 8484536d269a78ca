"""What every figure of the analysis shares: a figure saved as SVG with no date (reruns on the
same data give the same bytes, text stays text), a panel saying ``not measured: <reason>``, the
legend beside the axes and the labels of a configuration.

Figures are built on ``matplotlib.figure.Figure`` objects (no pyplot state, nothing to close)
and drawn with seaborn's axes-level functions.
"""

from __future__ import annotations

import contextlib
import textwrap
import warnings
from collections.abc import Iterator
from pathlib import Path

import matplotlib as mpl
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from facebench.fileio import atomic_path

RC = {"svg.fonttype": "none", "svg.hashsalt": "facebench", "axes.titlesize": "medium"}
NOT_MEASURED = "not measured:"


@contextlib.contextmanager
def figure(
    out: Path, ncols: int = 1, size: tuple[float, float] = (7, 4), nrows: int = 1
) -> Iterator[list[Axes]]:
    """A figure of ``nrows`` x ``ncols`` panels of ``size`` inches (listed row by row), saved
    to ``out`` (SVG, atomically) when the block ends."""
    with mpl.rc_context(RC), sns.axes_style("whitegrid"), warnings.catch_warnings():
        # seaborn 0.13.2's boxplot still passes matplotlib's deprecated `vert` argument
        warnings.filterwarnings("ignore", message="vert: bool was deprecated")
        fig = Figure(figsize=(size[0] * ncols, size[1] * nrows), layout="constrained")
        axes = list(np.ravel(fig.subplots(nrows, ncols, squeeze=False)))
        yield axes
        with atomic_path(Path(out)) as tmp:
            fig.savefig(tmp, format="svg", metadata={"Date": None})


def message(ax: Axes, text: str) -> None:
    """Write ``text`` across an empty panel (a measure that is absent, a missing pair)."""
    ax.set_axis_off()
    ax.text(
        0.5,
        0.5,
        textwrap.fill(text, 70),
        ha="center",
        va="center",
        transform=ax.transAxes,
    )


def not_measured(ax: Axes, reasons: dict[str, str]) -> None:
    """``not measured: <what>: <why>; ...`` from the sensors' ``not measured: <why>`` strings."""
    texts = [f"{what}: {why.replace(NOT_MEASURED, '').strip()}" for what, why in reasons.items()]
    message(ax, f"{NOT_MEASURED} " + "; ".join(texts))


def config_label(frame: pd.DataFrame) -> pd.Series:
    """``detector/recognizer`` of each row."""
    return frame["detector"].astype(str) + "/" + frame["recognizer"].astype(str)


def device_config_label(frame: pd.DataFrame) -> pd.Series:
    """``device · detector/recognizer`` of each row."""
    return frame["device"].astype(str) + " · " + config_label(frame)


def rotate_x(ax: Axes) -> None:
    """The x tick labels at 30 degrees, anchored at their right end."""
    for label in ax.get_xticklabels():
        label.set(rotation=30, ha="right", rotation_mode="anchor")


def legend_outside(ax: Axes) -> None:
    """The legend (if any) beside the axes, upper left, without a frame."""
    if ax.get_legend() is not None:
        sns.move_legend(ax, "upper left", bbox_to_anchor=(1, 1), frameon=False)
