"""Background sensor sampling (memory, CPU, GPU, power) every 10 ms, outside the timed path.

The runner only reads ``time.perf_counter_ns()`` at frame boundaries; a daemon thread samples the
sensors on the same clock, and :func:`per_frame` attributes the samples to frames afterwards::

    sensors = default_sensors()
    with Sampler(sensors) as sampler:
        for frame in frames:
            start_ns = time.perf_counter_ns()
            process(frame)
            bounds_ns.append((start_ns, time.perf_counter_ns()))
    frames_df = per_frame(sampler.samples(), np.array(bounds_ns))
    report = sensor_report(sensors)  # how each quantity was measured, or why not

Sampling every 10 ms follows the GPU-memory method of Srivastava et al. (seed 004). Energy is
the difference of a hardware energy counter when one exists, else the trapezoidal integral of
sampled power (the MLPerf Power way). Quantities without a sensor are NaN, never 0.
"""

from __future__ import annotations

import os
import resource
import threading
import time
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd

from facebench.errors import FacebenchError

MIB = 2**20
FRAME_COLUMNS = (
    "n_samples",
    "rss_mb",
    "cpu_percent",
    "gpu_mem_used_mb",
    "gpu_mem_total_mb",
    "power_w",
    "energy_j",
    "cpu_power_w",
    "cpu_energy_j",
)
REPORTED_QUANTITIES = FRAME_COLUMNS[1:]
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
        return None, "no NVML: pynvml not installed (pip install nvidia-ml-py)"
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


class Sampler:
    """Samples ``sensors`` every ``period_s`` on a daemon thread into preallocated arrays.

    ``start()`` and ``stop()`` each take one sample synchronously, so frames timed between them
    are covered at both ends. Columns of unavailable sensors stay NaN.
    """

    def __init__(self, sensors: Sequence[Sensor], period_s: float = 0.010, capacity: int = 4096):
        self.period_s = period_s
        self.columns: list[str] = list(dict.fromkeys(c for s in sensors for c in s.columns))
        self._active = _active_sensors(sensors, self.columns)
        self._t_ns = np.zeros(capacity, dtype=np.int64)
        self._values = np.full((capacity, len(self.columns)), np.nan)
        self._n = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.read_errors: dict[str, str] = {}
        self.thread_cpu_s = np.nan
        self.elapsed_s = np.nan
        self._started_ns = 0

    def start(self) -> Sampler:
        if self._thread is not None:
            raise FacebenchError("sampler already started; use a new Sampler per run")
        self._sample()
        self._started_ns = time.perf_counter_ns()
        self._thread = threading.Thread(target=self._run, name="facebench-sampler", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is None or self._stop.is_set():
            return
        self._stop.set()
        self._thread.join()
        self.elapsed_s = (time.perf_counter_ns() - self._started_ns) / 1e9
        self._sample()

    def __enter__(self) -> Sampler:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def samples(self) -> pd.DataFrame:
        """``t_ns`` (perf_counter_ns) and one float column per sensor reading."""
        with self._lock:
            t_ns, values = self._t_ns[: self._n].copy(), self._values[: self._n].copy()
        return pd.DataFrame({"t_ns": t_ns, **dict(zip(self.columns, values.T, strict=True))})

    def _run(self) -> None:
        period_ns = round(self.period_s * 1e9)
        next_ns = time.perf_counter_ns() + period_ns
        while not self._stop.wait(max(0, next_ns - time.perf_counter_ns()) / 1e9):
            self._sample()
            late_ns = time.perf_counter_ns() - next_ns
            next_ns += (late_ns // period_ns + 1) * period_ns  # skip missed ticks, no bursts
        self.thread_cpu_s = time.thread_time()

    def _sample(self) -> None:
        if self._n == len(self._t_ns):
            self._grow()
        row = self._values[self._n]
        before_ns = time.perf_counter_ns()
        for sensor, index in self._active:
            try:
                row[index] = sensor.values()
            except Exception as error:  # a flaky read is a gap (NaN), not a failed benchmark
                self.read_errors.setdefault(sensor.name, repr(error))
        self._t_ns[self._n] = (before_ns + time.perf_counter_ns()) // 2
        self._n += 1

    def _grow(self) -> None:
        with self._lock:
            capacity = 2 * len(self._t_ns)
            t_ns = np.zeros(capacity, dtype=np.int64)
            values = np.full((capacity, len(self.columns)), np.nan)
            t_ns[: self._n], values[: self._n] = self._t_ns[: self._n], self._values[: self._n]
            self._t_ns, self._values = t_ns, values


def _active_sensors(
    sensors: Sequence[Sensor], columns: list[str]
) -> list[tuple[Sensor, np.ndarray]]:
    """Available sensors with the column indices they fill; two may not fill the same column."""
    active, owner = [], {}
    for sensor in sensors:
        if sensor.available() is not None:
            continue
        for column in sensor.columns:
            if column in owner:
                raise FacebenchError(
                    f"sensors {owner[column]} and {sensor.name} both provide {column}"
                )
            owner[column] = sensor.name
        active.append((sensor, np.array([columns.index(c) for c in sensor.columns])))
    return active


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


def _calls_per_s(work: Callable[[], None], seconds: float) -> float:
    calls, start_ns = 0, time.perf_counter_ns()
    while (elapsed_ns := time.perf_counter_ns() - start_ns) < seconds * 1e9:
        work()
        calls += 1
    return calls / (elapsed_ns / 1e9)


def sampler_overhead(
    work: Callable[[], None],
    seconds: float,
    sensors: Sequence[Sensor] | None = None,
    period_s: float = 0.010,
) -> dict[str, float]:
    """Rate of ``work()`` calls without and with a running sampler (ABBA order cancels drift)
    and the sampler thread's own CPU use, percent of one core."""
    sensors = default_sensors() if sensors is None else sensors
    rates: dict[str, list[float]] = {"without": [], "with": []}
    thread_cpu_s = elapsed_s = 0.0
    samples = 0
    for mode in ("without", "with", "with", "without"):
        if mode == "without":
            rates[mode].append(_calls_per_s(work, seconds / 4))
            continue
        with Sampler(sensors, period_s) as sampler:
            rates[mode].append(_calls_per_s(work, seconds / 4))
        thread_cpu_s += sampler.thread_cpu_s
        elapsed_s += sampler.elapsed_s
        samples += len(sampler.samples())
    without, with_sampler = np.mean(rates["without"]), np.mean(rates["with"])
    return {
        "period_s": period_s,
        "calls_per_s_without": float(without),
        "calls_per_s_with": float(with_sampler),
        "relative_cost": float(1 - with_sampler / without),
        "sampler_cpu_percent": 100 * thread_cpu_s / elapsed_s,
        "samples_per_s": samples / elapsed_s,
    }
