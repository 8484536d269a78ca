"""Claim 10, GPU memory: TensorFlow uses more of it than TensorRT and TFLite."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd

from facebench.analysis.claims.engine import Data, Part
from facebench.analysis.paper import PaperClaims
from facebench.analysis.tables import sensor_reason

Pair = tuple[str, str, str]  # role, more, less


def gpu_memory(data: Data) -> list[Part]:
    """Per device class, used over total GPU memory of one framework over another's, averaged
    over the class's devices, against the paper's ratio; a ratio the paper's other two imply
    is shown, not judged, with how far the paper's own numbers disagree on it."""
    frames = data.frames
    measured = frames["gpu_mem_used_mb"].notna() & frames["gpu_mem_total_mb"].notna()
    reason = sensor_reason(data.runs, "gpu_mem_used_mb")
    paper = data.paper
    ratios = _paper_memory(paper)
    parts = []
    for (role, more, less), by_class in ratios.items():
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
            pair = f"{more} over {less}"
            parts.append(
                Part(
                    f"GPU memory {role} {pair} ({device_class})",
                    values,
                    value,
                    value,
                    precision=paper.precision(10, "gpu_memory", role, pair, device_class),
                    null=1.0,
                    missing=reason if not measured.any() else f"no {device_class} runs of both",
                    aside=_implied(paper, ratios, (role, more, less), device_class),
                )
            )
    return parts


def _implied(
    paper: PaperClaims, ratios: dict[Pair, dict[str, float]], pair: Pair, device_class: str
) -> str:
    """Why the ratio ``pair`` is not judged: the paper's other two ratios of its role imply it
    (more over less = (third over less) / (third over more)); "" where none do."""
    role, more, less = pair
    for third, over_less, over_more in _through(ratios, pair):
        implied = over_less[device_class] / over_more[device_class]
        h = paper.precision(10, "gpu_memory", role, f"{third} over {less}", device_class) / 2
        lowest = (over_less[device_class] - h) / (over_more[device_class] + h)
        highest = (over_less[device_class] + h) / (over_more[device_class] - h)
        printed = ratios[pair][device_class]
        agree = "within" if lowest - h <= printed <= highest + h else "outside"
        return (
            f"implied by the paper's {third} over {less} and {third} over {more}: "
            f"{implied:.2f}x ({lowest:.2f}-{highest:.2f}x by their rounding) against the "
            f"printed {printed:.2f}x, {agree} rounding"
        )
    return ""


def _through(
    ratios: dict[Pair, dict[str, float]], pair: Pair
) -> Iterator[tuple[str, dict[str, float], dict[str, float]]]:
    role, more, less = pair
    for other_role, third, other in ratios:
        if (
            other_role == role
            and other == less
            and third not in (more, less)
            and (role, third, more) in ratios
        ):
            yield third, ratios[role, third, less], ratios[role, third, more]


def _paper_memory(paper: PaperClaims) -> dict[Pair, dict[str, float]]:
    """(role, more, less): {device class: GPU memory of ``more`` over ``less``}."""
    return {
        (role, *pair.split(" over ")): by_class
        for role, pairs in paper.values(10)["gpu_memory"].items()
        for pair, by_class in pairs.items()
    }


def process_rss(data: Data) -> str:
    """Context where GPU memory is not measured: each recognizer's mean process RSS."""
    rss = data.frames.groupby(["device", "recognizer"], observed=True)["rss_mb"].mean()
    return "process RSS (not GPU memory): " + ", ".join(
        f"{d} {r} {v:.0f} MB" for (d, r), v in rss.dropna().items()
    )


def paper_inconsistencies(paper: PaperClaims) -> str:
    """The paper's ratios its other two contradict beyond their rounding."""
    ratios = _paper_memory(paper)
    found = [
        f"{role} {more} over {less} ({device_class}): {text}"
        for (role, more, less), by_class in ratios.items()
        for device_class in by_class
        if (text := _implied(paper, ratios, (role, more, less), device_class)).endswith(
            "outside rounding"
        )
    ]
    return "the paper's numbers disagree: " + "; ".join(found) if found else ""
