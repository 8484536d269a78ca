"""A run's conditions from its sampler's samples: the CPU clock (min, median, max), other
processes' CPU use (mean over the run and the busiest window, % of all CPUs), the hottest CPU
temperature and, on a Jetson, the power mode and jetson_clocks state. run.json keeps them under
``conditions``, each a number or ``"not measured: <reason>"``; :func:`condition_columns` makes
them columns of the runs table."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from facebench.sensors.probes import NOT_MEASURED, OtherCpuSensor, Sensor, column_methods

L4T_RELEASE = Path("/etc/nv_tegra_release")  # present on a Jetson (Linux for Tegra)
OTHER_CPU_WINDOW_S = 0.5  # the busiest window of about this length is other_cpu_percent_max
SAMPLED = ("cpu_freq_mhz", "other_cpu_s", "cpu_temp_c")
NO_CONDITIONS = NOT_MEASURED + "run.json has no conditions (a run made before they were recorded)"


def other_cpu_percent(
    t_s: np.ndarray, other_cpu_s: np.ndarray, n_cpus: int, window_s: float = OTHER_CPU_WINDOW_S
) -> tuple[float, float]:
    """(mean, busiest window) share of all ``n_cpus`` CPUs that other processes used, percent,
    from their cumulative CPU seconds; the run is cut into equal windows of about ``window_s``
    (one when shorter), the counter interpolated at their edges."""
    ok = np.isfinite(other_cpu_s)
    t_s, other_cpu_s = np.asarray(t_s)[ok], np.asarray(other_cpu_s)[ok]
    span_s = t_s[-1] - t_s[0]
    edges = np.linspace(t_s[0], t_s[-1], max(1, round(span_s / window_s)) + 1)
    rates = np.diff(np.interp(edges, t_s, other_cpu_s)) / np.diff(edges)
    to_percent = 100 / n_cpus
    mean = (other_cpu_s[-1] - other_cpu_s[0]) / span_s
    return float(mean * to_percent), float(rates.max() * to_percent)


def run_conditions(
    samples: pd.DataFrame, sensors: Sequence[Sensor], l4t_release: Path = L4T_RELEASE
) -> dict:
    """run.json's ``conditions`` from the run's ``samples`` (``Sampler.samples()``) of
    ``sensors``."""
    provided = column_methods(sensors)
    methods = {c: provided.get(c, NOT_MEASURED + "no sensor given") for c in SAMPLED}

    def values(column: str) -> np.ndarray | str:
        """The finite samples of ``column``, or why there are none."""
        if methods[column].startswith(NOT_MEASURED):
            return methods[column]
        found = samples[column].to_numpy(float)
        return found[np.isfinite(found)] if np.isfinite(found).any() else NOT_MEASURED + "no sample"

    freq, other, temp = (values(column) for column in SAMPLED)
    if isinstance(other, str):
        other_mean = other_max = other
    elif len(other) < 2:
        other_mean = other_max = NOT_MEASURED + "fewer than two samples"
    else:
        n_cpus = next(s.n_cpus for s in sensors if isinstance(s, OtherCpuSensor))
        other_mean, other_max = other_cpu_percent(
            samples["t_ns"].to_numpy() / 1e9, samples["other_cpu_s"].to_numpy(float), n_cpus
        )
    return {
        "cpu_freq_mhz": freq
        if isinstance(freq, str)
        else {"min": float(freq.min()), "median": float(np.median(freq)), "max": float(freq.max())},
        "other_cpu_percent": other_mean,
        "other_cpu_percent_max": other_max,
        "other_cpu_window_s": OTHER_CPU_WINDOW_S,
        "cpu_temp_max_c": temp if isinstance(temp, str) else float(temp.max()),
        **jetson_power_mode(l4t_release),
        "methods": methods,
    }


def jetson_power_mode(l4t_release: Path = L4T_RELEASE) -> dict[str, str]:
    """``nvpmodel`` (``nvpmodel -q``) and ``jetson_clocks`` (``jetson_clocks --show``): each
    output's lines joined by "; ", or "not measured: <reason>" (untested on a real board)."""
    if not Path(l4t_release).is_file():
        reason = NOT_MEASURED + "not a Jetson"
        return {"nvpmodel": reason, "jetson_clocks": reason}
    return {
        "nvpmodel": _output("nvpmodel", "-q"),
        "jetson_clocks": _output("jetson_clocks", "--show"),
    }


def _output(*command: str) -> str:
    """The command's output lines joined by "; ", or why it gave none."""
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"{NOT_MEASURED}{' '.join(command)}: {error}"
    if done.returncode:
        why = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[0]
        return f"{NOT_MEASURED}{' '.join(command)}: {why}"
    return "; ".join(line.strip() for line in done.stdout.splitlines() if line.strip())


def condition_columns(conditions: dict | None) -> dict[str, float | str]:
    """run.json's ``conditions`` as runs-table columns: numbers (NaN where not measured),
    ``nvpmodel`` and ``jetson_clocks``, and per quantity ``sensor_<quantity>``: its method or
    ``"not measured: <reason>"``."""
    conditions = conditions or {}
    methods = conditions.get("methods", {})

    def number(value: object) -> float:
        return float(value) if isinstance(value, int | float) else np.nan

    def sensor(quantity: str, column: str) -> str:
        value = conditions.get(quantity, NO_CONDITIONS)
        return value if isinstance(value, str) else methods.get(column, "")

    freq = conditions.get("cpu_freq_mhz")
    freq = freq if isinstance(freq, dict) else {}
    return {
        **{f"cpu_freq_{k}_mhz": number(freq.get(k)) for k in ("min", "median", "max")},
        "other_cpu_percent": number(conditions.get("other_cpu_percent")),
        "other_cpu_percent_max": number(conditions.get("other_cpu_percent_max")),
        "cpu_temp_max_c": number(conditions.get("cpu_temp_max_c")),
        "nvpmodel": conditions.get("nvpmodel", NO_CONDITIONS),
        "jetson_clocks": conditions.get("jetson_clocks", NO_CONDITIONS),
        "sensor_cpu_freq_mhz": sensor("cpu_freq_mhz", "cpu_freq_mhz"),
        "sensor_other_cpu_percent": sensor("other_cpu_percent", "other_cpu_s"),
        "sensor_cpu_temp_c": sensor("cpu_temp_max_c", "cpu_temp_c"),
    }
