"""Open-set figures (SVG): the galleries' leave-one-person-out DET curves with the chosen
thresholds, distance distributions per resolution, rank-1 / FAR per configuration before and
after the threshold change, and the minimum face size's effect. An empty input gives a
``not measured: <reason>`` panel instead."""

from __future__ import annotations

from pathlib import Path

import matplotlib as mpl
import numpy as np
import pandas as pd

from facebench.analysis.aggregate import resolution_order
from facebench.analysis.plotting import figure, legend_outside, message, not_measured

PANEL = (5.5, 3.8)
CONFIG = ["device", "detector", "recognizer"]
KINDS = {"same person": "C2", "someone else": "C1", "stranger": "C3"}


SAME_CURVE = 0.01  # galleries whose DET curves differ by less than this share one curve
DET_FLOOR = 1e-3  # DET axes' lower end: rates of 0 are drawn (operating points) or left out there
FPIR_LABEL, FNIR_LABEL = "FPIR (strangers accepted)", "FNIR (enrolled missed)"


def _det_line(ax, x: pd.Series, y: pd.Series, **style) -> None:
    """A DET curve on log axes: its points where both rates are above zero."""
    shown = (x > 0) & (y > 0)
    ax.plot(x[shown], y[shown], **style)


def _det_mark(ax, x: float, y: float, marker: str, colour, size: int = 9) -> None:
    """An operating point (hollow ``marker``), a rate of 0 drawn at the axis' floor."""
    ax.plot(
        max(x, DET_FLOOR),
        max(y, DET_FLOOR),
        marker,
        color=colour,
        markerfacecolor="none",
        markersize=size,
    )


def _det_axes(ax, title: str, xlabel: str = "", ylabel: str = "", upper: float = 1.0) -> None:
    """Log axes from :data:`DET_FLOOR` to ``upper``, titled and labelled."""
    ax.set(xscale="log", yscale="log", xlim=(DET_FLOOR, upper), ylim=(DET_FLOOR, upper))
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)


def shared_curves(curves: dict[str, pd.DataFrame]) -> dict[str, list[str]]:
    """Recognizers grouped by DET curve: those whose FAR and FRR differ by less than
    :data:`SAME_CURVE` at every threshold (backends that pass parity) share the first's."""
    groups: dict[str, list[str]] = {}
    for recognizer, curve in sorted(curves.items()):
        for first, members in groups.items():
            other = curves[first]
            if len(other) == len(curve) and all(
                np.nanmax(np.abs(other[c].to_numpy() - curve[c].to_numpy()), initial=0) < SAME_CURVE
                for c in ("far", "frr")
            ):
                members.append(recognizer)
                break
        else:
            groups[recognizer] = [recognizer]
    return groups


def det_figure(curves: dict[str, pd.DataFrame], thresholds: pd.DataFrame, out: Path) -> Path:
    """FRR against FAR (log axes) per method: recognizers with the same curve share one; each
    threshold method's operating point marked (circle: target_far, square: max_accuracy)."""
    with figure(out, 1, (7.5, 4.8)) as (ax,):
        for i, (first, members) in enumerate(shared_curves(curves).items()):
            curve = curves[first]
            _det_line(ax, curve["far"], curve["frr"], color=f"C{i}", label=" = ".join(members))
            marks = thresholds[thresholds["recognizer"] == first]
            for marker, row in zip("os", marks.itertuples(), strict=False):
                _det_mark(ax, row.lopo_far, row.lopo_frr, marker, f"C{i}")
        _det_axes(
            ax,
            "Leave-one-person-out on the photos",
            "FAR: strangers' photos accepted (log)",
            "FRR: enrolled photos missed (log)",
        )
        ax.legend(fontsize="small", title="o target_far, □ max_accuracy", title_fontsize="small")
        legend_outside(ax)
    return Path(out)


def distances_figure(
    distances: pd.DataFrame, thresholds: pd.DataFrame, out: Path, reason: str
) -> Path:
    """Histograms of the distance to the nearest enrolled photo per resolution, for the first
    configuration (device, detector, recognizer): enrolled people whose nearest photo is
    theirs, enrolled people nearest someone else, strangers; both thresholds marked."""
    if not distances.empty:
        first = distances.iloc[0][CONFIG]
        distances = distances[(distances[CONFIG] == first).all(axis=1)]
        thresholds = thresholds[thresholds["recognizer"] == first["recognizer"]]
    resolutions = resolution_order(distances["resolution"].unique())
    with figure(out, max(len(resolutions), 1), (4.0, 3.2)) as axes:
        if distances.empty:
            not_measured(axes[0], {"distances": reason})
            return Path(out)
        axes[0].figure.suptitle(" · ".join(first.astype(str)))
        bins = np.linspace(0, 1.6, 33)
        for ax, resolution in zip(axes, resolutions, strict=True):
            rows = distances[distances["resolution"] == resolution]
            for kind, color in KINDS.items():
                values = rows.loc[rows["kind"] == kind, "distance"]
                if len(values):
                    ax.hist(values, bins, color=color, alpha=0.5, label=f"{kind} ({len(values)})")
            for style, row in zip(
                ("-", "--"), thresholds.drop_duplicates("method").itertuples(), strict=False
            ):
                ax.axvline(row.threshold_l2, color="k", linestyle=style, label=row.method)
            ax.set(title=resolution, xlabel="L2 to the nearest enrolled photo", ylabel="faces")
            ax.legend(fontsize="x-small")
    return Path(out)


def _absent(axes: list, out: Path, reason: str) -> Path:
    for ax in axes:
        not_measured(ax, {"open set": reason})
    return Path(out)


def rates_figure(table: pd.DataFrame, out: Path, reason: str) -> Path:
    """Rank-1 and FAR per configuration and resolution: as the runs identified and with each
    threshold method (the runs' minimum face size)."""
    used = table[table["min_face_px"] == table["min_face_px"].min()]
    with figure(out, 2, PANEL) as axes:
        if used.empty:
            return _absent(axes, out, reason)
        labels = (
            used["device"].astype(str)
            + " · "
            + used["detector"].astype(str)
            + "/"
            + used["recognizer"].astype(str)
        )
        used = used.assign(setting=labels + " " + used["resolution"].astype(str))
        settings = list(dict.fromkeys(used["setting"]))
        methods = list(dict.fromkeys(used["method"]))
        width = 0.8 / len(methods)
        for ax, rate, title in zip(
            axes,
            ("rank1", "far"),
            ("enrolled faces named right (rank-1)", "strangers accepted (FAR)"),
            strict=True,
        ):
            for k, method in enumerate(methods):
                rows = used[used["method"] == method].set_index("setting").reindex(settings)
                ax.bar(np.arange(len(settings)) + k * width, rows[rate], width, label=method)
            ax.set_xticks(
                np.arange(len(settings)) + 0.4 - width / 2, settings, rotation=60, ha="right"
            )
            ax.set(ylim=(0, 1), title=title)
        axes[1].legend(fontsize="small")
        legend_outside(axes[1])
    return Path(out)


def min_face_figure(table: pd.DataFrame, method: str, out: Path, reason: str) -> Path:
    """Rank-1 and FAR against the minimum face size, per resolution, with threshold
    ``method`` (counts pooled over configurations)."""
    swept = table[table["method"] == method]
    with figure(out, 2, PANEL) as axes:
        if swept.empty:
            return _absent(axes, out, reason)
        pooled = (
            swept.groupby(["resolution", "min_face_px"], observed=True)[
                ["rank1_correct", "n_enrolled", "false_accept", "n_stranger"]
            ]
            .sum()
            .reset_index()
        )
        pooled["rank1"] = pooled["rank1_correct"] / pooled["n_enrolled"].where(
            pooled["n_enrolled"] > 0
        )
        pooled["far"] = pooled["false_accept"] / pooled["n_stranger"].where(
            pooled["n_stranger"] > 0
        )
        for resolution in resolution_order(pooled["resolution"].unique()):
            rows = pooled[pooled["resolution"] == resolution]
            for ax, rate in zip(axes, ("rank1", "far"), strict=True):
                ax.plot(rows["min_face_px"], rows[rate], marker="o", label=resolution)
        for ax, title in zip(axes, ("rank-1", "FAR"), strict=True):
            ax.set(
                xlabel="minimum face size (px, min side)", ylim=(0, 1), title=f"{title} ({method})"
            )
        axes[1].legend(title="resolution")
    return Path(out)


def video_det_figure(
    curves: pd.DataFrame, points: pd.DataFrame, resolutions: list[str], out: Path
) -> Path:
    """DET curves of the accuracy set: a row per level (frame, track), a panel per resolution,
    one curve per method (recognizer precision), the FPIR 1 % / 5 % operating points marked."""
    levels = ["frame", "track"]
    columns = max(len(resolutions), 1)
    with figure(out, columns, (3.6, 3.2), nrows=len(levels)) as axes:
        if curves.empty:
            message(axes[0], "not measured: no accuracy set")
            return Path(out)
        methods = sorted(curves["method"].unique())
        for row, level in enumerate(levels):
            for col, resolution in enumerate(resolutions):
                ax = axes[row * columns + col]
                for i, method in enumerate(methods):
                    keep = (curves["level"] == level) & (curves["resolution"] == resolution)
                    curve = curves[keep & (curves["method"] == method)]
                    _det_line(ax, curve["fpir"], curve["fnir"], color=f"C{i}", label=method)
                    keep = (points["level"] == level) & (points["resolution"] == resolution)
                    for marker, p in zip(
                        "os", points[keep & (points["method"] == method)].itertuples(), strict=False
                    ):
                        _det_mark(ax, p.fpir_target, p.fnir, marker, f"C{i}", size=8)
                _det_axes(
                    ax,
                    f"{resolution}, per {level}",
                    FPIR_LABEL if row == len(levels) - 1 else "",
                    FNIR_LABEL if col == 0 else "",
                    upper=1.05,
                )
        axes[0].legend(fontsize="small", title="o FPIR 1 %, □ 5 %", title_fontsize="small")
    return Path(out)


def min_face_figure_video(curve: pd.DataFrame, chosen: float, out: Path) -> Path:
    """FNIR at FPIR 5 % of the faces kept and the closed-set rank-1 of each size bin, against
    the minimum face size; the chosen minimum marked."""
    with figure(out, 1, (8.5, 3.8)) as (ax,):
        if curve.empty:
            message(ax, "not measured: no accuracy set")
            return Path(out)
        ax.plot(curve["min_face_px"], curve["fnir"], "o-", label="FNIR at FPIR 5 % (faces kept)")
        ax.plot(
            curve["min_face_px"],
            curve["bin_rank1_closed"],
            "s--",
            label="closed-set rank-1 of the bin",
        )
        ax.plot(curve["min_face_px"], curve["genuine_kept"], "^:", label="enrolled faces kept")
        ax.axvline(chosen, color="k", linestyle="--", label=f"chosen minimum {chosen:g} px")
        ax.set(
            xlabel="minimum face size (px, box's smaller side)",
            ylabel="rate",
            ylim=(0, 1.02),
            title="Minimum face size (calibration half, per frame)",
        )
        ax.legend(fontsize="small")
        legend_outside(ax)
    return Path(out)


def video_det_sizes_figure(curves: pd.DataFrame, method: str, out: Path) -> Path:
    """DET curves of the accuracy set per face-size bin (per frame and per track, resolutions
    pooled) for one method: how recognition degrades as faces shrink."""
    with figure(out, 2, (4.6, 3.8)) as axes:
        if curves.empty:
            message(axes[0], "not measured: no accuracy set")
            return Path(out)
        bins = list(dict.fromkeys(curves["side_px"]))
        colours = mpl_colours(len(bins))
        for ax, level in zip(axes, ("frame", "track"), strict=True):
            for colour, size in zip(colours, bins, strict=True):
                curve = curves[(curves["level"] == level) & (curves["side_px"] == size)]
                _det_line(ax, curve["fpir"], curve["fnir"], color=colour, label=f"{size} px")
            _det_axes(ax, f"{method}, per {level}, by face size", FPIR_LABEL, FNIR_LABEL)
        axes[1].legend(fontsize="small", title="box's smaller side", title_fontsize="small")
        legend_outside(axes[1])
    return Path(out)


def mpl_colours(count: int) -> list:
    """``count`` colours from small (light) to large (dark)."""
    return [mpl.colormaps["viridis_r"](0.15 + 0.8 * i / max(count - 1, 1)) for i in range(count)]
