"""The paper's 12 claims, each recomputed from our data with a computed verdict.

The paper's numbers, the claims' prose and where each comes from are data
(``resources/paper/claims.yaml``, read by :mod:`facebench.analysis.paper`); this module only
computes. A claim is split into parts, each a quantity per device (or configuration) set against
the paper's range. A part holds when every value lies in the range widened by the file's
``tolerance`` of each bound (the paper's figures are rounded and partly read from plots); strict
inequalities are not widened. A claim holds when all its testable parts hold, does not hold
when one fails, and is ``not testable here`` when no part can be computed (the reason says what
is missing). Where Table 6 allows, the same computation on the paper's own table is shown beside
ours.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

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


@dataclass(frozen=True)
class Part:
    """One checkable statement: ``values`` (by label) against the paper's [lo, hi]."""

    name: str
    values: pd.Series
    lo: float
    hi: float
    unit: str = "x"  # "x" ratio, "%" fraction shown in percent, else a unit suffix
    exact: bool = False  # a strict inequality: bounds are not widened
    missing: str = ""  # why there are no values

    def ok(self, tolerance: float) -> bool | None:
        """Whether every value is in the range widened by ``tolerance`` of each bound; None
        when there is no value."""
        if self.values.empty:
            return None
        slack = 0.0 if self.exact else tolerance
        lo, hi = (
            b + sign * slack * abs(b) if math.isfinite(b) else b
            for b, sign in ((self.lo, -1), (self.hi, 1))
        )
        return bool(self.values.between(lo, hi).all())

    def text(self) -> str:
        if self.values.empty:
            return f"{self.name}: not testable ({self.missing})"
        shown = ", ".join(f"{k} {_fmt(v, self.unit)}" for k, v in self.values.items())
        return f"{self.name}: {shown}"

    def paper_range(self) -> str:
        if self.lo == self.hi:
            return _fmt(self.lo, self.unit)
        return f"{_fmt(self.lo, self.unit)} to {_fmt(self.hi, self.unit)}"


def _fmt(value: float, unit: str) -> str:
    """A ratio (``x``), a fraction in percent (``%``) or a value with its unit."""
    if math.isinf(value):
        return "inf"
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


@dataclass(frozen=True)
class Claim:
    """A claim's computation: its parts from our data, and from a Table 6 like table (the
    paper's own) where that table suffices. Its text and numbers are in the paper's data."""

    number: int
    parts: Callable[[Data], list[Part]]
    table6_parts: Callable[[pd.DataFrame, PaperClaims], list[Part]] | None = None


def _ratio(table: pd.DataFrame, role: str, column: str, num: str, den: str) -> pd.Series:
    """Per device: mean ``column`` over rows with ``role == num`` over that with ``role == den``."""
    means = table.groupby(["device", role], observed=True)[column].mean().unstack(role)
    if num not in means or den not in means:
        return pd.Series(dtype=float)
    return (means[num] / means[den]).dropna().rename(index=str)


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


def _shares(table: pd.DataFrame, column: str) -> pd.Series:
    means = table.groupby("device", observed=True)[[column, "total_time_s"]].mean()
    return (means[column] / means["total_time_s"]).dropna().rename(index=str)


def _claim1(data: Data) -> list[Part]:
    share = data.paper.values(1)["read_share"]
    return [
        Part(
            "frame read share of total time",
            _shares(data.table6, "read_time_s"),
            share.lo,
            share.hi,
            "%",
        )
    ]


def _claim2(data: Data) -> list[Part]:
    share = data.paper.values(2)["phase_share"]
    table = data.table6
    with_tf = table.loc[table["detector"] == "tf", "device"].unique()
    table = table[table["device"].isin(with_tf)]
    missing = "no device runs the tf detector (the paper excepts Nano, which could not)"
    return [
        Part(
            f"{name} share of total time",
            _shares(table, column),
            share.lo,
            share.hi,
            "%",
            missing=missing,
        )
        for name, column in (
            ("detection", "detection_time_s"),
            ("recognition", "recognition_time_s"),
        )
    ]


# --- claims 3-7, 12: from a Table 6 like table -----------------------------------------------


def _claim3(table: pd.DataFrame, paper: PaperClaims) -> list[Part]:
    ratio = paper.values(3)["cloud_over_edge_fps"]
    fps = table.groupby(["detector", "recognizer", "device_class"], observed=True)["fps"].mean()
    fps = fps.unstack("device_class")
    values = pd.Series(dtype=float)
    if {"edge", "cloud"} <= set(fps.columns):
        values = (fps["cloud"] / fps["edge"]).dropna()
        values.index = [f"{d}/{r}" for d, r in values.index]
    classes = sorted(map(str, table["device_class"].unique()))
    missing = (
        "no detector/recognizer pair runs on both an edge and a cloud device"
        if {"edge", "cloud"} <= set(classes)
        else f"needs an edge and a cloud device: the data has {', '.join(classes)} only"
        + (" (emulated devices never count as either)" if "emulated" in str(classes) else "")
    )
    return [
        Part(
            "cloud over edge FPS per detector/recognizer",
            values,
            ratio.lo,
            ratio.hi,
            missing=missing,
        )
    ]


def _claim4(table: pd.DataFrame, paper: PaperClaims) -> list[Part]:
    speedup = paper.values(4)["tensorrt_mtcnn_speedup"]
    values = 1 / _ratio(table, "detector", "detection_time_s", "tensorrt", "tf")
    return [
        Part(
            "tensorrt MTCNN speed-up over tf",
            values,
            speedup.lo,
            speedup.hi,
            missing="no device runs both the tensorrt and the tf detector",
        )
    ]


def _claim5(table: pd.DataFrame, paper: PaperClaims) -> list[Part]:
    saved = paper.values(5)["tensorrt_facenet_time_saved"]
    values = 1 - _ratio(table, "recognizer", "recognition_time_s", "tensorrt", "tf")
    return [
        Part(
            "tensorrt FaceNet time saved over tf",
            values,
            saved.lo,
            saved.hi,
            "%",
            missing="no device runs both the tensorrt and the tf recognizer",
        )
    ]


def _claim6(table: pd.DataFrame, paper: PaperClaims) -> list[Part]:
    numbers = paper.values(6)
    paper_change, margin = numbers["tflite_change"], numbers["per_device_margin"]
    change = _ratio(table, "recognizer", "recognition_time_s", "tflite", "tf") - 1
    missing = "no device runs both the tflite and the tf recognizer"
    named = change[change.index.isin(list(paper_change))]
    parts = [
        Part(
            f"tflite FaceNet time change vs tf (paper {paper_change[device]:+.0%})",
            named[[device]],
            paper_change[device] - margin,
            paper_change[device] + margin,
            "%",
            exact=True,
        )
        for device in named.index
    ]
    others = change[~change.index.isin(list(paper_change))]
    if parts and others.empty:
        return parts
    return [
        *parts,
        Part(
            "tflite FaceNet time change vs tf (other devices)",
            others,
            min(paper_change.values()),
            max(paper_change.values()),
            "%",
            missing=missing,
        ),
    ]


def _spread(table: pd.DataFrame, detector: str) -> pd.Series:
    faces = table[table["detector"] == detector].groupby("device", observed=True)["faces"].mean()
    if len(faces) < 2:
        return pd.Series(dtype=float)
    return pd.Series({"all devices": 1 - faces.min() / faces.max()})


def _claim7(table: pd.DataFrame, paper: PaperClaims) -> list[Part]:
    numbers = paper.values(7)
    tf_spread, tensorrt_spread = numbers["tf_face_spread"], numbers["tensorrt_face_spread"]
    return [
        Part(
            "tf MTCNN face-count spread across devices",
            _spread(table, "tf"),
            tf_spread.lo,
            tf_spread.hi,
            "%",
            missing="fewer than two devices run the tf detector",
        ),
        Part(
            "tensorrt MTCNN face-count spread across devices",
            _spread(table, "tensorrt"),
            tensorrt_spread.lo,
            tensorrt_spread.hi,
            "%",
            missing="fewer than two devices run the tensorrt detector",
        ),
        Part(
            "tensorrt over tf MTCNN faces",
            _ratio(table, "detector", "faces", "tensorrt", "tf"),
            1.0,
            math.inf,
            exact=True,
            missing="no device runs both the tensorrt and tf detector",
        ),
    ]


def _claim12(table: pd.DataFrame, paper: PaperClaims) -> list[Part]:
    lost = paper.values(12)["fps_lost_tflite_vs_tensorrt"]
    fps = table.groupby(["device", "detector", "recognizer"], observed=True)["fps"].mean()
    fps = fps.unstack("recognizer")
    values = pd.Series(dtype=float)
    if {"tflite", "tensorrt"} <= set(fps.columns):
        values = (1 - fps["tflite"] / fps["tensorrt"]).dropna()
        values.index = [f"{dev}/{det}" for dev, det in values.index]
    return [
        Part(
            "FPS lost with tflite instead of tensorrt FaceNet",
            values,
            lost.lo,
            lost.hi,
            "%",
            missing="no device runs both the tflite and the tensorrt recognizer",
        )
    ]


def _claim9_table(table: pd.DataFrame, paper: PaperClaims, old: str, new: str) -> list[Part]:
    """Claim 9 between devices ``old`` (the paper's older Ubuntu) and ``new`` of a Table 6."""
    pair = table[table["device"].isin([old, new])].assign(
        os=lambda t: t["device"].map({old: "old", new: "new"})
    )
    fps = _ratio(pair.assign(device="pair"), "os", "fps", "old", "new")
    name = f"FPS Ubuntu {paper.old_os} over {paper.new_os}"
    parts = [Part(name, fps, 1.0, math.inf, exact=True)]
    for role, frameworks in paper.values(9)["time_new_over_old"].items():
        for framework, expected in frameworks.items():
            column = "detection_time_s" if role == "detector" else "recognition_time_s"
            rows = pair[pair[role] == framework].assign(device=f"{role} {framework}")
            value = _ratio(rows, "os", column, "new", "old")
            parts.append(
                Part(
                    f"{role} {framework} time {paper.new_os} over {paper.old_os}",
                    value,
                    expected,
                    expected,
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
                missing="fewer than two resolutions in the data",
            )
        ]
    parts = []
    for (quantity, step, framework), (lo, hi) in paper_resolution_ratios(data.paper).items():
        rows = ratios[(ratios["quantity"] == quantity) & (ratios["step"] == step)]
        if framework == "tf":  # the paper's "every detector but TensorRT"
            rows = rows[~rows["framework"].isin(["all", "tensorrt"])]
        elif framework == "all" and quantity != "fps drop":  # each framework on its own
            rows = rows[rows["framework"] != "all"]
        else:
            rows = rows[rows["framework"] == framework]
        values = rows.groupby("framework")["value"].mean()
        which = {"all": "", "tf": " (detectors but tensorrt)"}.get(framework, f" ({framework})")
        parts.append(
            Part(
                f"{quantity} {step}{which}",
                values,
                lo,
                hi,
                missing=f"no runs{which} at both resolutions",
            )
        )
    return parts


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
            parts.append(
                Part(
                    f"GPU memory {role} {more} over {less} ({device_class})",
                    values,
                    value,
                    value,
                    missing=missing,
                )
            )
    return parts


def _claim11(data: Data) -> list[Part]:
    frames = data.frames[data.frames["power_w"].notna()]
    missing = sensor_reason(data.runs, "power_w") if frames.empty else ""
    parts = []
    for device_class, power_w in data.paper.values(11)["gpu_power_w"].items():
        power = frames.loc[frames["device_class"] == device_class, "power_w"]
        values = power.quantile([0.01, 0.99]).set_axis(["p1", "p99"]) if len(power) else power
        parts.append(
            Part(
                f"{device_class} GPU power (1st-99th percentile)",
                values,
                power_w.lo,
                power_w.hi,
                " W",
                missing=missing or f"no {device_class} device",
            )
        )
    config = frames.groupby(["device", "detector", "recognizer"], observed=True)
    means = (
        pd.DataFrame({"power_w": config["power_w"].mean(), "energy_j": config["energy_j"].mean()})
        .reset_index()
        .astype({"detector": str, "recognizer": str})
    )
    uses = {
        "tensorrt": lambda r: "tensorrt" in (r["detector"], r["recognizer"]),
        "tflite": lambda r: r["recognizer"] == "tflite",
        "tensorrt+tflite": lambda r: (r["detector"], r["recognizer"]) == ("tensorrt", "tflite"),
    }
    return [
        *parts,
        _best_uses(
            means,
            "power_w",
            True,
            uses["tensorrt"],
            "highest-power configuration uses tensorrt",
            missing,
        ),
        _best_uses(
            means,
            "power_w",
            False,
            uses["tflite"],
            "lowest-power configuration uses tflite FaceNet",
            missing,
        ),
        _best_uses(
            means,
            "energy_j",
            False,
            uses["tensorrt+tflite"],
            "least energy per frame: tensorrt MTCNN + tflite FaceNet",
            missing,
        ),
    ]


def _best_uses(
    means: pd.DataFrame,
    column: str,
    highest: bool,
    uses: Callable[[pd.Series], bool],
    name: str,
    missing: str,
) -> Part:
    """Per device where some configuration ``uses`` it: 1 if the configuration with the highest
    (lowest) ``column`` does, else 0."""
    values = {}
    for device, rows in means.dropna(subset=[column]).groupby("device", observed=True):
        if rows.apply(uses, axis=1).any():
            best = rows.loc[rows[column].idxmax() if highest else rows[column].idxmin()]
            values[str(device)] = float(uses(best))
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
    Claim(2, _claim2),
    Claim(3, lambda d: _claim3(d.table6, d.paper), _claim3),
    Claim(4, lambda d: _claim4(d.table6, d.paper), _claim4),
    Claim(5, lambda d: _claim5(d.table6, d.paper), _claim5),
    Claim(6, lambda d: _claim6(d.table6, d.paper), _claim6),
    Claim(7, lambda d: _claim7(d.table6, d.paper), _claim7),
    Claim(8, _claim8),
    Claim(9, _claim9, lambda t, p: _claim9_table(t, p, *p.os_pair_devices)),
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
        reason = "; ".join(f"{p.name} outside {p.paper_range()}" for p in failed)
    else:
        reason = f"within {tolerance:.0%} of the paper's range"
    return ("does not hold" if failed else "holds"), reason + (
        f" (not testable: {untested})" if untested else ""
    )


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
    Table 6 where possible, our quantity, verdict and reason."""
    paper = read_paper_claims(paper_claims_yaml)
    paper_table6 = read_paper_table6(paper_table6_csv) if paper_table6_csv else None
    data = Data(frames, table6(frames), per_resolution_table(frames), runs, paper)
    rows = []
    for claim in CLAIMS:
        parts = claim.parts(data)
        verdict, reason = _verdict(parts, paper.tolerance)
        ours = "; ".join(p.text() for p in parts if not p.values.empty)
        if verdict == "not testable here":
            ours = _context(claim, data)
        recomputed = ""
        if paper_table6 is not None and claim.table6_parts is not None:
            recomputed = "; ".join(p.text() for p in claim.table6_parts(paper_table6, paper))
        rows.append(
            {
                "claim": claim.number,
                "text": paper.claims[claim.number].text,
                "paper": paper.claims[claim.number].paper,
                "paper_from_table6": recomputed,
                "ours": ours,
                "verdict": verdict,
                "reason": reason,
            }
        )
    return pd.DataFrame(rows)
