"""Sensor probes: process RSS and CPU, NVIDIA GPU (NVML), CPU package energy (RAPL), Jetson
power (INA3221), and the host's conditions (CPU clock, other processes' CPU time, CPU
temperature); and the report of how each quantity was measured or why not.

A probe reads one float per column; quantities without a sensor are NaN, never 0.
"""

from __future__ import annotations

import os
import re
import resource
import time
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path
from types import ModuleType

import numpy as np

MIB = 2**20
NOT_MEASURED = "not measured: "
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
PROC_STAT = Path("/proc/stat")
PROC_SELF_STAT = Path("/proc/self/stat")
CPUINFO = Path("/proc/cpuinfo")
CPU_ROOT = Path("/sys/devices/system/cpu")
HWMON_ROOT = Path("/sys/class/hwmon")
THERMAL_ROOT = Path("/sys/class/thermal")
CPU_HWMON_DRIVERS = ("coretemp", "k10temp", "zenpower", "cpu_thermal")


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


def _readable_number(path: Path) -> bool:
    try:
        _read_number(path)
    except (OSError, ValueError):
        return False
    return True


def _read_name(path: Path) -> str:
    """A sysfs name or type file's text, "" where unreadable."""
    try:
        return path.read_text().strip()
    except OSError:
        return ""


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


class PeriodicSensor(Sensor):
    """A sensor read at most every ``interval_s`` (NaN at the ticks between): for files that
    cost more to read than a 10 ms tick should spend."""

    interval_s = 0.1

    def __init__(self) -> None:
        super().__init__()
        self._next_ns = 0

    def values(self) -> tuple[float, ...]:
        now_ns = time.perf_counter_ns()
        if now_ns < self._next_ns:
            return (np.nan,) * len(self.columns)
        self._next_ns = now_ns + round(self.interval_s * 1e9)
        return self._read()

    def _read(self) -> tuple[float, ...]:
        raise NotImplementedError


class OtherCpuSensor(PeriodicSensor):
    """CPU seconds that other processes used since the probe, all CPUs together: the host's busy
    time in /proc/stat (user, nice, system, irq, softirq and steal: a stolen tick is a CPU
    another guest had) less this process's own (utime + stime of /proc/self/stat, every
    thread). Both count clock ticks, so the difference is good to about a tick per CPU;
    ``n_cpus`` is how many CPUs /proc/stat lists. Read every 50 ms: two file reads per 10 ms
    tick would slow the sampler's ticks under a busy interpreter lock."""

    name = "other_cpu"
    columns = ("other_cpu_s",)
    BUSY_FIELDS = (1, 2, 3, 6, 7, 8)  # of the "cpu" line; guest time is already in user
    interval_s = 0.05

    def __init__(self, stat: Path = PROC_STAT, self_stat: Path = PROC_SELF_STAT) -> None:
        super().__init__()
        self.stat, self.self_stat = Path(stat), Path(self_stat)
        self.n_cpus = 0
        self._fds = (-1, -1)
        self._tick_s = 1 / os.sysconf("SC_CLK_TCK")
        self._origin = 0

    def _probe(self) -> str | None:
        try:
            self.n_cpus = len(re.findall(r"^cpu\d+ ", self.stat.read_text(), re.MULTILINE))
            self._fds = (os.open(self.stat, os.O_RDONLY), os.open(self.self_stat, os.O_RDONLY))
        except OSError as error:
            return f"CPU times not readable: {error.filename}: {error.strerror} (not Linux?)"
        if not self.n_cpus:
            return f"CPU times not readable: {self.stat} lists no cpu<N> line"
        self._origin = self._ticks()
        return None

    def methods(self) -> dict[str, str]:
        return {"other_cpu_s": f"busy ticks of {self.stat} less this process's ({self.self_stat})"}

    def _read(self) -> tuple[float, ...]:
        return ((self._ticks() - self._origin) * self._tick_s,)

    def _ticks(self) -> int:
        host = os.pread(self._fds[0], 256, 0).split(b"\n", 1)[0].split()
        own = os.pread(self._fds[1], 1024, 0).rpartition(b")")[2].split()  # after the name
        return sum(int(host[i]) for i in self.BUSY_FIELDS) - int(own[11]) - int(own[12])


class CpuFreqSensor(PeriodicSensor):
    """Clock of the fastest CPU this process may run on, MHz (a throttled or power-capped
    package shows as a drop): the ``cpufreq/scaling_cur_freq`` (kHz) of each allowed CPU, else
    the ``cpu MHz`` lines of /proc/cpuinfo (x86; in a VM often the nominal clock)."""

    name = "cpu_freq"
    columns = ("cpu_freq_mhz",)

    def __init__(
        self, cpu_root: Path = CPU_ROOT, cpuinfo: Path = CPUINFO, cpus: Sequence[int] = ()
    ) -> None:
        super().__init__()
        self.cpu_root, self.cpuinfo = Path(cpu_root), Path(cpuinfo)
        self.cpus = set(cpus) or os.sched_getaffinity(0)
        self._files: list[Path] = []

    def _probe(self) -> str | None:
        files = [self.cpu_root / f"cpu{n}/cpufreq/scaling_cur_freq" for n in sorted(self.cpus)]
        self._files = [f for f in files if _readable_number(f)]
        if self._files or self._cpuinfo_mhz():
            return None
        return (
            f"CPU clock not readable: no {self.cpu_root}/cpu<N>/cpufreq/scaling_cur_freq and no "
            f"'cpu MHz' line in {self.cpuinfo} for CPUs {sorted(self.cpus)}"
        )

    def methods(self) -> dict[str, str]:
        if self._files:
            source = f"{self.cpu_root}/cpu<N>/cpufreq/scaling_cur_freq"
        else:
            source = f"'cpu MHz' of {self.cpuinfo}"
        return {"cpu_freq_mhz": f"max over the {len(self.cpus)} allowed CPUs of {source}"}

    def _read(self) -> tuple[float, ...]:
        if self._files:
            return (max(_read_number(f) for f in self._files) / 1e3,)
        return (max(self._cpuinfo_mhz()),)

    def _cpuinfo_mhz(self) -> list[float]:
        """``cpu MHz`` of each allowed processor in /proc/cpuinfo (none where absent)."""
        try:
            blocks = self.cpuinfo.read_text().split("\n\n")
        except OSError:
            return []
        mhz = []
        for block in blocks:
            fields = dict(
                (key.strip(), value.strip())
                for key, _, value in (line.partition(":") for line in block.splitlines())
            )
            if "cpu MHz" in fields and int(fields.get("processor", -1)) in self.cpus:
                mhz.append(float(fields["cpu MHz"]))
        return mhz


class CpuTempSensor(PeriodicSensor):
    """Hottest CPU temperature, degrees C (files in millidegrees): the ``temp*_input`` of CPU
    hwmon drivers (coretemp, k10temp, zenpower, cpu_thermal) and the thermal zones whose type
    names the CPU (x86_pkg_temp, cpu-thermal, Jetson's CPU-therm)."""

    name = "cpu_temp"
    columns = ("cpu_temp_c",)

    def __init__(self, hwmon_root: Path = HWMON_ROOT, thermal_root: Path = THERMAL_ROOT) -> None:
        super().__init__()
        self.hwmon_root, self.thermal_root = Path(hwmon_root), Path(thermal_root)
        self._files: list[Path] = []

    def _probe(self) -> str | None:
        drivers = {d: _read_name(d / "name") for d in sorted(self.hwmon_root.glob("hwmon*"))}
        zones = {z: _read_name(z / "type") for z in sorted(self.thermal_root.glob("thermal_zone*"))}
        files = [
            f
            for d, name in drivers.items()
            if name in CPU_HWMON_DRIVERS
            for f in sorted(d.glob("temp*_input"))
        ]
        files += [
            z / "temp" for z, kind in zones.items() if re.search("cpu|pkg", kind, re.IGNORECASE)
        ]
        self._files = [f for f in files if _readable_number(f)]
        if self._files:
            return None
        return (
            f"no readable CPU temperature: hwmon drivers {sorted(set(drivers.values())) or 'none'} "
            f"in {self.hwmon_root}, thermal zones {sorted(set(zones.values())) or 'none'} in "
            f"{self.thermal_root}"
        )

    def methods(self) -> dict[str, str]:
        return {
            "cpu_temp_c": f"max of {len(self._files)} CPU temperature file(s): "
            + ", ".join(str(f) for f in self._files)
        }

    def _read(self) -> tuple[float, ...]:
        return (max(_read_number(f) for f in self._files) / 1e3,)


def default_sensors() -> list[Sensor]:
    """Every sensor this module knows; unavailable ones yield NaN columns."""
    return [
        RssSensor(),
        CpuSensor(),
        NvmlSensor(),
        RaplSensor(),
        JetsonSensor(),
        CpuFreqSensor(),
        OtherCpuSensor(),
        CpuTempSensor(),
    ]


def column_methods(sensors: Sequence[Sensor]) -> dict[str, str]:
    """Per sampled column, the method of the first sensor providing it or
    ``"not measured: <reason>"`` (every sensor's reason) where none does."""
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
    return methods | {
        column: NOT_MEASURED + "; ".join(why)
        for column, why in reasons.items()
        if column not in methods
    }


def sensor_report(sensors: Sequence[Sensor]) -> dict[str, str]:
    """Per reported quantity, the sensor method used or ``"not measured: <reason>"``."""
    methods = column_methods(sensors)

    def pick(source: str, prefix: str = "") -> str:
        method = methods.get(source, NOT_MEASURED + "no sensor given")
        return method if method.startswith(NOT_MEASURED) else prefix + method

    direct = ("rss_mb", "cpu_percent", "gpu_mem_used_mb", "gpu_mem_total_mb", "power_w")
    report = {q: pick(q) for q in direct}
    if not pick("energy_counter_j").startswith(NOT_MEASURED):
        report["energy_j"] = pick("energy_counter_j", prefix="difference of ")
    else:
        report["energy_j"] = pick("power_w", prefix="trapezoid of ")
    report["cpu_power_w"] = pick("cpu_energy_counter_j", prefix="frame duration over ")
    report["cpu_energy_j"] = pick("cpu_energy_counter_j", prefix="difference of ")
    return {q: report[q] for q in REPORTED_QUANTITIES}
