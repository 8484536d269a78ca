"""Sensor probes: process RSS and CPU, NVIDIA GPU (NVML), CPU package energy (RAPL) and
Jetson power (INA3221), and the report of how each quantity was measured or why not.

A probe reads one float per column; quantities without a sensor are NaN, never 0.
"""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path
from types import ModuleType

import numpy as np

MIB = 2**20
REPORTED_QUANTITIES = (
    "rss_mb",
    "cpu_percent",
    "gpu_mem_used_mb",
    "gpu_mem_total_mb",
    "power_w",
    "energy_j",
    "cpu_power_w",
    "cpu_energy_j",
)
STATM = Path("/proc/self/statm")
POWERCAP_ROOT = Path("/sys/class/powercap")
I2C_DRIVERS_ROOT = Path("/sys/bus/i2c/drivers")


class Sensor:
    """A probe: ``available()`` says why it cannot be used (None if it can), ``values()`` reads
    one float per entry of ``columns`` (the sampler's hot path), ``read()`` the same as a dict."""

    name = "sensor"
    columns: tuple[str, ...] = ()

    def __init__(self) -> None:
        self._probed = False
        self._reason: str | None = None

    def available(self) -> str | None:
        """None when usable, else the reason it is not (probed once)."""
        if not self._probed:
            self._reason = self._probe()
            self._probed = True
        return self._reason

    def read(self) -> dict[str, float]:
        return dict(zip(self.columns, self.values(), strict=True))

    def methods(self) -> dict[str, str]:
        """How each column provided by this (available) sensor is measured."""
        raise NotImplementedError

    def values(self) -> tuple[float, ...]:
        raise NotImplementedError

    def _probe(self) -> str | None:
        return None


class RssSensor(Sensor):
    """Resident set size of this process, MiB (as ``measure.peak_rss_mb``), from one ``pread`` of
    ``/proc/self/statm`` (psutil's source, but psutil's open/read/close gives up the GIL three
    times per sample, which beside a busy Python thread cost a sample in four at 10 ms)."""

    name = "rss"
    columns = ("rss_mb",)

    def __init__(self, statm: Path = STATM) -> None:
        super().__init__()
        self.statm = statm
        self._fd = -1
        self._page_mb = resource.getpagesize() / MIB

    def _probe(self) -> str | None:
        try:
            self._fd = os.open(self.statm, os.O_RDONLY)
        except OSError as error:
            return f"RSS not readable: {self.statm}: {error.strerror} (not Linux?)"
        return None

    def methods(self) -> dict[str, str]:
        return {"rss_mb": f"process RSS ({self.statm})"}

    def values(self) -> tuple[float, ...]:
        return (int(os.pread(self._fd, 256, 0).split()[1]) * self._page_mb,)


class CpuSensor(Sensor):
    """Process CPU time over wall time since the previous read, percent of one core (can exceed
    100 with several threads; includes the sampler thread). NaN on the first read. From
    ``getrusage`` (microseconds) rather than psutil, whose /proc clock ticks are 10 ms."""

    name = "cpu"
    columns = ("cpu_percent",)

    def __init__(self) -> None:
        super().__init__()
        self._last: tuple[float, int] | None = None

    def methods(self) -> dict[str, str]:
        return {"cpu_percent": "getrusage process CPU time / wall time since previous sample"}

    def values(self) -> tuple[float, ...]:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        now = (usage.ru_utime + usage.ru_stime, time.perf_counter_ns())
        last, self._last = self._last, now
        if last is None or now[1] == last[1]:
            return (np.nan,)
        return (100 * (now[0] - last[0]) / ((now[1] - last[1]) / 1e9),)


@cache
def load_nvml() -> tuple[ModuleType | None, str | None]:
    """``(pynvml, None)`` once NVML is initialised, else ``(None, reason)``."""
    try:
        import pynvml
    except ImportError:
        return None, "no NVML: pynvml not installed (pip install 'facebench[nvml]')"
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError as error:
        return None, f"no NVIDIA GPU (NVML: {error})"
    return pynvml, None


class NvmlSensor(Sensor):
    """Device-wide GPU memory (all processes: what nvidia-smi shows and the paper used), power
    and the total-energy counter (Volta+), each NaN where the GPU does not support it. On Ampere
    (except GA100) and newer the power reading is a 1 s average (NVML docs), so the counter is
    the better energy source there."""

    name = "nvml"
    columns = ("gpu_mem_used_mb", "gpu_mem_total_mb", "power_w", "energy_counter_j")

    def __init__(self, index: int = 0) -> None:
        super().__init__()
        self.index = index
        self._nvml: ModuleType | None = None
        self._handle = None
        self._supports: dict[str, bool] = {}

    def _probe(self) -> str | None:
        nvml, reason = load_nvml()
        if nvml is None:
            return reason
        count = nvml.nvmlDeviceGetCount()
        if self.index >= count:
            return f"no NVIDIA GPU {self.index} (NVML sees {count})"
        self._nvml, self._handle = nvml, nvml.nvmlDeviceGetHandleByIndex(self.index)
        for column, query in (
            ("power_w", nvml.nvmlDeviceGetPowerUsage),
            ("energy_counter_j", nvml.nvmlDeviceGetTotalEnergyConsumption),
        ):
            try:
                query(self._handle)
                self._supports[column] = True
            except nvml.NVMLError:
                self._supports[column] = False
        return None

    def methods(self) -> dict[str, str]:
        methods = {
            "gpu_mem_used_mb": "NVML device memory used (all processes)",
            "gpu_mem_total_mb": "NVML device memory total",
            "power_w": "NVML power (nvmlDeviceGetPowerUsage)",
            "energy_counter_j": "NVML total energy counter",
        }
        return {c: m for c, m in methods.items() if self._supports.get(c, True)}

    def values(self) -> tuple[float, ...]:
        nvml, handle = self._nvml, self._handle
        memory = nvml.nvmlDeviceGetMemoryInfo(handle)
        power_mw = nvml.nvmlDeviceGetPowerUsage(handle) if self._supports["power_w"] else np.nan
        energy_mj = (
            nvml.nvmlDeviceGetTotalEnergyConsumption(handle)
            if self._supports["energy_counter_j"]
            else np.nan
        )
        return (memory.used / MIB, memory.total / MIB, power_mw / 1e3, energy_mj / 1e3)


class RaplSensor(Sensor):
    """Summed RAPL package energy counters, J since the probe, unwrapped with
    ``max_energy_range_uj`` (the counters wrap every few minutes under load)."""

    name = "rapl"
    columns = ("cpu_energy_counter_j",)

    def __init__(self, root: Path = POWERCAP_ROOT) -> None:
        super().__init__()
        self.root = Path(root)
        self._domains: list[Path] = []
        self._ranges_uj: list[int] = []
        self._last_uj: list[int] = []
        self._total_uj = 0

    def _probe(self) -> str | None:
        if not self.root.is_dir():
            return f"RAPL not readable: {self.root} does not exist"
        domains = [d for d in sorted(self.root.glob("intel-rapl:*")) if _is_package(d)]
        if not domains:
            return f"RAPL not readable: {self.root} has no intel-rapl package domain"
        try:
            self._ranges_uj = [int((d / "max_energy_range_uj").read_text()) for d in domains]
            self._last_uj = [int((d / "energy_uj").read_text()) for d in domains]
        except OSError as error:
            return f"RAPL not readable: {error.filename}: {error.strerror} (root-only since 5.10)"
        self._domains = domains
        return None

    def methods(self) -> dict[str, str]:
        names = ", ".join(d.name for d in self._domains)
        return {"cpu_energy_counter_j": f"RAPL package energy counter ({names})"}

    def values(self) -> tuple[float, ...]:
        for i, domain in enumerate(self._domains):
            now_uj = int((domain / "energy_uj").read_text())
            delta_uj = now_uj - self._last_uj[i]
            self._total_uj += delta_uj if delta_uj >= 0 else delta_uj + self._ranges_uj[i]
            self._last_uj[i] = now_uj
        return (self._total_uj / 1e6,)


def _is_package(domain: Path) -> bool:
    """Top-level ``intel-rapl:N`` zones named ``package-*`` (not sub-zones, not psys)."""
    name_file = domain / "name"
    return domain.name.count(":") == 1 and (
        name_file.is_file() and name_file.read_text().startswith("package")
    )


class JetsonSensor(Sensor):
    """GPU power of a Jetson board from its INA3221 monitor, summed over rails labelled GPU
    (the paper's edge "GPU power", 0-3.5 W). Untested on real hardware: the sysfs layouts are
    L4T <= 32 (``ina3221x/*/iio:device*/in_power<k>_input``, mW, ``rail_name_<k>``) and
    L4T >= 34 (``ina3221/*/hwmon/hwmon*/in<k>_label``, ``curr<k>_input`` mA x ``in<k>_input`` mV).
    """

    name = "jetson_ina3221"
    columns = ("power_w",)

    def __init__(self, root: Path = I2C_DRIVERS_ROOT) -> None:
        super().__init__()
        self.root = Path(root)
        self._rails: dict[str, Callable[[], float]] = {}

    def _probe(self) -> str | None:
        rails = {**_iio_rails(self.root), **_hwmon_rails(self.root)}
        if not rails:
            return f"not a Jetson (no {self.root}/ina3221x or {self.root}/ina3221 rails)"
        self._rails = {label: read for label, read in rails.items() if "GPU" in label.upper()}
        if not self._rails:
            return f"Jetson INA3221 has no rail labelled GPU (rails: {', '.join(sorted(rails))})"
        return None

    def methods(self) -> dict[str, str]:
        rails = " + ".join(sorted(self._rails))
        return {"power_w": f"Jetson INA3221 rail {rails} (untested here)"}

    def values(self) -> tuple[float, ...]:
        return (sum(read() for read in self._rails.values()),)


def _read_number(path: Path) -> float:
    return float(path.read_text())


def _iio_rails(root: Path) -> dict[str, Callable[[], float]]:
    """L4T <= 32: ``rail_name_<k>`` and ``in_power<k>_input`` in mW."""
    rails = {}
    for name_file in sorted(root.glob("ina3221x/*/iio:device*/rail_name_*")):
        power = name_file.with_name(f"in_power{name_file.name.rsplit('_', 1)[1]}_input")
        if power.is_file():
            rails[name_file.read_text().strip()] = lambda p=power: _read_number(p) / 1e3
    return rails


def _hwmon_rails(root: Path) -> dict[str, Callable[[], float]]:
    """L4T >= 34: ``in<k>_label``, ``curr<k>_input`` (mA) and ``in<k>_input`` (mV)."""
    rails = {}
    for label in sorted(root.glob("ina3221/*/hwmon/hwmon*/in*_label")):
        k = label.name[2:].removesuffix("_label")
        current, voltage = label.with_name(f"curr{k}_input"), label.with_name(f"in{k}_input")
        if current.is_file() and voltage.is_file():
            rails[label.read_text().strip()] = lambda c=current, v=voltage: (
                _read_number(c) * _read_number(v) / 1e6
            )
    return rails


def default_sensors() -> list[Sensor]:
    """Every sensor this module knows; unavailable ones yield NaN columns."""
    return [RssSensor(), CpuSensor(), NvmlSensor(), RaplSensor(), JetsonSensor()]


def sensor_report(sensors: Sequence[Sensor]) -> dict[str, str]:
    """Per reported quantity, the sensor method used or ``"not measured: <reason>"``."""
    methods: dict[str, str] = {}
    reasons: dict[str, list[str]] = {}
    for sensor in sensors:
        reason = sensor.available()
        provided = sensor.methods() if reason is None else {}
        for column in sensor.columns:
            if column in provided:
                methods.setdefault(column, provided[column])
            else:
                why = reason or f"{sensor.name} does not support {column}"
                reasons.setdefault(column, []).append(why)

    def pick(source: str, prefix: str = "") -> str:
        if source in methods:
            return prefix + methods[source]
        return "not measured: " + "; ".join(reasons.get(source, ["no sensor given"]))

    direct = ("rss_mb", "cpu_percent", "gpu_mem_used_mb", "gpu_mem_total_mb", "power_w")
    report = {q: pick(q) for q in direct}
    if "energy_counter_j" in methods:
        report["energy_j"] = pick("energy_counter_j", prefix="difference of ")
    else:
        report["energy_j"] = pick("power_w", prefix="trapezoid of ")
    report["cpu_power_w"] = pick("cpu_energy_counter_j", prefix="frame duration over ")
    report["cpu_energy_j"] = pick("cpu_energy_counter_j", prefix="difference of ")
    return {q: report[q] for q in REPORTED_QUANTITIES}
