"""Claim 11, power: the GPU power range per device class, TensorRT drawing the most (up to the
paper's excess over TensorFlow) and TFLite the least, and the pair with the least energy per
frame."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from facebench.analysis.claims.engine import Data, Part
from facebench.analysis.claims.intervals import NO_ROUNDING
from facebench.analysis.claims.quantities import framework_ratio
from facebench.analysis.paper import PaperClaims
from facebench.analysis.tables import sensor_reason

Uses = Callable[[str, pd.Series], bool]  # (device, configuration row): whether it uses X


def power(data: Data) -> list[Part]:
    """Claim 11 on the frames with power measured."""
    frames = data.frames[data.frames["power_w"].notna()]
    missing = sensor_reason(data.runs, "power_w") if frames.empty else ""
    means = _config_means(frames)
    least = _LeastEnergyPair.of(data.paper)
    return [
        *_power_ranges(frames, data.paper, missing),
        *_tensorrt_extra_power(means, data.paper, missing),
        _extreme_uses(
            means,
            "power_w",
            True,
            _uses_tensorrt,
            "highest-power configuration uses tensorrt",
            missing,
        ),
        _extreme_uses(
            means,
            "power_w",
            False,
            _uses_tflite_facenet,
            "lowest-power configuration uses tflite FaceNet",
            missing,
        ),
        _extreme_uses(means, "energy_j", False, least, least.name(), missing),
    ]


def _config_means(frames: pd.DataFrame) -> pd.DataFrame:
    """Mean power and energy per frame of each configuration of each device."""
    config = frames.groupby(["device", "device_class", "detector", "recognizer"], observed=True)
    return (
        pd.DataFrame({"power_w": config["power_w"].mean(), "energy_j": config["energy_j"].mean()})
        .reset_index()
        .astype({"device": str, "device_class": str, "detector": str, "recognizer": str})
    )


def _power_ranges(frames: pd.DataFrame, paper: PaperClaims, missing: str) -> list[Part]:
    """Per device class, the 1st and 99th percentile of GPU power against the paper's range."""
    parts = []
    for device_class, power_w in paper.values(11)["gpu_power_w"].items():
        power_of_class = frames.loc[frames["device_class"] == device_class, "power_w"]
        values = power_of_class
        if len(power_of_class):
            values = power_of_class.quantile([0.01, 0.99]).set_axis(["p1", "p99"])
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
    return parts


def _tensorrt_extra_power(means: pd.DataFrame, paper: PaperClaims, missing: str) -> list[Part]:
    """Per device class, mean power of the configurations with a tensorrt detector (recognizer)
    over those with a tf one, minus 1: at most the paper's excess."""
    parts = []
    for device_class, extra in paper.values(11)["tensorrt_extra_power"].items():
        rows = means[means["device_class"] == device_class]
        ratios = {
            role: framework_ratio(rows, role, "power_w", "tensorrt", "tf", NO_ROUNDING).value
            for role in ("detector", "recognizer")
        }
        values = pd.concat([ratio.add_suffix(f" {role}") - 1 for role, ratio in ratios.items()])
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
    return parts


def _uses_tensorrt(device: str, config: pd.Series) -> bool:
    return "tensorrt" in (config["detector"], config["recognizer"])


def _uses_tflite_facenet(device: str, config: pd.Series) -> bool:
    return config["recognizer"] == "tflite"


@dataclass(frozen=True)
class _LeastEnergyPair:
    """The paper's least-energy detector and recognizer, on ``exceptions`` (device: pair) a
    pair of their own."""

    detector: str
    recognizer: str
    exceptions: dict[str, dict[str, Any]]

    @classmethod
    def of(cls, paper: PaperClaims) -> _LeastEnergyPair:
        least = paper.claims[11].pairs["least_energy"]
        return cls(least["detector"], least["recognizer"], least.get("except", {}))

    def __call__(self, device: str, config: pd.Series) -> bool:
        exception = self.exceptions.get(device)
        pair = (exception["detector"], exception["recognizer"]) if exception else self.pair()
        return (config["detector"], config["recognizer"]) == pair

    def pair(self) -> tuple[str, str]:
        return self.detector, self.recognizer

    def name(self) -> str:
        named = ", ".join(
            f"{d}: {p['detector']} + {p['recognizer']}" for d, p in self.exceptions.items()
        )
        return f"least energy per frame: {self.detector} MTCNN + {self.recognizer} FaceNet" + (
            f" ({named})" if named else ""
        )


def _extreme_uses(
    means: pd.DataFrame, column: str, highest: bool, uses: Uses, name: str, missing: str
) -> Part:
    """Per device where some configuration ``uses`` it (given the device): 1 if the
    configuration with the highest (lowest) ``column`` does, else 0."""
    values = {}
    for device, rows in means.dropna(subset=[column]).groupby("device", observed=True):
        if any(uses(str(device), config) for _, config in rows.iterrows()):
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
