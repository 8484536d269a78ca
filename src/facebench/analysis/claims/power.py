"""Claim 11, power: the GPU power range per device class, TensorRT drawing the most (up to the
paper's excess over TensorFlow) and TFLite the least, and the pair with the least energy per
frame."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from facebench.analysis.claims.engine import Data, Part
from facebench.analysis.claims.intervals import NO_ROUNDING
from facebench.analysis.claims.quantities import framework_ratio
from facebench.analysis.paper import PaperClaims
from facebench.analysis.tables import sensor_reason

Uses = Callable[[pd.Series], bool]  # a configuration row (with its device's class and OS)


def power(data: Data) -> list[Part]:
    """Claim 11 on the frames with power measured."""
    frames = data.frames[data.frames["power_w"].notna()]
    missing = sensor_reason(data.runs, "power_w") if frames.empty else ""
    means = _config_means(frames, data)
    least = _LeastEnergyPair.of(data.paper)
    return [
        *_power_ranges(frames, data.paper, missing),
        *_tensorrt_extra_power(means, data.paper, missing),
        _against_the_rest(
            means,
            "power_w",
            _uses_tensorrt,
            "highest power with tensorrt over without",
            True,
            missing,
        ),
        _against_the_rest(
            means,
            "power_w",
            _uses_tflite_facenet,
            "lowest power with tflite FaceNet over without",
            False,
            missing,
        ),
        _against_the_rest(means, "energy_j", least, least.name(), False, missing),
    ]


def _config_means(frames: pd.DataFrame, data: Data) -> pd.DataFrame:
    """Mean power and energy per frame of each configuration of each device, with the
    device's OS and whether an identical-hardware twin runs the paper's older OS."""
    config = frames.groupby(["device", "device_class", "detector", "recognizer"], observed=True)
    means = (
        pd.DataFrame({"power_w": config["power_w"].mean(), "energy_j": config["energy_j"].mean()})
        .reset_index()
        .astype({"device": str, "device_class": str, "detector": str, "recognizer": str})
    )
    hosts = _hosts(data.runs, data.paper.old_os)
    return means.merge(hosts, on="device", how="left").fillna({"os": "", "old_os_twin": False})


def _hosts(runs: pd.DataFrame | None, old_os: str) -> pd.DataFrame:
    """Per device: its OS and whether another device with its CPU and GPU runs ``old_os``."""
    if runs is None or not {"os", "cpu_model", "gpu"} <= set(runs):
        return pd.DataFrame(columns=["device", "os", "old_os_twin"])
    hosts = runs.astype({"device": str})[["device", "os", "cpu_model", "gpu"]].drop_duplicates()
    hosts = hosts.astype({"os": str, "cpu_model": str, "gpu": str})
    old = hosts[hosts["os"].str.contains(old_os, regex=False)]
    twins = hosts.merge(old, on=["cpu_model", "gpu"], suffixes=("", "_twin"))
    twins = twins[twins["device"] != twins["device_twin"]]
    return hosts.assign(old_os_twin=hosts["device"].isin(twins["device"]))[
        ["device", "os", "old_os_twin"]
    ]


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
    over those with a tf one (the same other framework), minus 1: more than none, at most the
    paper's excess."""
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
                null=0.0,
                one_sided="tensorrt_extra_power" in paper.claims[11].one_sided,
                missing=missing or f"no {device_class} device runs both tensorrt and tf",
            )
        )
    return parts


def _uses_tensorrt(config: pd.Series) -> bool:
    return "tensorrt" in (config["detector"], config["recognizer"])


def _uses_tflite_facenet(config: pd.Series) -> bool:
    return config["recognizer"] == "tflite"


@dataclass(frozen=True)
class _LeastEnergyPair:
    """The paper's least-energy detector and recognizer, and the pairs it names instead on the
    devices its exceptions describe (device class, OS, an identical twin on the older OS)."""

    detector: str
    recognizer: str
    exceptions: dict[str, dict[str, Any]]

    @classmethod
    def of(cls, paper: PaperClaims) -> _LeastEnergyPair:
        least = paper.claims[11].pairs["least_energy"]
        return cls(least["detector"], least["recognizer"], least.get("except", {}))

    def __call__(self, config: pd.Series) -> bool:
        for exception in self.exceptions.values():
            if (
                config["device_class"] == exception["device_class"]
                and exception["os"] in str(config["os"])
                and bool(config["old_os_twin"])
            ):
                return (config["detector"], config["recognizer"]) == (
                    exception["detector"],
                    exception["recognizer"],
                )
        return (config["detector"], config["recognizer"]) == (self.detector, self.recognizer)

    def name(self) -> str:
        named = ", ".join(
            f"{e['device_class']} on {e['os']} beside an older-OS twin: "
            f"{e['detector']} + {e['recognizer']}"
            for e in self.exceptions.values()
        )
        return (
            f"least energy per frame with {self.detector} MTCNN + {self.recognizer} FaceNet "
            f"over the rest" + (f" ({named})" if named else "")
        )


def _against_the_rest(
    means: pd.DataFrame, column: str, uses: Uses, name: str, highest: bool, missing: str
) -> Part:
    """Per device where some configuration ``uses`` it and some does not: the highest (lowest)
    ``column`` among those that do over that among the rest; strictly above (below) 1. A tie
    is no evidence either way."""
    values = {}
    for device, rows in means.dropna(subset=[column]).groupby("device", observed=True):
        using = rows.apply(uses, axis=1).astype(bool)
        if using.any() and (~using).any():
            pick = max if highest else min
            values[str(device)] = pick(rows.loc[using, column]) / pick(rows.loc[~using, column])
    return Part(
        name,
        pd.Series(values, dtype=float),
        1.0 if highest else -math.inf,
        math.inf if highest else 1.0,
        strict=True,
        missing=missing or "no device runs those frameworks and others with power measured",
    )
