"""The paper's Table 6 and companion tables from the aggregated frames, and the same ratios
computed from the paper's own Table 6 and from ours (absolute times differ by hardware).

Each statistic is first taken per input (video x resolution, repeats pooled), then averaged
over the inputs, as the paper's Table 6 averages its six inputs. FPS of an input is frames over
the summed frame times (``t_total_s``), as ``run.json``'s summary.
"""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import numpy as np
import pandas as pd

from facebench.analysis.accuracy import COUNT_COLUMNS, add_rates
from facebench.analysis.aggregate import resolution_order
from facebench.analysis.paper import CLAIMS_YAML, PaperClaims, read_paper_claims
from facebench.analysis.resampling import Resampling, intervals
from facebench.harness.percentiles import withheld

CONFIG = ["device", "device_class", "detector", "recognizer"]
INPUT = ["video", "resolution"]
MEANS = {
    "read_time_s": "t_read_s",
    "detection_time_s": "t_detect_s",
    "recognition_time_s": "t_embed_s",
    "total_time_s": "t_total_s",
    "faces": "n_faces",
}
PERCENTILES = (50, 90, 99)
INTERVALS = ("fps", "detection_time_s", "recognition_time_s", "total_time_s", "faces")
PAPER_FRAMEWORKS = {"TF": "tf", "TRT": "tensorrt", "TFLite": "tflite"}
REFERENCE_FRAMEWORK = "tf"
FRAMEWORK_QUANTITIES = {
    "detection speed-up over tf": ("detector", "detection_time_s", True),
    "recognition speed-up over tf": ("recognizer", "recognition_time_s", True),
    "faces vs tf detector": ("detector", "faces", False),
}
RESOLUTION_QUANTITIES = {
    "fps drop": (None, "fps", True),
    "detection-time growth": ("detector", "detection_time_s", False),
    "recognition-time growth": ("recognizer", "recognition_time_s", False),
    "faces growth": ("detector", "faces", False),
}


def per_input(frames: pd.DataFrame, by: list[str] = CONFIG) -> pd.DataFrame:
    """Mean phase times, faces, FPS and frame count of each ``by`` x input group."""
    grouped = frames.groupby([*by, *INPUT], observed=True)
    table = grouped[list(MEANS.values())].mean().rename(columns={v: k for k, v in MEANS.items()})
    table["fps"] = grouped["t_total_s"].count() / grouped["t_total_s"].sum()
    table["n_frames"] = grouped.size()
    return table.reset_index()


def _over_inputs(inputs: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Average the per-input statistics over the inputs; frames are summed."""
    grouped = inputs.groupby(by, observed=True)
    table = grouped[[*MEANS, "fps"]].mean()
    table["n_frames"] = grouped["n_frames"].sum()
    table["n_inputs"] = grouped.size()
    return table


def _percentiles(frames: pd.DataFrame, by: list[str], confidence: float) -> pd.DataFrame:
    """p50/p90/p99 of detection, recognition and total time over all frames of each group, each
    withheld where the group has too few frames for it
    (:func:`facebench.harness.percentiles.withheld`)."""
    columns = {
        "detection_time_s": "t_detect_s",
        "recognition_time_s": "t_embed_s",
        "total_time_s": "t_total_s",
    }
    grouped = frames.groupby(by, observed=True)
    parts, percentile_of = {}, {}
    for name, column in columns.items():
        for p in PERCENTILES:
            label = f"{name.removesuffix('_s')}_p{p}_s"
            parts[label] = grouped[column].quantile(p / 100)
            percentile_of[label] = p
    return withheld(pd.DataFrame(parts), percentile_of, grouped.size(), confidence)


def mean_table(frames: pd.DataFrame, by: list[str] = CONFIG) -> pd.DataFrame:
    """Table 6's means alone (no percentiles) per ``by`` group: what the claims compute from,
    cheap enough for every bootstrap replicate."""
    return _over_inputs(per_input(frames), by).reset_index()


def table6(
    frames: pd.DataFrame,
    runs: pd.DataFrame | None = None,
    confidence: float = Resampling.confidence,
) -> pd.DataFrame:
    """The paper's Table 6 (means over the inputs per device x detector x recognizer) plus
    time percentiles over all frames (stated with enough frames at ``confidence``), frame
    count, inputs and runs; with ``runs`` (:func:`facebench.analysis.aggregate.run_table`),
    ``n_busy_runs``: runs during which other processes kept the host busy (their timings may
    be inflated)."""
    table = _over_inputs(per_input(frames), CONFIG).join(_percentiles(frames, CONFIG, confidence))
    keys = frames[[*CONFIG, *INPUT, "repeat"]].drop_duplicates()
    table = table.assign(n_runs=keys.groupby(CONFIG, observed=True).size()).reset_index()
    if runs is None:
        return table
    busy = runs.assign(n_busy_runs=runs["busy_warning"].str.len() > 0)
    busy = busy.astype({c: str for c in CONFIG}).groupby(CONFIG)["n_busy_runs"].sum()
    found = busy.reindex(pd.MultiIndex.from_frame(table[CONFIG].astype(str)), fill_value=0)
    return table.assign(n_busy_runs=found.to_numpy())


def per_resolution_table(
    frames: pd.DataFrame, confidence: float = Resampling.confidence
) -> pd.DataFrame:
    """Table 6 per resolution (videos averaged)."""
    by = [*CONFIG, "resolution"]
    table = _over_inputs(per_input(frames), by).join(_percentiles(frames, by, confidence))
    return table.reset_index()


def with_intervals(
    table: pd.DataFrame, frames: pd.DataFrame, by: list[str], resampling: Resampling
) -> pd.DataFrame:
    """``table`` (:func:`table6` or :func:`per_resolution_table` of ``frames``, one row per
    ``by`` group) with ``<column>_lo`` and ``<column>_hi``, the bootstrap interval
    (:mod:`facebench.analysis.resampling`), after each of :data:`INTERVALS`."""

    def means(replicate: pd.DataFrame) -> pd.Series:
        return _over_inputs(per_input(replicate), by)[list(INTERVALS)].stack()

    bounds = intervals(frames, means, resampling)[["lo", "hi"]].unstack()
    rows = pd.MultiIndex.from_frame(table[by])
    table = table.copy()
    for column in reversed(INTERVALS):
        at = table.columns.get_loc(column) + 1
        for side in ("hi", "lo"):
            table.insert(at, f"{column}_{side}", bounds[(side, column)].reindex(rows).to_numpy())
    return table


def accuracy_table(accuracy: pd.DataFrame, by: list[str] = CONFIG) -> pd.DataFrame:
    """Detection precision/recall and identification accuracy per ``by`` group, counts pooled
    over its runs (``accuracy`` is :func:`facebench.analysis.accuracy.run_accuracy`)."""
    counts = accuracy.groupby(by, observed=True)[list(COUNT_COLUMNS)].sum()
    return add_rates(counts.reset_index())


def energy_table(frames: pd.DataFrame, runs: pd.DataFrame | None = None) -> pd.DataFrame:
    """Mean power and energy per frame (GPU and CPU package) per configuration; ``note`` says
    ``not measured: <reason>`` (the sensor's reason from ``runs``) where nothing was measured."""
    grouped = frames.groupby(CONFIG, observed=True)
    table = pd.DataFrame(
        {
            "power_w": grouped["power_w"].mean(),
            "energy_per_frame_j": grouped["energy_j"].mean(),
            "cpu_power_w": grouped["cpu_power_w"].mean(),
            "cpu_energy_per_frame_j": grouped["cpu_energy_j"].mean(),
        }
    ).reset_index()
    table["frames_per_j"] = 1 / table["energy_per_frame_j"]
    notes = []
    for row in table.itertuples(index=False):
        missing = [
            f"{column}: {sensor_reason(runs, column, row.device)}"
            for column in ("energy_per_frame_j", "cpu_energy_per_frame_j")
            if np.isnan(getattr(row, column))
        ]
        notes.append("; ".join(missing))
    return table.assign(note=notes)


def sensor_reason(runs: pd.DataFrame | None, quantity: str, device: str | None = None) -> str:
    """Why ``quantity`` (a frames column, or ``*_per_frame_j``) was not measured, from the
    runs' ``sensor_<column>`` entries (of ``device`` if given)."""
    column = "sensor_" + {
        "energy_per_frame_j": "energy_j",
        "cpu_energy_per_frame_j": "cpu_energy_j",
    }.get(quantity, quantity)
    if runs is None or column not in runs:
        return "not measured"
    rows = runs if device is None else runs[runs["device"].astype(str) == device]
    reasons = rows[column].dropna().astype(str)
    reasons = sorted({r for r in reasons if r.startswith("not measured")})
    return "; ".join(reasons) or "not measured"


def read_paper_table6(path: Path) -> pd.DataFrame:
    """The paper's Table 6 (``table6_reconstructed.csv``) in this module's column names."""
    paper = pd.read_csv(path)
    return pd.DataFrame(
        {
            "device": paper["platform"],
            "device_class": paper["platform_class"],
            "detector": paper["detector"].map(PAPER_FRAMEWORKS),
            "recognizer": paper["recognizer"].map(PAPER_FRAMEWORKS),
            "recognition_time_s": paper["avg_recognition_time_s"],
            "detection_time_s": paper["avg_detection_time_s"],
            "fps": paper["avg_fps"],
            "faces": paper["avg_num_faces"],
        }
    )


def framework_ratios(table: pd.DataFrame) -> pd.DataFrame:
    """Per device, each framework against tf (a Table 6 like table): detection and recognition
    speed-up (tf time / framework time) and faces found (framework / tf). Long format."""
    rows = []
    for quantity, (role, column, inverse) in FRAMEWORK_QUANTITIES.items():
        means = table.groupby(["device", role], observed=True)[column].mean().unstack(role)
        if REFERENCE_FRAMEWORK not in means:
            continue
        for framework in means.columns.drop(REFERENCE_FRAMEWORK):
            ratio = means[framework] / means[REFERENCE_FRAMEWORK]
            ratio = 1 / ratio if inverse else ratio
            for device, value in ratio.dropna().items():
                rows.append((quantity, "", str(framework), str(device), value))
    return _long(rows)


def resolution_ratios(per_resolution: pd.DataFrame) -> pd.DataFrame:
    """Ratios between consecutive resolutions per configuration (lower over higher for FPS,
    higher over lower otherwise), pooled ("all") and by the framework the quantity depends on.
    Long format."""
    order = resolution_order(per_resolution["resolution"].astype(str).unique())
    wide = per_resolution.assign(resolution=per_resolution["resolution"].astype(str)).pivot_table(
        index=CONFIG,
        columns="resolution",
        values=["fps", "detection_time_s", "recognition_time_s", "faces"],
        observed=True,
    )
    rows = []
    for low, high in pairwise(order):
        step = f"{low}->{high}"
        for quantity, (role, column, inverse) in RESOLUTION_QUANTITIES.items():
            ratio = wide[(column, high)] / wide[(column, low)]
            ratio = 1 / ratio if inverse else ratio
            for key, value in ratio.dropna().items():
                config = dict(zip(CONFIG, key, strict=True))
                rows.append((quantity, step, "all", str(config["device"]), value))
                if role is not None:
                    rows.append((quantity, step, str(config[role]), str(config["device"]), value))
    return _long(rows)


def _long(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["quantity", "step", "framework", "device", "value"])


def paper_resolution_ratios(paper: PaperClaims) -> dict[tuple[str, str, str], tuple[float, float]]:
    """Claim 8 of the paper (section 6.3): ratios between resolution steps, (min, max) by
    (quantity, step, framework). Table 6 averages the resolutions, so these come from the
    paper's text (``claims.yaml``), not from its table."""
    return {
        (quantity, step, framework): (ratio.lo, ratio.hi)
        for quantity, steps in paper.values(8)["resolution_ratios"].items()
        for step, frameworks in steps.items()
        for framework, ratio in frameworks.items()
    }


def paper_vs_ours(
    paper_csv: Path,
    ours_table6: pd.DataFrame,
    ours_per_resolution: pd.DataFrame,
    paper_claims_yaml: Path = CLAIMS_YAML,
) -> pd.DataFrame:
    """The same ratios from the paper and from our data: min, mean and max over devices (and
    configurations for resolution steps). Resolution steps of the paper come from its text."""
    paper = _summary(framework_ratios(read_paper_table6(paper_csv)), "paper")
    paper["paper_source"] = "table6_reconstructed.csv"
    ratios = paper_resolution_ratios(read_paper_claims(paper_claims_yaml))
    text = pd.DataFrame(
        [
            (q, s, f, lo, (lo + hi) / 2, hi, np.nan, "paper text, claim 8")
            for (q, s, f), (lo, hi) in ratios.items()
        ],
        columns=[
            "quantity",
            "step",
            "framework",
            "paper_min",
            "paper_mean",
            "paper_max",
            "paper_n",
            "paper_source",
        ],
    )
    ours = _summary(
        pd.concat([framework_ratios(ours_table6), resolution_ratios(ours_per_resolution)]), "ours"
    )
    merged = pd.concat([paper, text]).merge(ours, on=["quantity", "step", "framework"], how="outer")
    return merged.sort_values(["quantity", "step", "framework"], ignore_index=True)


def _summary(ratios: pd.DataFrame, prefix: str) -> pd.DataFrame:
    grouped = ratios.groupby(["quantity", "step", "framework"])["value"]
    table = grouped.agg(["min", "mean", "max", "count"]).rename(columns={"count": "n"})
    return table.add_prefix(f"{prefix}_").reset_index()
