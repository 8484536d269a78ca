"""The paper's 12 claims, each recomputed from our data and from the paper's own Table 6, with a
computed verdict for both.

The paper's numbers, the precision it gave them to, the claims' prose and where each comes from
are data (``resources/paper/claims.yaml``, read by :mod:`facebench.analysis.paper`); this module
only computes. A claim is split into parts, each a quantity per device (configuration, platform
pair) set against the paper's range. A part is judged on its effect: a ratio's ratio - 1, sign
included, a share or a value as is. The paper's effect range is widened on each side by the
file's ``tolerance`` share of the bound plus half a unit of the precision the paper gave it to,
never across zero (a "5 % faster" is not met by a slower time); a one-sided value
("negligible", "up to") has no lower bound; strict inequalities are not widened. Values from the
paper's Table 6 also carry the table's rounding (half its last digit) through the computation and
agree when the interval it allows meets the widened range.

A claim holds when all its testable parts hold, does not hold when one fails, and is ``not
testable here`` when no part can be computed (the reason says what is missing).
``paper_verdict`` is the same rule on the paper's Table 6: it must read ``holds`` wherever the
table has the quantity, or the rule would reject the paper's own data.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from facebench.analysis.paper import CLAIMS_YAML, PaperClaims, read_paper_claims
from facebench.analysis.tables import (
    paper_resolution_ratios,
    per_resolution_table,
    read_paper_table6,
    resolution_ratios,
    sensor_reason,
    table6,
)

VERDICTS = ("holds", "does not hold", "not testable here")
PAPER_VERDICTS = ("holds", "does not hold", "not in Table 6")
NO_TABLE6 = {  # claim: why the paper's Table 6 cannot give its quantity
    1: "Table 6 has no frame-read time",
    8: "Table 6 averages the resolutions",
    10: "Table 6 has no GPU memory",
    11: "Table 6 has no power",
}

HalfUnits = Mapping[str, float]  # column: half a unit of the last digit it is rounded to


@dataclass(frozen=True)
class Bounds:
    """Values (a Series or DataFrame) with the lowest and highest each can be given the rounding
    of the table they come from; all three are the same for unrounded data. Arithmetic is that
    of intervals of positive quantities."""

    value: Any
    low: Any
    high: Any

    @classmethod
    def exact(cls, value: Any) -> Bounds:
        return cls(value, value, value)

    def map(self, f: Callable[[Any], Any]) -> Bounds:
        """``f`` (a selection, a reshaping) applied to the values and both bounds alike."""
        return Bounds(f(self.value), f(self.low), f(self.high))

    def __getitem__(self, key: Any) -> Bounds:
        return self.map(lambda v: v[key])

    def __add__(self, other: Bounds | float) -> Bounds:
        if isinstance(other, Bounds):
            return Bounds(self.value + other.value, self.low + other.low, self.high + other.high)
        return self.map(lambda v: v + other)

    __radd__ = __add__

    def __sub__(self, number: float) -> Bounds:
        return self.map(lambda v: v - number)

    def __rsub__(self, number: float) -> Bounds:
        return Bounds(number - self.value, number - self.high, number - self.low)

    def __truediv__(self, other: Bounds) -> Bounds:
        return Bounds(
            self.value / other.value,
            self.low / other.high,
            self.high / other.low.clip(lower=0),  # a bound at 0: unbounded
        )

    def __rtruediv__(self, number: float) -> Bounds:
        return Bounds(number / self.value, number / self.high, number / self.low.clip(lower=0))

    def dropna(self) -> Bounds:
        """Series only: the values that are numbers."""
        keep = self.value.notna().to_numpy()
        return self.map(lambda v: v[keep])


def _means(table: pd.DataFrame, by: str | list[str], column: str, half: HalfUnits) -> Bounds:
    """Mean ``column`` per ``by``, give or take half a unit of the rounding of its rows."""
    mean = table.groupby(by, observed=True)[column].mean()
    return Bounds(mean, mean - half.get(column, 0.0), mean + half.get(column, 0.0))


def half_units(table: pd.DataFrame) -> dict[str, float]:
    """Half a unit of the last digit each numeric column of a typed-in table is given to (0.005
    for a column of hundredths): the rounding a value recomputed from it may carry."""
    found = {}
    for column in table.select_dtypes("number"):
        values = table[column].dropna().to_numpy(dtype=float)
        for digits in range(7):
            scaled = values * 10**digits
            if np.allclose(scaled, np.round(scaled), rtol=0, atol=1e-6):
                found[column] = 0.5 / 10**digits
                break
    return found


@dataclass(frozen=True)
class Part:
    """One checkable statement: ``values`` (by label) against the paper's [lo, hi], which it
    gave to ``precision``; ``low``/``high``: the lowest and highest each value can be given the
    rounding of its source (the value itself when absent)."""

    name: str
    values: pd.Series
    lo: float
    hi: float
    unit: str = "x"  # "x" ratio, "%" fraction shown in percent, else a unit suffix
    precision: float = 0.0  # the unit of the paper's last digit, in the value's own unit
    one_sided: bool = False  # bounds from above only: a smaller value does not contradict it
    exact: bool = False  # the bounds are final: a strict inequality, or already widened
    missing: str = ""  # why there are no values
    low: pd.Series | None = None
    high: pd.Series | None = None
    rule: str = ""  # the tolerance in words, for exact bounds that were widened elsewhere

    @classmethod
    def of(cls, name: str, bounds: Bounds, lo: float, hi: float, **kwargs: Any) -> Part:
        return cls(name, bounds.value, lo, hi, low=bounds.low, high=bounds.high, **kwargs)

    def band(self, tolerance: float) -> tuple[float, float]:
        """The paper's range as the check accepts it: its effect (ratio - 1 for a ratio)
        widened by ``tolerance`` of each bound plus half the paper's last digit, never across
        zero; from zero for a one-sided value; as is for exact bounds."""
        if self.exact:
            return self.lo, self.hi
        base = 1.0 if self.unit == "x" else 0.0
        lo, hi = (0.0 if self.one_sided else self.lo - base), self.hi - base
        half = self.precision / 2
        wide_lo, wide_hi = lo - tolerance * abs(lo) - half, hi + tolerance * abs(hi) + half
        if lo > 0:
            wide_lo = max(wide_lo, 0.0)
        if hi < 0:
            wide_hi = min(wide_hi, 0.0)
        return wide_lo + base, wide_hi + base

    def ok(self, tolerance: float) -> bool | None:
        """Whether every value (the interval its rounding allows) meets :meth:`band`; None when
        there is no value."""
        if self.values.empty:
            return None
        lo, hi = self.band(tolerance)
        low = self.values if self.low is None else self.low.reindex(self.values.index)
        high = self.values if self.high is None else self.high.reindex(self.values.index)
        return bool(((high >= lo) & (low <= hi)).all())

    def text(self, tolerance: float | None = None) -> str:
        """The values; with ``tolerance``, each that meets the band only by the rounding of its
        source also shows the interval that rounding allows."""
        if self.values.empty:
            return f"{self.name}: not testable ({self.missing})"
        lo, hi = self.band(tolerance) if tolerance is not None else (-math.inf, math.inf)
        shown = []
        for label, value in self.values.items():
            text = f"{label} {_fmt(value, self.unit)}"
            if not lo <= value <= hi and self.low is not None and self.high is not None:
                low, high = (_fmt(b[label], self.unit) for b in (self.low, self.high))
                text += f" ({low} to {high} by rounding)"
            shown.append(text)
        return f"{self.name}: {', '.join(shown)}"

    def paper_range(self) -> str:
        if self.one_sided:
            return f"up to {_fmt(self.hi, self.unit)}"
        if self.lo == self.hi:
            return _fmt(self.lo, self.unit)
        return f"{_fmt(self.lo, self.unit)} to {_fmt(self.hi, self.unit)}"

    def band_text(self, tolerance: float) -> str:
        lo, hi = self.band(tolerance)
        if self.one_sided:
            return f"at most {_fmt(hi, self.unit)}"
        if math.isinf(hi):
            return f"at least {_fmt(lo, self.unit)}"
        if lo == hi:
            return _fmt(lo, self.unit)
        return f"{_fmt(lo, self.unit)} to {_fmt(hi, self.unit)}"

    def tolerance_text(self, tolerance: float) -> str:
        if self.rule or self.exact:
            return self.rule or "strict, not widened"
        effect = "ratio - 1" if self.unit == "x" else "value"
        half = self.precision / 2
        half = f"{100 * half:g} %" if self.unit == "%" else f"{half:g}{self.unit.strip('x')}"
        side = ", from above only" if self.one_sided else ""
        return f"{effect} +-({100 * tolerance:g} % of the paper's + {half}){side}"


def _fmt(value: float, unit: str) -> str:
    """A ratio (``x``), a fraction in percent (``%``) or a value with its unit."""
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if unit == "x":
        return f"{value:.2f}x"
    return f"{100 * value:.1f} %" if unit == "%" else f"{value:.3g}{unit}"


@dataclass(frozen=True)
class Data:
    """What the claims are computed from."""

    frames: pd.DataFrame
    table6: pd.DataFrame
    per_resolution: pd.DataFrame
    runs: pd.DataFrame | None
    paper: PaperClaims


TableParts = Callable[..., list[Part]]  # (a Table 6 like table, PaperClaims, HalfUnits)


@dataclass(frozen=True)
class Claim:
    """A claim's computation: its parts from our data, and from a Table 6 like table (the
    paper's own) where that table holds the quantity; ``note``: what a reader of the verdict
    should know. Its text and numbers are in the paper's data."""

    number: int
    parts: Callable[[Data], list[Part]]
    table6_parts: TableParts | None = None
    note: str = ""


def _ratio(
    table: pd.DataFrame, role: str, column: str, num: str, den: str, half: HalfUnits
) -> Bounds:
    """Per device: mean ``column`` over rows with ``role == num`` over that with ``role == den``."""
    means = _means(table, ["device", role], column, half).map(lambda m: m.unstack(role))
    if num not in means.value or den not in means.value:
        return Bounds.exact(pd.Series(dtype=float))
    return (means[num] / means[den]).dropna().map(lambda s: s.rename(index=str))


def _others_vs(table: pd.DataFrame, role: str, column: str, reference: str, skip: str) -> str:
    """Context for an untestable part: each other framework's ratio to ``reference``."""
    means = table.groupby(["device", role], observed=True)[column].mean().unstack(role)
    if reference not in means:
        return ""
    texts = [
        f"{device} {framework} {means.loc[device, framework] / means.loc[device, reference]:.2f}x"
        for framework in means.columns
        if framework not in (reference, skip)
        for device in means.index
        if pd.notna(means.loc[device, framework] / means.loc[device, reference])
    ]
    return f"{column} {role} vs {reference}: " + ", ".join(texts) if texts else ""


# --- claims 1-2: phase shares -----------------------------------------------------------------


def _claim1(data: Data) -> list[Part]:
    share = data.paper.values(1)["read_share"]
    means = data.table6.groupby("device", observed=True)[["read_time_s", "total_time_s"]].mean()
    values = (means["read_time_s"] / means["total_time_s"]).dropna().rename(index=str)
    return [
        Part(
            "frame read share of total time",
            values,
            share.lo,
            share.hi,
            "%",
            data.paper.precision(1, "read_share"),
            one_sided="read_share" in data.paper.claims[1].one_sided,
        )
    ]


def _claim2(table: pd.DataFrame, paper: PaperClaims, half: HalfUnits | None = None) -> list[Part]:
    """Each phase's share of detection + recognition time (Table 6 has no read time; reading
    is about 1 %, claim 1) per device that runs the tf detector (the Nano could not)."""
    half = half or {}
    share = paper.values(2)["phase_share"]
    with_tf = table.loc[table["detector"] == "tf", "device"].unique()
    table = table[table["device"].isin(with_tf)]
    detection = _means(table, "device", "detection_time_s", half)
    recognition = _means(table, "device", "recognition_time_s", half)
    missing = "no device runs the tf detector (the paper excepts Nano, which could not)"
    return [
        Part.of(
            f"{name} share of detection + recognition time",
            (1 / (1 + other / this)).dropna().map(lambda s: s.rename(index=str)),
            share.lo,
            share.hi,
            unit="%",
            precision=paper.precision(2, "phase_share"),
            missing=missing,
        )
        for name, this, other in (
            ("detection", detection, recognition),
            ("recognition", recognition, detection),
        )
    ]


# --- claims 3-7, 9, 12: from a Table 6 like table --------------------------------------------


def _claim3(table: pd.DataFrame, paper: PaperClaims, half: HalfUnits | None = None) -> list[Part]:
    """Each edge platform against each cloud platform: mean detection + recognition time over
    the platform's configurations, edge over cloud."""
    half = half or {}
    ratio = paper.values(3)["edge_over_cloud_time"]
    name = "edge over cloud time (detection + recognition) per platform pair"
    precision = paper.precision(3, "edge_over_cloud_time")
    classes = sorted(map(str, table["device_class"].unique()))
    if not {"edge", "cloud"} <= set(classes):
        missing = f"needs an edge and a cloud device: the data has {', '.join(classes)} only" + (
            " (emulated devices never count as either)" if "emulated" in str(classes) else ""
        )
        return [
            Part(name, pd.Series(dtype=float), ratio.lo, ratio.hi, "x", precision, missing=missing)
        ]
    by = ["device_class", "device"]
    time = _means(table, by, "detection_time_s", half) + _means(
        table, by, "recognition_time_s", half
    )
    time = time.dropna()
    edge, cloud = time.map(lambda t: t.xs("edge")), time.map(lambda t: t.xs("cloud"))
    labels = [f"{e}/{c}" for e in edge.value.index for c in cloud.value.index]
    pairs = Bounds(
        *(
            pd.Series(np.divide.outer(num.to_numpy(), den.to_numpy()).ravel(), index=labels)
            for num, den in (
                (edge.value, cloud.value),
                (edge.low, cloud.high),
                (edge.high, cloud.low.clip(lower=0)),
            )
        )
    )
    return [Part.of(name, pairs, ratio.lo, ratio.hi, precision=precision)]


def _claim4(table: pd.DataFrame, paper: PaperClaims, half: HalfUnits | None = None) -> list[Part]:
    speedup = paper.values(4)["tensorrt_mtcnn_speedup"]
    return [
        Part.of(
            "tensorrt MTCNN speed-up over tf",
            _ratio(table, "detector", "detection_time_s", "tf", "tensorrt", half or {}),
            speedup.lo,
            speedup.hi,
            precision=paper.precision(4, "tensorrt_mtcnn_speedup"),
            missing="no device runs both the tensorrt and the tf detector",
        )
    ]


def _claim5(table: pd.DataFrame, paper: PaperClaims, half: HalfUnits | None = None) -> list[Part]:
    saved = paper.values(5)["tensorrt_facenet_time_saved"]
    ratio = _ratio(table, "recognizer", "recognition_time_s", "tensorrt", "tf", half or {})
    return [
        Part.of(
            "tensorrt FaceNet time saved over tf",
            1 - ratio,
            saved.lo,
            saved.hi,
            unit="%",
            precision=paper.precision(5, "tensorrt_facenet_time_saved"),
            missing="no device runs both the tensorrt and the tf recognizer",
        )
    ]


def _claim6(table: pd.DataFrame, paper: PaperClaims, half: HalfUnits | None = None) -> list[Part]:
    """A platform the paper names against its own change; any other against the paper's
    lowest and highest."""
    paper_change = paper.values(6)["tflite_change"]
    change = _ratio(table, "recognizer", "recognition_time_s", "tflite", "tf", half or {}) - 1
    named = [device for device in change.value.index if device in paper_change]
    parts = [
        Part.of(
            f"tflite FaceNet time change vs tf (paper {paper_change[device]:+.0%})",
            change.map(lambda s, d=device: s[[d]]),
            paper_change[device],
            paper_change[device],
            unit="%",
            precision=paper.precision(6, "tflite_change", device),
        )
        for device in named
    ]
    others = change.map(lambda s: s[~s.index.isin(list(paper_change))])
    if parts and others.value.empty:
        return parts
    return [
        *parts,
        Part.of(
            "tflite FaceNet time change vs tf (other devices)",
            others,
            min(paper_change.values()),
            max(paper_change.values()),
            unit="%",
            precision=min(paper.precision(6, "tflite_change", d) for d in paper_change),
            missing="no device runs both the tflite and the tf recognizer",
        ),
    ]


def _spread(table: pd.DataFrame, detector: str, half: HalfUnits) -> Bounds:
    """1 - the fewest over the most mean faces across devices, with the bounds rounding
    allows."""
    faces = table[table["detector"] == detector].groupby("device", observed=True)["faces"].mean()
    if len(faces) < 2:
        return Bounds.exact(pd.Series(dtype=float))
    fewest, most, h = faces.min(), faces.max(), half.get("faces", 0.0)
    return Bounds(
        *(
            pd.Series({"all devices": value})
            for value in (
                1 - fewest / most,
                max(0.0, 1 - (fewest + h) / (most - h)),
                1 - (fewest - h) / (most + h),
            )
        )
    )


def _claim7(table: pd.DataFrame, paper: PaperClaims, half: HalfUnits | None = None) -> list[Part]:
    half = half or {}
    numbers, one_sided = paper.values(7), paper.claims[7].one_sided
    return [
        *(
            Part.of(
                f"{detector} MTCNN face-count spread across devices",
                _spread(table, detector, half),
                numbers[key].lo,
                numbers[key].hi,
                unit="%",
                precision=paper.precision(7, key),
                one_sided=key in one_sided,
                missing=f"fewer than two devices run the {detector} detector",
            )
            for detector, key in (("tf", "tf_face_spread"), ("tensorrt", "tensorrt_face_spread"))
        ),
        Part.of(
            "tensorrt over tf MTCNN faces",
            _ratio(table, "detector", "faces", "tensorrt", "tf", half),
            1.0,
            math.inf,
            exact=True,
            missing="no device runs both the tensorrt and tf detector",
        ),
    ]


def _claim12(table: pd.DataFrame, paper: PaperClaims, half: HalfUnits | None = None) -> list[Part]:
    lost = paper.values(12)["fps_lost_tflite_vs_tensorrt"]
    by = ["device", "detector", "recognizer"]
    fps = _means(table, by, "fps", half or {}).map(lambda m: m.unstack("recognizer"))
    values = Bounds.exact(pd.Series(dtype=float))
    if {"tflite", "tensorrt"} <= set(fps.value.columns):
        values = (1 - fps["tflite"] / fps["tensorrt"]).dropna()
        labels = [f"{dev}/{det}" for dev, det in values.value.index]
        values = values.map(lambda s: s.set_axis(labels))
    return [
        Part.of(
            "FPS lost with tflite instead of tensorrt FaceNet",
            values,
            lost.lo,
            lost.hi,
            unit="%",
            precision=paper.precision(12, "fps_lost_tflite_vs_tensorrt"),
            missing="no device runs both the tflite and the tensorrt recognizer",
        )
    ]


def _claim9_table(
    table: pd.DataFrame, paper: PaperClaims, old: str, new: str, half: HalfUnits | None = None
) -> list[Part]:
    """Claim 9 between devices ``old`` (the paper's older Ubuntu) and ``new`` of a Table 6."""
    half = half or {}
    pair = table[table["device"].isin([old, new])].assign(
        os=lambda t: t["device"].map({old: "old", new: "new"})
    )
    fps = _ratio(pair.assign(device="pair"), "os", "fps", "old", "new", half)
    parts = [
        Part.of(f"FPS Ubuntu {paper.old_os} over {paper.new_os}", fps, 1.0, math.inf, exact=True)
    ]
    for role, frameworks in paper.values(9)["time_new_over_old"].items():
        for framework, expected in frameworks.items():
            column = "detection_time_s" if role == "detector" else "recognition_time_s"
            rows = pair[pair[role] == framework].assign(device=f"{role} {framework}")
            parts.append(
                Part.of(
                    f"{role} {framework} time {paper.new_os} over {paper.old_os}",
                    _ratio(rows, "os", column, "new", "old", half),
                    expected,
                    expected,
                    precision=paper.precision(9, "time_new_over_old", role, framework),
                    missing=f"no {role} {framework} runs on both",
                )
            )
    return parts


def _claim9(data: Data) -> list[Part]:
    paper = data.paper
    pair = _os_pair(data.runs, paper.old_os, paper.new_os)
    if isinstance(pair, str):
        return [
            Part(
                f"Ubuntu {paper.old_os} vs {paper.new_os} on identical hardware",
                pd.Series(dtype=float),
                1.0,
                math.inf,
                exact=True,
                missing=pair,
            )
        ]
    return _claim9_table(data.table6, paper, *pair)


def _os_pair(runs: pd.DataFrame | None, old_os: str, new_os: str) -> tuple[str, str] | str:
    """Two devices with the same CPU and GPU, one on Ubuntu ``old_os`` and one on ``new_os``,
    or why not."""
    if runs is None:
        return "no run metadata"
    hosts = runs.astype({"device": str})[["device", "os", "cpu_model", "gpu"]].drop_duplicates()
    for _, same in hosts.groupby(["cpu_model", "gpu"]):
        old = same[same["os"].str.contains(old_os, regex=False)]
        new = same[same["os"].str.contains(new_os, regex=False)]
        if len(old) and len(new):
            return old["device"].iloc[0], new["device"].iloc[0]
    systems = sorted(hosts["os"].unique())
    return f"needs Ubuntu {old_os} and {new_os} on identical hardware; the data has " + (
        f"only one OS ({systems[0]})" if len(systems) == 1 else ", ".join(systems)
    )


# --- claim 8: resolution ---------------------------------------------------------------------


def _claim8(data: Data) -> list[Part]:
    ratios = resolution_ratios(data.per_resolution)
    if ratios.empty:
        return [
            Part(
                "resolution steps",
                pd.Series(dtype=float),
                0,
                0,
                exact=True,
                missing="fewer than two resolutions in the data",
            )
        ]
    paper, tolerance = data.paper, data.paper.tolerance
    parts, bands = [], {}
    for (quantity, step, framework), (lo, hi) in paper_resolution_ratios(paper).items():
        rows = _step_rows(ratios, quantity, step, framework)
        which = {"all": "", "tf": " (detectors but tensorrt)"}.get(framework, f" ({framework})")
        part = Part(
            f"{quantity} {step}{which}",
            rows.groupby("framework")["value"].mean(),
            lo,
            hi,
            precision=paper.precision(8, "resolution_ratios", quantity, step, framework),
            missing=f"no runs{which} at both resolutions",
        )
        parts.append(part)
        bands[quantity, step] = part.band(tolerance)
    # recognition time per face: the recognition-time band over the faces band of the paper
    per_face = data.per_resolution.assign(
        recognition_time_s=lambda t: (t["recognition_time_s"] / t["faces"]).replace(
            [np.inf, -np.inf], np.nan
        )
    )
    per_face_ratios = resolution_ratios(per_face)
    for step in dict.fromkeys(s for _, s in bands):
        if ("recognition-time growth", step) not in bands or ("faces growth", step) not in bands:
            continue
        (rec_lo, rec_hi), (faces_lo, faces_hi) = (
            bands["recognition-time growth", step],
            bands["faces growth", step],
        )
        rows = _step_rows(per_face_ratios, "recognition-time growth", step, "all")
        parts.append(
            Part(
                f"recognition time per face growth {step}",
                rows.groupby("framework")["value"].mean(),
                rec_lo / faces_hi,
                rec_hi / faces_lo,
                exact=True,
                missing=f"no runs with faces at both resolutions of {step}",
                rule="per face: the recognition-time band over the faces band",
            )
        )
    return parts


def _step_rows(ratios: pd.DataFrame, quantity: str, step: str, framework: str) -> pd.DataFrame:
    """The rows of ``resolution_ratios`` a paper ratio is set against: "all" is each framework
    on its own (pooled for the FPS drop), "tf" every detector but tensorrt."""
    rows = ratios[(ratios["quantity"] == quantity) & (ratios["step"] == step)]
    if framework == "tf":
        return rows[~rows["framework"].isin(["all", "tensorrt"])]
    if framework == "all" and quantity != "fps drop":
        return rows[rows["framework"] != "all"]
    return rows[rows["framework"] == framework]


# --- claims 10-11: memory and power ----------------------------------------------------------


def _paper_memory(paper: PaperClaims) -> dict[tuple[str, str, str], dict[str, float]]:
    """(role, more, less): {device class: GPU memory of ``more`` over ``less``}."""
    return {
        (role, *pair.split(" over ")): by_class
        for role, pairs in paper.values(10)["gpu_memory"].items()
        for pair, by_class in pairs.items()
    }


def _claim10(data: Data) -> list[Part]:
    frames = data.frames
    measured = frames["gpu_mem_used_mb"].notna() & frames["gpu_mem_total_mb"].notna()
    reason = sensor_reason(data.runs, "gpu_mem_used_mb")
    parts = []
    for (role, more, less), by_class in _paper_memory(data.paper).items():
        for device_class, value in by_class.items():
            sub = frames[measured & (frames["device_class"] == device_class)]
            ratio = (
                (sub["gpu_mem_used_mb"] / sub["gpu_mem_total_mb"])
                .groupby([sub["device"], sub[role]], observed=True)
                .mean()
                .unstack(role)
            )
            values = pd.Series(dtype=float)
            if {more, less} <= set(ratio.columns):
                values = pd.Series({device_class: (ratio[more] / ratio[less]).mean()}).dropna()
            missing = reason if not measured.any() else f"no {device_class} runs of both"
            pair = f"{more} over {less}"
            parts.append(
                Part(
                    f"GPU memory {role} {pair} ({device_class})",
                    values,
                    value,
                    value,
                    precision=data.paper.precision(10, "gpu_memory", role, pair, device_class),
                    missing=missing,
                )
            )
    return parts


def _claim11(data: Data) -> list[Part]:
    frames = data.frames[data.frames["power_w"].notna()]
    paper, numbers = data.paper, data.paper.values(11)
    missing = sensor_reason(data.runs, "power_w") if frames.empty else ""
    parts = []
    for device_class, power_w in numbers["gpu_power_w"].items():
        power = frames.loc[frames["device_class"] == device_class, "power_w"]
        values = power.quantile([0.01, 0.99]).set_axis(["p1", "p99"]) if len(power) else power
        parts.append(
            Part(
                f"{device_class} GPU power (1st-99th percentile)",
                values,
                power_w.lo,
                power_w.hi,
                " W",
                paper.precision(11, "gpu_power_w", device_class),
                missing=missing or f"no {device_class} device",
            )
        )
    config = frames.groupby(["device", "device_class", "detector", "recognizer"], observed=True)
    means = (
        pd.DataFrame({"power_w": config["power_w"].mean(), "energy_j": config["energy_j"].mean()})
        .reset_index()
        .astype({"device": str, "device_class": str, "detector": str, "recognizer": str})
    )
    for device_class, extra in numbers["tensorrt_extra_power"].items():
        rows = means[means["device_class"] == device_class]
        values = pd.concat(
            [
                _ratio(rows, role, "power_w", "tensorrt", "tf", {}).value.add_suffix(f" {role}") - 1
                for role in ("detector", "recognizer")
            ]
        )
        parts.append(
            Part(
                f"tensorrt over tf mean power, by detector and recognizer ({device_class})",
                values,
                extra,
                extra,
                "%",
                paper.precision(11, "tensorrt_extra_power", device_class),
                one_sided="tensorrt_extra_power" in paper.claims[11].one_sided,
                missing=missing or f"no {device_class} device runs both tensorrt and tf",
            )
        )
    least = paper.claims[11].pairs["least_energy"]
    exceptions = least.get("except", {})

    def least_energy_pair(device: str) -> tuple[str, str]:
        pair = exceptions.get(device, least)
        return pair["detector"], pair["recognizer"]

    named = ", ".join(f"{d}: {p['detector']} + {p['recognizer']}" for d, p in exceptions.items())
    return [
        *parts,
        _best_uses(
            means,
            "power_w",
            True,
            lambda _, r: "tensorrt" in (r["detector"], r["recognizer"]),
            "highest-power configuration uses tensorrt",
            missing,
        ),
        _best_uses(
            means,
            "power_w",
            False,
            lambda _, r: r["recognizer"] == "tflite",
            "lowest-power configuration uses tflite FaceNet",
            missing,
        ),
        _best_uses(
            means,
            "energy_j",
            False,
            lambda d, r: (r["detector"], r["recognizer"]) == least_energy_pair(d),
            f"least energy per frame: {least['detector']} MTCNN + {least['recognizer']} FaceNet"
            + (f" ({named})" if named else ""),
            missing,
        ),
    ]


def _best_uses(
    means: pd.DataFrame,
    column: str,
    highest: bool,
    uses: Callable[[str, pd.Series], bool],
    name: str,
    missing: str,
) -> Part:
    """Per device where some configuration ``uses`` it (given the device): 1 if the
    configuration with the highest (lowest) ``column`` does, else 0."""
    values = {}
    for device, rows in means.dropna(subset=[column]).groupby("device", observed=True):
        if rows.apply(lambda r, d=str(device): uses(d, r), axis=1).any():
            best = rows.loc[rows[column].idxmax() if highest else rows[column].idxmin()]
            values[str(device)] = float(uses(str(device), best))
    return Part(
        f"{name} (1 = yes)",
        pd.Series(values, dtype=float),
        1.0,
        1.0,
        "",
        exact=True,
        missing=missing or "no device runs those frameworks with power measured",
    )


CLAIMS = (
    Claim(1, _claim1),
    Claim(2, lambda d: _claim2(d.table6, d.paper), _claim2),
    Claim(3, lambda d: _claim3(d.table6, d.paper), _claim3),
    Claim(4, lambda d: _claim4(d.table6, d.paper), _claim4),
    Claim(5, lambda d: _claim5(d.table6, d.paper), _claim5),
    Claim(6, lambda d: _claim6(d.table6, d.paper), _claim6),
    Claim(7, lambda d: _claim7(d.table6, d.paper), _claim7),
    Claim(
        8,
        _claim8,
        note=(
            "faces growth, and recognition time with it, depends on the video: the paper's 480 "
            "input lost small faces, a generated video has the same faces at every resolution; "
            "recognition time per face does not depend on it"
        ),
    ),
    Claim(9, _claim9, lambda t, p, h=None: _claim9_table(t, p, *p.os_pair_devices, h)),
    Claim(10, _claim10),
    Claim(11, _claim11),
    Claim(12, lambda d: _claim12(d.table6, d.paper), _claim12),
)


def _untested(parts: list[Part]) -> str:
    """The untestable parts, grouped by reason."""
    by_reason: dict[str, list[str]] = {}
    for part in parts:
        if part.values.empty:
            by_reason.setdefault(part.missing, []).append(part.name)
    return "; ".join(f"{', '.join(names)}: {reason}" for reason, names in by_reason.items())


def _verdict(parts: list[Part], tolerance: float) -> tuple[str, str]:
    tested = [p for p in parts if not p.values.empty]
    untested = _untested(parts)
    if not tested:
        return "not testable here", untested
    failed = [p for p in tested if not p.ok(tolerance)]
    if failed:
        reason = "; ".join(
            f"{p.name} outside {p.band_text(tolerance)}"
            + ("" if p.rule else f" (paper {p.paper_range()})")
            for p in failed
        )
    else:
        reason = "every value within the paper's range and its tolerance"
    return ("does not hold" if failed else "holds"), reason + (
        f" (not testable: {untested})" if untested else ""
    )


def _tolerance(parts: list[Part], tolerance: float, half: HalfUnits | None) -> str:
    """The tolerances applied to ``parts``, each once; with ``half``, the rounding the
    paper's Table 6 values carry."""
    rules = list(dict.fromkeys(p.tolerance_text(tolerance) for p in parts))
    if half:
        rounding = ", ".join(f"{v:g}" for v in sorted(set(half.values())))
        rules.append(f"Table 6 values +-{rounding}, half its last digit, carried through")
    return "; ".join(rules)


CONTEXT = {  # claim: the comparison our frameworks allow, when the claim's is missing
    4: ("detector", "detection_time_s", "tf", "tensorrt"),
    5: ("recognizer", "recognition_time_s", "tf", "tensorrt"),
    7: ("detector", "faces", "tf", "tensorrt"),
    12: ("recognizer", "fps", "tflite", "tensorrt"),
}


def _context(claim: Claim, data: Data) -> str:
    """What our data shows nearest an untestable claim."""
    if claim.number == 10:
        rss = data.frames.groupby(["device", "recognizer"], observed=True)["rss_mb"].mean()
        return "process RSS (not GPU memory): " + ", ".join(
            f"{d} {r} {v:.0f} MB" for (d, r), v in rss.dropna().items()
        )
    return _others_vs(data.table6, *CONTEXT[claim.number]) if claim.number in CONTEXT else ""


def check_claims(
    frames: pd.DataFrame,
    runs: pd.DataFrame | None = None,
    paper_table6_csv: Path | None = None,
    paper_claims_yaml: Path = CLAIMS_YAML,
) -> pd.DataFrame:
    """One row per claim: text, the paper's numbers, the same computation on the paper's
    Table 6 with its verdict (``paper_verdict``) where the table holds the quantity, our
    quantity, verdict and reason, and the tolerance applied."""
    paper = read_paper_claims(paper_claims_yaml)
    paper_table6 = read_paper_table6(paper_table6_csv) if paper_table6_csv else None
    half = half_units(paper_table6) if paper_table6 is not None else {}
    data = Data(frames, table6(frames), per_resolution_table(frames), runs, paper)
    rows = []
    for claim in CLAIMS:
        parts = claim.parts(data)
        verdict, reason = _verdict(parts, paper.tolerance)
        if claim.note and verdict != "not testable here":
            reason = f"{reason}; {claim.note}"
        ours = "; ".join(p.text() for p in parts if not p.values.empty)
        if verdict == "not testable here":
            ours = _context(claim, data)
        recomputed, paper_verdict, paper_parts = "", "Table 6 not given", []
        if paper_table6 is not None and claim.table6_parts is None:
            recomputed = NO_TABLE6.get(claim.number, "")
            paper_verdict = "not in Table 6"
        elif paper_table6 is not None:
            paper_parts = claim.table6_parts(paper_table6, paper, half)
            recomputed = "; ".join(p.text(paper.tolerance) for p in paper_parts)
            paper_verdict = _verdict(paper_parts, paper.tolerance)[0]
        rows.append(
            {
                "claim": claim.number,
                "text": paper.claims[claim.number].text,
                "paper": paper.claims[claim.number].paper,
                "paper_from_table6": recomputed,
                "paper_verdict": paper_verdict,
                "ours": ours,
                "verdict": verdict,
                "reason": reason,
                "tolerance": _tolerance(
                    parts + paper_parts, paper.tolerance, half if paper_parts else None
                ),
            }
        )
    return pd.DataFrame(rows)
