"""Attribution of sensor samples to frames: levels (memory), rates (CPU, power) and energy,
from a hardware counter when one exists, else the trapezoidal integral of sampled power (the
MLPerf Power way)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from facebench.errors import FacebenchError
from facebench.sensors.probes import REPORTED_QUANTITIES

FRAME_COLUMNS = ("n_samples", *REPORTED_QUANTITIES)


def per_frame(samples: pd.DataFrame, frame_bounds_ns: np.ndarray) -> pd.DataFrame:
    """One row per ``(start_ns, end_ns)`` frame with the columns of ``FRAME_COLUMNS``; how each
    was computed is in ``.attrs["method"]`` (see :func:`frame_methods`)."""
    bounds_ns = np.asarray(frame_bounds_ns, dtype=np.int64)
    if bounds_ns.ndim != 2 or bounds_ns.shape[1] != 2:
        raise FacebenchError(f"frame_bounds_ns: expected shape (F, 2), got {bounds_ns.shape}")
    if (bounds_ns[:, 1] < bounds_ns[:, 0]).any():
        raise FacebenchError("frame_bounds_ns: a frame ends before it starts")
    t_ns = samples["t_ns"].to_numpy(np.int64)
    origin_ns = t_ns[0] if len(t_ns) else 0
    t_s = (t_ns - origin_ns) / 1e9
    start_s, end_s = ((bounds_ns - origin_ns) / 1e9).T
    lo = np.searchsorted(t_ns, bounds_ns[:, 0], "left")
    hi = np.searchsorted(t_ns, bounds_ns[:, 1], "right")

    def column(name: str) -> np.ndarray:
        return samples[name].to_numpy(float) if name in samples else np.full(len(t_ns), np.nan)

    frames = {"n_samples": hi - lo}
    for name in ("rss_mb", "gpu_mem_used_mb", "gpu_mem_total_mb"):
        frames[name] = _level(column(name), lo, hi)
    for name in ("cpu_percent", "power_w"):
        frames[name] = _rate(column(name), lo, hi)
    counter_j = column("energy_counter_j")
    if np.isfinite(counter_j).any():
        frames["energy_j"] = _counter_difference(t_s, counter_j, start_s, end_s)
    else:
        frames["energy_j"] = _trapezoid_energy(t_s, column("power_w"), start_s, end_s)
    frames["cpu_energy_j"] = _counter_difference(
        t_s, column("cpu_energy_counter_j"), start_s, end_s
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        frames["cpu_power_w"] = frames["cpu_energy_j"] / (end_s - start_s)
    result = pd.DataFrame({name: frames[name] for name in FRAME_COLUMNS})
    result.attrs["method"] = frame_methods(samples)
    return result


def frame_methods(samples: pd.DataFrame) -> dict[str, str]:
    """How :func:`per_frame` computes each column from these samples."""

    def measured(name: str) -> bool:
        return name in samples and bool(np.isfinite(samples[name].to_numpy(float)).any())

    level = "max of samples in frame, else nearest earlier sample"
    rate = "mean of samples in frame, else the next sample (a trailing average)"
    if measured("energy_counter_j"):
        energy = "energy counter difference, interpolated at frame start/end"
    elif measured("power_w"):
        energy = "trapezoid of sampled power_w, interpolated at frame start/end"
    else:
        energy = "not measured: no power samples"
    methods = {
        "rss_mb": level,
        "cpu_percent": rate,
        "gpu_mem_used_mb": level,
        "gpu_mem_total_mb": level,
        "power_w": rate,
        "energy_j": energy,
        "cpu_energy_j": "RAPL counter difference, interpolated at frame start/end",
        "cpu_power_w": "cpu_energy_j / frame duration",
    }
    sources = {
        "rss_mb": "rss_mb",
        "cpu_percent": "cpu_percent",
        "gpu_mem_used_mb": "gpu_mem_used_mb",
        "gpu_mem_total_mb": "gpu_mem_total_mb",
        "power_w": "power_w",
        "cpu_energy_j": "cpu_energy_counter_j",
        "cpu_power_w": "cpu_energy_counter_j",
    }
    for name, source in sources.items():
        if not measured(source):
            methods[name] = f"not measured: no {source} samples"
    return methods


def _finite(window: np.ndarray) -> np.ndarray:
    return window[np.isfinite(window)]


def _level(values: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Max within each frame, else the nearest earlier finite sample (a level persists)."""
    earlier = pd.Series(values).ffill().to_numpy()
    out = np.full(len(lo), np.nan)
    for i, (a, b) in enumerate(zip(lo, hi, strict=True)):
        window = _finite(values[a:b])
        out[i] = window.max() if window.size else (earlier[a - 1] if a > 0 else np.nan)
    return out


def _rate(values: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Mean within each frame, else the next sample, whose trailing window covers the frame."""
    out = np.full(len(lo), np.nan)
    for i, (a, b) in enumerate(zip(lo, hi, strict=True)):
        window = _finite(values[a : max(b, a + 1)])
        out[i] = window.mean() if window.size else np.nan
    return out


def _covered(t_s: np.ndarray, start_s: np.ndarray, end_s: np.ndarray) -> np.ndarray:
    return (start_s >= t_s[0]) & (end_s <= t_s[-1])


def _counter_difference(
    t_s: np.ndarray, counter_j: np.ndarray, start_s: np.ndarray, end_s: np.ndarray
) -> np.ndarray:
    """Energy from a cumulative counter, linearly interpolated at the frame bounds."""
    ok = np.isfinite(counter_j)
    t_s, counter_j = t_s[ok], counter_j[ok]
    if t_s.size < 2:
        return np.full(len(start_s), np.nan)
    energy_j = np.interp(end_s, t_s, counter_j) - np.interp(start_s, t_s, counter_j)
    return np.where(_covered(t_s, start_s, end_s), energy_j, np.nan)


def _trapezoid_energy(
    t_s: np.ndarray, power_w: np.ndarray, start_s: np.ndarray, end_s: np.ndarray
) -> np.ndarray:
    """Integral of linearly interpolated power over each frame (exact for piecewise-linear)."""
    ok = np.isfinite(power_w)
    t_s, power_w = t_s[ok], power_w[ok]
    if t_s.size < 2:
        return np.full(len(start_s), np.nan)
    cumulative_j = np.concatenate([[0.0], np.cumsum(np.diff(t_s) * (power_w[1:] + power_w[:-1]))])
    cumulative_j /= 2

    def energy_at(x_s: np.ndarray) -> np.ndarray:
        i = np.clip(np.searchsorted(t_s, x_s, "right") - 1, 0, t_s.size - 2)
        power_x_w = np.interp(x_s, t_s, power_w)
        return cumulative_j[i] + (x_s - t_s[i]) * (power_w[i] + power_x_w) / 2

    energy_j = energy_at(end_s) - energy_at(start_s)
    return np.where(_covered(t_s, start_s, end_s), energy_j, np.nan)
