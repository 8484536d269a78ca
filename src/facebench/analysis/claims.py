"""The paper's 12 claims, each recomputed from our data with a computed verdict.

A claim is split into parts, each a quantity per device (or configuration) set against the
paper's range. A part holds when every value lies in the range widened by ``TOLERANCE`` of each
bound (the paper's figures are rounded and partly read from plots); strict inequalities are
not widened. A claim holds when all its testable parts hold, does not hold when one fails, and
is ``not testable here`` when no part can be computed (the reason says what is missing). Where
Table 6 allows, the same computation on the paper's own table is shown beside ours.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from facebench.analysis.tables import (
    PAPER_RESOLUTION_RATIOS,
    per_resolution_table,
    read_paper_table6,
    resolution_ratios,
    sensor_reason,
    table6,
)

TOLERANCE = 0.10
VERDICTS = ("holds", "does not hold", "not testable here")
PAPER_OS_PAIR = ("rtx2080ti-ub16", "rtx2080ti-ub18")  # the paper's two identical machines
OLD_OS, NEW_OS = "16.04", "18.04"


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

    @property
    def ok(self) -> bool | None:
        """Whether every value is in the (widened) range; None when there is no value."""
        if self.values.empty:
            return None
        slack = 0.0 if self.exact else TOLERANCE
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


@dataclass(frozen=True)
class Claim:
    number: int
    text: str
    paper: str
    parts: Callable[[Data], list[Part]]
    table6_parts: Callable[[pd.DataFrame], list[Part]] | None = None


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
    return [
        Part(
            "frame read share of total time", _shares(data.table6, "read_time_s"), 0.006, 0.01, "%"
        )
    ]


def _claim2(data: Data) -> list[Part]:
    table = data.table6
    with_tf = table.loc[table["detector"] == "tf", "device"].unique()
    table = table[table["device"].isin(with_tf)]
    missing = "no device runs the tf detector (the paper excepts Nano, which could not)"
    return [
        Part(
            f"{name} share of total time", _shares(table, column), 0.41, 0.58, "%", missing=missing
        )
        for name, column in (
            ("detection", "detection_time_s"),
            ("recognition", "recognition_time_s"),
        )
    ]


# --- claims 3-7, 12: from a Table 6 like table -----------------------------------------------


def _claim3(table: pd.DataFrame) -> list[Part]:
    fps = table.groupby(["detector", "recognizer", "device_class"], observed=True)["fps"].mean()
    fps = fps.unstack("device_class")
    values = pd.Series(dtype=float)
    if {"edge", "cloud"} <= set(fps.columns):
        values = (fps["cloud"] / fps["edge"]).dropna()
        values.index = [f"{d}/{r}" for d, r in values.index]
    classes = sorted(map(str, table["device_class"].unique()))
    missing = (
        "no detector/recognizer pair runs on both an edge and a cloud device"
        if len(classes) > 1
        else f"needs an edge and a cloud device: the data has {classes[0]} only"
    )
    return [Part("cloud over edge FPS per detector/recognizer", values, 2.0, 7.7, missing=missing)]


def _claim4(table: pd.DataFrame) -> list[Part]:
    values = 1 / _ratio(table, "detector", "detection_time_s", "tensorrt", "tf")
    return [
        Part(
            "tensorrt MTCNN speed-up over tf",
            values,
            6.0,
            11.0,
            missing="no device runs both the tensorrt and the tf detector",
        )
    ]


def _claim5(table: pd.DataFrame) -> list[Part]:
    values = 1 - _ratio(table, "recognizer", "recognition_time_s", "tensorrt", "tf")
    return [
        Part(
            "tensorrt FaceNet time saved over tf",
            values,
            0.51,
            0.76,
            "%",
            missing="no device runs both the tensorrt and the tf recognizer",
        )
    ]


PAPER_TFLITE_CHANGE = {
    "jetson-agx": -0.24,
    "rtx2070": -0.18,
    "rtx2080ti-ub16": -0.17,
    "jetson-nano": 0.0,
    "jetson-nx": 0.0,
    "rtx2080ti-ub18": 0.0,
    "jetson-tx2": 0.17,
    "gtx1080": 0.21,
    "rtx8000": 0.66,
}
PER_DEVICE_MARGIN = 0.05  # a device the paper names must be within 5 points of its value
# (the paper's "almost unchanged" is read as 0 +- 5 %)


def _claim6(table: pd.DataFrame) -> list[Part]:
    change = _ratio(table, "recognizer", "recognition_time_s", "tflite", "tf") - 1
    missing = "no device runs both the tflite and the tf recognizer"
    named = change[change.index.isin(list(PAPER_TFLITE_CHANGE))]
    parts = [
        Part(
            f"tflite FaceNet time change vs tf (paper {PAPER_TFLITE_CHANGE[device]:+.0%})",
            named[[device]],
            PAPER_TFLITE_CHANGE[device] - PER_DEVICE_MARGIN,
            PAPER_TFLITE_CHANGE[device] + PER_DEVICE_MARGIN,
            "%",
            exact=True,
        )
        for device in named.index
    ]
    others = change[~change.index.isin(list(PAPER_TFLITE_CHANGE))]
    if parts and others.empty:
        return parts
    return [
        *parts,
        Part(
            "tflite FaceNet time change vs tf (other devices)",
            others,
            -0.24,
            0.66,
            "%",
            missing=missing,
        ),
    ]


def _spread(table: pd.DataFrame, detector: str) -> pd.Series:
    faces = table[table["detector"] == detector].groupby("device", observed=True)["faces"].mean()
    if len(faces) < 2:
        return pd.Series(dtype=float)
    return pd.Series({"all devices": 1 - faces.min() / faces.max()})


def _claim7(table: pd.DataFrame) -> list[Part]:
    return [
        Part(
            "tf MTCNN face-count spread across devices",
            _spread(table, "tf"),
            0.0,
            0.01,
            "%",
            missing="fewer than two devices run the tf detector",
        ),
        Part(
            "tensorrt MTCNN face-count spread across devices",
            _spread(table, "tensorrt"),
            0.0,
            0.07,
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


def _claim12(table: pd.DataFrame) -> list[Part]:
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
            0.04,
            0.62,
            "%",
            missing="no device runs both the tflite and the tensorrt recognizer",
        )
    ]


def _claim9_table(table: pd.DataFrame, old: str, new: str) -> list[Part]:
    """Claim 9 between devices ``old`` (Ubuntu 16.04) and ``new`` (18.04) of a Table 6."""
    pair = table[table["device"].isin([old, new])].assign(
        os=lambda t: t["device"].map({old: "old", new: "new"})
    )
    fps = _ratio(pair.assign(device="pair"), "os", "fps", "old", "new")
    parts = [Part("FPS Ubuntu 16.04 over 18.04", fps, 1.0, math.inf, exact=True)]
    expected = {
        ("detector", "tf"): 1.53,
        ("detector", "tensorrt"): 0.95,
        ("recognizer", "tf"): 1.24,
        ("recognizer", "tflite"): 1.56,
        ("recognizer", "tensorrt"): 0.92,
    }
    for (role, framework), paper in expected.items():
        column = "detection_time_s" if role == "detector" else "recognition_time_s"
        rows = pair[pair[role] == framework].assign(device=f"{role} {framework}")
        value = _ratio(rows, "os", column, "new", "old")
        parts.append(
            Part(
                f"{role} {framework} time 18.04 over 16.04",
                value,
                paper,
                paper,
                missing=f"no {role} {framework} runs on both",
            )
        )
    return parts


def _claim9(data: Data) -> list[Part]:
    pair = _os_pair(data.runs)
    if isinstance(pair, str):
        return [
            Part(
                "Ubuntu 16.04 vs 18.04 on identical hardware",
                pd.Series(dtype=float),
                1.0,
                math.inf,
                missing=pair,
            )
        ]
    return _claim9_table(data.table6, *pair)


def _os_pair(runs: pd.DataFrame | None) -> tuple[str, str] | str:
    """Two devices with the same CPU and GPU, one on Ubuntu 16.04 and one on 18.04, or why not."""
    if runs is None:
        return "no run metadata"
    hosts = runs.astype({"device": str})[["device", "os", "cpu_model", "gpu"]].drop_duplicates()
    for _, same in hosts.groupby(["cpu_model", "gpu"]):
        old = same[same["os"].str.contains(OLD_OS, regex=False)]
        new = same[same["os"].str.contains(NEW_OS, regex=False)]
        if len(old) and len(new):
            return old["device"].iloc[0], new["device"].iloc[0]
    systems = sorted(hosts["os"].unique())
    return f"needs Ubuntu {OLD_OS} and {NEW_OS} on identical hardware; the data has " + (
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
    for (quantity, step, framework), (lo, hi) in PAPER_RESOLUTION_RATIOS.items():
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

PAPER_MEMORY = {  # (role, more, less): (edge, cloud) extra GPU memory of `more` over `less`
    ("detector", "tf", "tensorrt"): (1.29, 2.20),
    ("recognizer", "tf", "tflite"): (1.26, 1.80),
    ("recognizer", "tf", "tensorrt"): (1.15, 1.67),
    ("recognizer", "tensorrt", "tflite"): (1.09, 1.38),
}


def _claim10(data: Data) -> list[Part]:
    frames = data.frames
    measured = frames["gpu_mem_used_mb"].notna() & frames["gpu_mem_total_mb"].notna()
    reason = sensor_reason(data.runs, "gpu_mem_used_mb")
    parts = []
    for (role, more, less), paper in PAPER_MEMORY.items():
        for device_class, value in zip(("edge", "cloud"), paper, strict=True):
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
    for device_class, (lo, hi) in (("edge", (0.0, 3.5)), ("cloud", (13.0, 147.0))):
        power = frames.loc[frames["device_class"] == device_class, "power_w"]
        values = power.quantile([0.01, 0.99]).set_axis(["p1", "p99"]) if len(power) else power
        parts.append(
            Part(
                f"{device_class} GPU power (1st-99th percentile)",
                values,
                lo,
                hi,
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
    Claim(
        1,
        "Frame reading is a negligible share of the total time on every device.",
        "0.6 % to 1 %",
        _claim1,
    ),
    Claim(
        2,
        "Detection and recognition each take a similar share of the time (Nano excepted).",
        "41 % to 58 % each",
        _claim2,
    ),
    Claim(
        3,
        "Cloud devices are faster than edge devices.",
        "2x to 7.7x on average",
        lambda d: _claim3(d.table6),
        _claim3,
    ),
    Claim(
        4,
        "TensorRT MTCNN is much faster than TensorFlow MTCNN on every platform.",
        "6x to 11x",
        lambda d: _claim4(d.table6),
        _claim4,
    ),
    Claim(
        5,
        "TensorRT FaceNet is faster than TensorFlow FaceNet on every platform.",
        "51 % to 76 % less time",
        lambda d: _claim5(d.table6),
        _claim5,
    ),
    Claim(
        6,
        "TFLite FaceNet vs TensorFlow depends on the platform.",
        "-24 % AGX, -18 % RTX 2070, -17 % 2080 Ti Ub16; ~0 Nano, NX, 2080 Ti Ub18; +17 % TX2, "
        "+21 % GTX 1080, +66 % RTX 8000",
        lambda d: _claim6(d.table6),
        _claim6,
    ),
    Claim(
        7,
        "TF MTCNN face counts agree across platforms; TensorRT counts vary more and exceed "
        "TF's (false positives).",
        "TF within 1 %, TensorRT up to 7 % across platforms",
        lambda d: _claim7(d.table6),
        _claim7,
    ),
    Claim(
        8,
        "Higher resolution: FPS drops, detection time grows with pixels (TensorRT less), "
        "recognition time and detected faces grow.",
        "FPS /2.4 then /1.2; detection x1.9 per step (TensorRT +10 % HD->FHD); recognition "
        "x1.5-1.6 then +4-6 %; faces +35-83 % then +3-4 %",
        _claim8,
    ),
    Claim(
        9,
        "Ubuntu 16.04 is faster than 18.04 on identical hardware.",
        "TF MTCNN +53 %, TRT MTCNN -5 %, FaceNet TF +24 %, TFLite +56 %, TRT -8 % time on "
        "Ubuntu 18",
        _claim9,
        lambda t: _claim9_table(t, *PAPER_OS_PAIR),
    ),
    Claim(
        10,
        "TensorFlow uses more GPU memory than TensorRT and TFLite.",
        "MTCNN-TF +29 % (edge) / +120 % (cloud) over TRT; FaceNet-TF +26 %/+15 % (edge) and "
        "+80 %/+67 % (cloud) over TFLite/TRT; FaceNet-TRT +9 % / +38 % over TFLite",
        _claim10,
    ),
    Claim(
        11,
        "GPU power: edge 0-3.5 W, cloud 13-147 W; TensorRT draws the most, TFLite the "
        "least; MTCNN-TRT + FaceNet-TFLite is the most energy-efficient pair.",
        "edge 0-3.5 W, cloud 13-147 W; TRT up to +40 % (edge) / +35 % (cloud)",
        _claim11,
    ),
    Claim(
        12,
        "TFLite accelerates less than TensorRT.",
        "4 % to 62 % less FPS",
        lambda d: _claim12(d.table6),
        _claim12,
    ),
)


def _untested(parts: list[Part]) -> str:
    """The untestable parts, grouped by reason."""
    by_reason: dict[str, list[str]] = {}
    for part in parts:
        if part.ok is None:
            by_reason.setdefault(part.missing, []).append(part.name)
    return "; ".join(f"{', '.join(names)}: {reason}" for reason, names in by_reason.items())


def _verdict(parts: list[Part]) -> tuple[str, str]:
    tested = [p for p in parts if p.ok is not None]
    untested = _untested(parts)
    if not tested:
        return "not testable here", untested
    failed = [p for p in tested if not p.ok]
    if failed:
        reason = "; ".join(f"{p.name} outside {p.paper_range()}" for p in failed)
    else:
        reason = f"within {TOLERANCE:.0%} of the paper's range"
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
    frames: pd.DataFrame, runs: pd.DataFrame | None = None, paper_table6_csv: Path | None = None
) -> pd.DataFrame:
    """One row per claim: text, the paper's numbers, the same computation on the paper's
    Table 6 where possible, our quantity, verdict and reason."""
    paper = read_paper_table6(paper_table6_csv) if paper_table6_csv else None
    data = Data(frames, table6(frames), per_resolution_table(frames), runs)
    rows = []
    for claim in CLAIMS:
        parts = claim.parts(data)
        verdict, reason = _verdict(parts)
        ours = "; ".join(p.text() for p in parts if p.ok is not None)
        if verdict == "not testable here":
            ours = _context(claim, data)
        recomputed = ""
        if paper is not None and claim.table6_parts is not None:
            recomputed = "; ".join(p.text() for p in claim.table6_parts(paper))
        rows.append(
            {
                "claim": claim.number,
                "text": claim.text,
                "paper": claim.paper,
                "paper_from_table6": recomputed,
                "ours": ours,
                "verdict": verdict,
                "reason": reason,
            }
        )
    return pd.DataFrame(rows)
