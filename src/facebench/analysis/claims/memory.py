"""Claim 10, GPU memory: TensorFlow uses more of it than TensorRT and TFLite."""

from __future__ import annotations

import pandas as pd

from facebench.analysis.claims.engine import Data, Part
from facebench.analysis.paper import PaperClaims
from facebench.analysis.tables import sensor_reason


def gpu_memory(data: Data) -> list[Part]:
    """Per device class, used over total GPU memory of one framework over another's, averaged
    over the class's devices, against the paper's ratio."""
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


def _paper_memory(paper: PaperClaims) -> dict[tuple[str, str, str], dict[str, float]]:
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
