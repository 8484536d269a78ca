"""The background sampler: reads the sensors every 10 ms on a daemon thread, outside the timed
path, on the runner's clock (``time.perf_counter_ns``); and what sampling costs the timed work."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from facebench.errors import FacebenchError
from facebench.sensors.probes import Sensor, default_sensors


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
