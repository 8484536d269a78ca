"""The paper's figures 7-16 and our extras, as SVG, from the aggregated tables.

Figures are built on ``matplotlib.figure.Figure`` objects (no pyplot state, nothing to close)
and drawn with seaborn's axes-level functions. Text stays text in the SVG (searchable, small)
and the files carry no date, so reruns on the same data give the same bytes. A figure whose
measure is absent everywhere still appears, saying ``not measured: <reason>``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.ticker import NullFormatter

from facebench.analysis.aggregate import RUN_KEYS
from facebench.analysis.plotting import (
    config_label,
    device_config_label,
    figure,
    legend_outside,
    message,
    not_measured,
    rotate_x,
)
from facebench.analysis.tables import CONFIG, per_input, sensor_reason
from facebench.recognition.boxes import MATCH_IOU

PHASES = {
    "read": "t_read_s",
    "detect": "t_detect_s",
    "align": "t_align_s",
    "embed": "t_embed_s",
    "identify": "t_identify_s",
    "harness": "t_unattributed_s",
}
POWER = {"power_w": "GPU / board rail", "cpu_power_w": "CPU package (RAPL)"}
ENERGY = {"energy_j": "GPU / board rail", "cpu_energy_j": "CPU package (RAPL)"}
FPS_TRUNCATE = 50  # the paper's figure 12 truncates FPS at 50
BOX = {"whis": (1, 99), "showfliers": False}  # whiskers at the 1st and 99th percentiles
CDF_POINTS = 201


@dataclass(frozen=True)
class Pair:
    """Two sets of runs differing in one thing: runs whose ``column`` (a frames column or one
    of :func:`facebench.analysis.aggregate.run_table`'s) is ``a`` and those where it is ``b``."""

    column: str
    a: str
    b: str

    def label(self) -> str:
        return f"{self.column}: {self.a} vs {self.b}"


def fig07_phase_times(frames: pd.DataFrame, out: Path) -> Path:
    """Heat map: mean time (ms) of each phase per device and configuration."""
    means = frames.groupby(CONFIG, observed=True)[list(PHASES.values())].mean().reset_index()
    table = means.set_index(device_config_label(means))[list(PHASES.values())] * 1e3
    table.columns = list(PHASES)
    with figure(out, size=(8, 1.5 + 0.35 * len(table))) as (ax,):
        sns.heatmap(
            table,
            annot=True,
            fmt=".1f",
            cmap="rocket_r",
            ax=ax,
            cbar_kws={"label": "mean time per frame (ms)"},
        )
        ax.set(title="Fig. 7: mean time of each phase", xlabel="phase", ylabel="")
    return Path(out)


def fig08_faces_per_device(frames: pd.DataFrame, out: Path) -> Path:
    """Bars: mean detected faces per frame per device and detector framework."""
    inputs = per_input(frames, ["device", "detector"])
    with figure(out) as (ax,):
        sns.barplot(inputs, x="device", y="faces", hue="detector", errorbar=None, ax=ax)
        rotate_x(ax)
        if "n_truth_faces" in frames and frames["n_truth_faces"].notna().any():
            ax.axhline(frames["n_truth_faces"].mean(), color="k", ls="--", label="ground truth")
            ax.legend(title="detector")
        ax.set(
            title="Fig. 8: detected faces per frame (mean over the inputs)",
            ylabel="faces per frame",
        )
        legend_outside(ax)
    return Path(out)


def fig09_fps_per_resolution(frames: pd.DataFrame, out: Path) -> Path:
    """Violins (log scale): per-frame FPS (1 / frame time) per resolution, all configurations
    pooled, edge and cloud apart when both are present."""
    data = pd.DataFrame(
        {
            "resolution": frames["resolution"],
            "fps": 1 / frames["t_total_s"],
            "class": frames["device_class"],
        }
    )
    hue = "class" if data["class"].nunique() > 1 else None
    with figure(out) as (ax,):
        sns.violinplot(
            data,
            x="resolution",
            y="fps",
            hue=hue,
            cut=0,
            inner="quart",
            density_norm="width",
            log_scale=True,
            ax=ax,
        )
        ax.set(
            title="Fig. 9: FPS per resolution (every configuration pooled)",
            ylabel="frames per second (1 / frame time, log scale)",
        )
    return Path(out)


def fig10_time_per_resolution(frames: pd.DataFrame, out: Path) -> Path:
    """Points: mean detection (by detector) and recognition (by recognizer) time per
    resolution; bars are the standard deviation over devices, configurations and videos."""
    inputs = per_input(frames)
    with figure(out, ncols=2) as (left, right):
        for ax, column, role, title in (
            (left, "detection_time_s", "detector", "detection (MTCNN)"),
            (right, "recognition_time_s", "recognizer", "recognition (FaceNet, all faces)"),
        ):
            dodge = 0.3 if inputs[role].nunique() > 1 else False  # seaborn divides by levels-1
            sns.pointplot(
                inputs, x="resolution", y=column, hue=role, errorbar="sd", dodge=dodge, ax=ax
            )
            ax.set(title=f"Fig. 10: {title}", ylabel="mean time per frame (s)")
    return Path(out)


def fig11_faces_per_resolution(frames: pd.DataFrame, out: Path) -> Path:
    """Boxes: detected faces per frame per resolution and detector, beside the ground truth."""
    parts = [frames[["resolution", "n_faces"]].assign(source=frames["detector"].astype(str))]
    if "n_truth_faces" in frames:
        truth = frames.drop_duplicates(["video", "resolution", "frame"]).dropna(
            subset=["n_truth_faces"]
        )
        parts.append(
            pd.DataFrame(
                {
                    "resolution": truth["resolution"],
                    "n_faces": truth["n_truth_faces"],
                    "source": "ground truth",
                }
            )
        )
    data = pd.concat(parts, ignore_index=True)
    with figure(out) as (ax,):
        sns.boxplot(data, x="resolution", y="n_faces", hue="source", ax=ax, **BOX)
        ax.set(
            title="Fig. 11: faces per frame per resolution (whiskers 1st-99th percentile)",
            ylabel="faces per frame",
        )
        legend_outside(ax)
    return Path(out)


def _pair_frames(
    frames: pd.DataFrame, runs: pd.DataFrame | None, pair: Pair | None
) -> tuple[pd.DataFrame | None, str]:
    """The frames of the pair's two sides with ``side`` and ``config`` (what else varies: the
    other framework, or detector/recognizer) columns, or None and why not."""
    help_text = (
        "Declare two devices that differ in one thing (the paper: two RTX 2080 Ti "
        "machines differing only in OS), or, on one host, two values of one setting "
        "(e.g. threads)."
    )
    if pair is None:
        return None, f"no pair configured (runs.pair is empty). {help_text}"
    data = frames
    if pair.column not in frames:
        if runs is None or pair.column not in runs:
            return None, f"no pair available: no column {pair.column!r} in the runs. {help_text}"
        settings = runs[[*RUN_KEYS, pair.column]].astype({k: str for k in RUN_KEYS[:-1]})
        keys = frames[list(RUN_KEYS)].astype({k: str for k in RUN_KEYS[:-1]})
        data = frames.assign(
            **{pair.column: keys.merge(settings, how="left")[pair.column].to_numpy()}
        )
    side = data[pair.column].astype(str)
    data = data[side.isin([pair.a, pair.b])].assign(side=side)
    other = {"detector": "recognizer", "recognizer": "detector"}.get(pair.column)
    data = data.assign(config=data[other].astype(str) if other else config_label(data))
    missing = [v for v in (pair.a, pair.b) if not (data["side"] == v).any()]
    if missing:
        return None, f"no pair available: no run with {pair.column} = {missing[0]}. {help_text}"
    return data, ""


def _pair_boxes(
    frames: pd.DataFrame,
    out: Path,
    pair: Pair | None,
    runs: pd.DataFrame | None,
    title: str,
    measure: Callable[[pd.DataFrame], tuple[pd.DataFrame, str]],
) -> Path:
    """Boxes of ``measure`` (frames -> rows with ``value``, axis label) for the pair's two
    sides per configuration; or a figure saying why no pair is available."""
    data, why = _pair_frames(frames, runs, pair)
    with figure(out) as (ax,):
        if data is None:
            message(ax, why)
            ax.set_title(f"{title} of a pair differing in one thing")
            return Path(out)
        data, label = measure(data)
        sns.boxplot(
            data, x="config", y="value", hue="side", hue_order=[pair.a, pair.b], ax=ax, **BOX
        )
        ax.set(title=f"{title}, {pair.label()}", xlabel="configuration", ylabel=label)
        rotate_x(ax)
        legend_outside(ax)
    return Path(out)


def fig12_pair_fps(
    frames: pd.DataFrame, out: Path, pair: Pair | None = None, runs: pd.DataFrame | None = None
) -> Path:
    """Boxes: per-frame FPS (truncated at 50, as the paper) of the pair's two sides, per
    configuration; or a figure saying why no pair is available."""

    def fps(data: pd.DataFrame) -> tuple[pd.DataFrame, str]:
        value = (1 / data["t_total_s"]).clip(upper=FPS_TRUNCATE)
        return data.assign(value=value), f"frames per second (truncated at {FPS_TRUNCATE})"

    return _pair_boxes(frames, out, pair, runs, "Fig. 12: FPS", fps)


def _memory(data: pd.DataFrame) -> tuple[pd.DataFrame, str, bool]:
    """GPU used/total where measured, else process RSS: (rows with ``memory``, label, is_gpu)."""
    gpu = data["gpu_mem_used_mb"] / data["gpu_mem_total_mb"]
    if gpu.notna().any():
        return data.assign(memory=gpu).dropna(subset=["memory"]), "GPU memory used / total", True
    return data.assign(memory=data["rss_mb"]), "process RSS (MB), no GPU memory measured", False


def fig13_memory(frames: pd.DataFrame, out: Path, runs: pd.DataFrame | None = None) -> Path:
    """Boxes by detector/recognizer framework, edge vs cloud: GPU used/total memory where
    measured (left) and process RSS on every host (right)."""
    data = frames.assign(config=config_label(frames))
    gpu, _, is_gpu = _memory(data)
    with figure(out, ncols=2) as (left, right):
        if is_gpu:
            sns.boxplot(gpu, x="config", y="memory", hue="device_class", ax=left, **BOX)
            left.set(xlabel="detector/recognizer", ylabel="GPU memory used / total")
            rotate_x(left)
        else:
            not_measured(left, {"GPU memory": sensor_reason(runs, "gpu_mem_used_mb")})
        left.set_title("Fig. 13: GPU memory used / total")
        sns.boxplot(data, x="config", y="rss_mb", hue="device_class", ax=right, **BOX)
        right.set(
            title="Fig. 13: process RSS (CPU-side memory)",
            xlabel="detector/recognizer",
            ylabel="process RSS (MB)",
        )
        rotate_x(right)
    return Path(out)


def fig14_pair_memory(
    frames: pd.DataFrame, out: Path, pair: Pair | None = None, runs: pd.DataFrame | None = None
) -> Path:
    """Boxes: memory of the pair's two sides per implementation (GPU used/total where
    measured, process RSS otherwise, as the axis says)."""

    def memory(data: pd.DataFrame) -> tuple[pd.DataFrame, str]:
        data, label, _ = _memory(data)
        return data.rename(columns={"memory": "value"}), label

    return _pair_boxes(frames, out, pair, runs, "Fig. 14: memory", memory)


def _long_measures(frames: pd.DataFrame, measures: dict[str, str], keys: list[str]) -> pd.DataFrame:
    """Measured values of ``measures`` (column: sensor label) in long format."""
    parts = [
        frames[keys].assign(value=frames[column], sensor=label).dropna(subset=["value"])
        for column, label in measures.items()
    ]
    return pd.concat(parts, ignore_index=True)


def _absent_reasons(runs: pd.DataFrame | None, measures: dict[str, str]) -> dict[str, str]:
    return {label: sensor_reason(runs, column) for column, label in measures.items()}


def fig15_power(frames: pd.DataFrame, out: Path, runs: pd.DataFrame | None = None) -> Path:
    """Boxes: power per device (log scale), GPU/board rail and CPU package where measured."""
    data = _long_measures(frames, POWER, ["device"])
    with figure(out) as (ax,):
        ax.set_title("Fig. 15: power per device")
        if data.empty:
            not_measured(ax, _absent_reasons(runs, POWER))
            return Path(out)
        sns.boxplot(data, x="device", y="value", hue="sensor", log_scale=True, ax=ax, **BOX)
        rotate_x(ax)
        ax.set(ylabel="power (W, log scale)")
        legend_outside(ax)
    return Path(out)


def fig16_power_by_framework(
    frames: pd.DataFrame, out: Path, runs: pd.DataFrame | None = None
) -> Path:
    """Bars: mean power per device and detector/recognizer framework (log scale)."""
    data = _long_measures(frames, POWER, ["device", "detector", "recognizer"])
    with figure(out, size=(max(7, 1.2 * data["device"].nunique()), 4)) as (ax,):
        ax.set_title("Fig. 16: mean power by detector/recognizer framework")
        if data.empty:
            not_measured(ax, _absent_reasons(runs, POWER))
            return Path(out)
        data = data.assign(config=config_label(data) + " (" + data["sensor"] + ")")
        sns.barplot(data, x="device", y="value", hue="config", errorbar=None, ax=ax)
        rotate_x(ax)
        lowest = data.groupby(["device", "config"], observed=True)["value"].mean().min()
        ax.set(yscale="log", ylim=(lowest / 2, None), ylabel="mean power (W, log scale)")
        legend_outside(ax)
    return Path(out)


def _height(n_rows: int) -> tuple[float, float]:
    """Figure size for horizontal bars, one row per label."""
    return 8, 1.5 + 0.3 * n_rows


def energy_per_frame(frames: pd.DataFrame, out: Path, runs: pd.DataFrame | None = None) -> Path:
    """Horizontal bars: mean energy per frame per configuration (GPU/board rail, CPU package)."""
    data = _long_measures(frames, ENERGY, ["device", "detector", "recognizer"])
    data = data.assign(config=device_config_label(data))
    with figure(out, size=_height(data["config"].nunique())) as (ax,):
        ax.set_title("Energy per frame")
        if data.empty:
            not_measured(ax, _absent_reasons(runs, ENERGY))
            return Path(out)
        sns.barplot(data, y="config", x="value", hue="sensor", errorbar=None, ax=ax)
        ax.set(ylabel="device · detector/recognizer", xlabel="mean energy per frame (J)")
        legend_outside(ax)
    return Path(out)


def accuracy_per_config(accuracy_by_config: pd.DataFrame, out: Path) -> Path:
    """Horizontal bars: detection precision and recall (all and detectable faces),
    identification accuracy, rank-1 rate of enrolled faces and false-accept rate of strangers
    per configuration (:func:`facebench.analysis.tables.accuracy_table`)."""
    metrics = [
        "precision",
        "recall",
        "recall_detectable",
        "identification_accuracy",
        "rank1",
        "far",
    ]
    data = (
        accuracy_by_config.assign(config=device_config_label(accuracy_by_config))
        .melt(id_vars="config", value_vars=metrics, var_name="metric")
        .dropna(subset=["value"])
    )
    with figure(out, size=_height(2 * data["config"].nunique())) as (ax,):
        ax.set_title(
            f"Detection precision/recall (IoU >= {MATCH_IOU:g}), identification accuracy, "
            "rank-1 and FAR"
        )
        if data.empty:
            not_measured(ax, {"accuracy": "no ground truth for any input"})
            return Path(out)
        sns.barplot(data, y="config", x="value", hue="metric", hue_order=metrics, ax=ax)
        ax.set(ylabel="device · detector/recognizer", xlabel="fraction", xlim=(0, 1.05))
        legend_outside(ax)
    return Path(out)


def latency_cdf(frames: pd.DataFrame, out: Path) -> Path:
    """Empirical CDF of the frame time per detector/recognizer (one panel per device and
    resolution), drawn at 201 quantiles per curve."""
    levels = np.linspace(0, 1, CDF_POINTS)
    keys = [*CONFIG, "resolution"]
    quantiles = (
        frames.groupby(keys, observed=True)["t_total_s"]
        .quantile(levels)
        .rename("t_total_s")
        .reset_index()
        .rename(columns={f"level_{len(keys)}": "fraction"})
    )
    quantiles["config"] = config_label(quantiles)
    devices = sorted(quantiles["device"].astype(str).unique())
    resolutions = list(quantiles["resolution"].cat.remove_unused_categories().cat.categories)
    panels = [(d, r) for d in devices for r in resolutions]
    order = sorted(quantiles["config"].unique())
    with figure(out, len(resolutions), (4, 2.8), len(devices)) as axes:
        for ax, (device, resolution) in zip(axes, panels, strict=True):
            rows = quantiles[
                (quantiles["device"] == device) & (quantiles["resolution"] == resolution)
            ]
            sns.lineplot(
                rows,
                x="t_total_s",
                y="fraction",
                hue="config",
                hue_order=order,
                ax=ax,
                legend=ax is axes[len(resolutions) - 1],
                drawstyle="steps-post",
            )
            ax.set(
                title=f"{device}, {resolution}",
                xscale="log",
                xlabel="time per frame (s, log scale)",
                ylabel="fraction of frames",
            )
            ax.xaxis.set_minor_formatter(NullFormatter())  # after xscale: keep it legible
        legend_outside(axes[len(resolutions) - 1])
    return Path(out)


def paper_vs_ours(comparison: pd.DataFrame, out: Path) -> Path:
    """Ranges (min-max over devices or configurations, dot at the mean) of the same ratios in
    the paper and in our data (:func:`facebench.analysis.tables.paper_vs_ours`)."""
    rows = comparison.assign(
        label=comparison["quantity"]
        + " "
        + comparison["step"].fillna("")
        + " ["
        + comparison["framework"]
        + "]"
    )
    with figure(out, size=(8, 1.5 + 0.3 * len(rows))) as (ax,):
        for offset, source, color in ((-0.15, "paper", "C0"), (0.15, "ours", "C1")):
            y = np.arange(len(rows)) + offset
            ax.hlines(y, rows[f"{source}_min"], rows[f"{source}_max"], color=color)
            ax.plot(rows[f"{source}_mean"], y, "o", color=color, label=source)
        ax.set_yticks(np.arange(len(rows)), rows["label"])
        ax.invert_yaxis()
        ax.axvline(1, color="k", lw=0.8)
        ax.set(xscale="log", xlabel="ratio (log scale)", title="Paper vs ours: the same ratios")
        ax.legend(loc="upper left", bbox_to_anchor=(1, 1), frameon=False)
    return Path(out)


def all_figures(
    frames: pd.DataFrame,
    out_dir: Path,
    runs: pd.DataFrame | None = None,
    accuracy_by_config: pd.DataFrame | None = None,
    comparison: pd.DataFrame | None = None,
    pair: Pair | None = None,
) -> list[Path]:
    """Every figure into ``out_dir`` (accuracy and paper-vs-ours when their tables are given)."""
    out_dir = Path(out_dir)
    paths = [
        fig07_phase_times(frames, out_dir / "fig07_phase_times.svg"),
        fig08_faces_per_device(frames, out_dir / "fig08_faces_per_device.svg"),
        fig09_fps_per_resolution(frames, out_dir / "fig09_fps_per_resolution.svg"),
        fig10_time_per_resolution(frames, out_dir / "fig10_time_per_resolution.svg"),
        fig11_faces_per_resolution(frames, out_dir / "fig11_faces_per_resolution.svg"),
        fig12_pair_fps(frames, out_dir / "fig12_pair_fps.svg", pair, runs),
        fig13_memory(frames, out_dir / "fig13_memory.svg", runs),
        fig14_pair_memory(frames, out_dir / "fig14_pair_memory.svg", pair, runs),
        fig15_power(frames, out_dir / "fig15_power.svg", runs),
        fig16_power_by_framework(frames, out_dir / "fig16_power_by_framework.svg", runs),
        energy_per_frame(frames, out_dir / "energy_per_frame.svg", runs),
        latency_cdf(frames, out_dir / "latency_cdf.svg"),
    ]
    if accuracy_by_config is not None:
        paths.append(accuracy_per_config(accuracy_by_config, out_dir / "accuracy.svg"))
    if comparison is not None:
        paths.append(paper_vs_ours(comparison, out_dir / "paper_vs_ours.svg"))
    return paths
