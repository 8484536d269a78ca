"""The background sampler: reads the sensors every 10 ms on a daemon thread, outside the timed
path, on the runner's clock (``time.perf_counter_ns``); and what sampling costs the timed work."""

from __future__ import annotations

import math
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


def _calls(
    work: Callable[[], None], seconds: float, clock_ns: Callable[[], int]
) -> tuple[int, float]:
    """Calls of ``work()`` in about ``seconds`` of ``clock_ns`` (at least one) and the seconds
    they took."""
    calls, start_ns = 0, clock_ns()
    while (elapsed_ns := clock_ns() - start_ns) < seconds * 1e9:
        work()
        calls += 1
    return calls, elapsed_ns / 1e9


def paired_relative_cost(
    rates_without: Sequence[float], rates_with: Sequence[float], confidence: float = 0.95
) -> dict[str, float | bool]:
    """Median of the per-pair costs ``1 - with/without`` and a distribution-free interval for it.

    The interval is the pair of order statistics whose binomial coverage is the smallest one
    >= ``confidence`` (exact, no resampling, needs no seed); with fewer than 6 pairs no pair
    reaches 95 %, so it is (min, max) and ``relative_cost_ci_coverage`` says how much it covers.
    ``sign_resolved`` is true when the interval excludes 0.
    """
    without, with_sampler = np.asarray(rates_without, float), np.asarray(rates_with, float)
    if without.shape != with_sampler.shape or without.size == 0:
        raise FacebenchError(
            f"need as many trials with as without the sampler, got "
            f"{with_sampler.size} and {without.size}"
        )
    costs = np.sort(1 - with_sampler / without)
    n = costs.size
    below = np.cumsum([math.comb(n, i) for i in range(n + 1)]) / 2**n  # P(Binom(n, 1/2) <= i)
    # order statistics k and n + 1 - k (1-based) cover the median with 1 - 2 P(Binom <= k - 1)
    k = max(1, int(np.searchsorted(below, (1 - confidence) / 2, side="right")))
    lo, hi = costs[k - 1], costs[n - k]
    return {
        "relative_cost": float(np.median(costs)),
        "relative_cost_ci_lo": float(lo),
        "relative_cost_ci_hi": float(hi),
        "relative_cost_ci_coverage": float(1 - 2 * below[k - 1]),
        "sign_resolved": bool(lo > 0 or hi < 0),
    }


def sampler_overhead(
    work: Callable[[], None],
    seconds: float,
    sensors: Sequence[Sensor] | None = None,
    period_s: float = 0.010,
    pairs: int = 10,
    clock_ns: Callable[[], int] = time.perf_counter_ns,
) -> dict[str, object]:
    """Rate of ``work()`` calls without and with a running sampler, and the sampler thread's own
    CPU use, percent of one core, and its tick rate (from the spacing of its ticks, which short
    trials would otherwise bias through their edges). Rates are per second of ``clock_ns``:
    wall time by default; a thread CPU clock gives the cost per CPU second, whatever else the
    host runs.

    ``seconds`` is split into ``pairs`` pairs of short trials, one without and one with the
    sampler, in alternating order (AB BA AB ...) so that drift cancels; the relative cost is the
    median of the paired costs with an order-statistic interval (:func:`paired_relative_cost`).
    """
    if pairs < 1:
        raise FacebenchError(f"sampler overhead needs at least one pair of trials, got {pairs}")
    sensors = default_sensors() if sensors is None else sensors
    trial_s = seconds / (2 * pairs)
    calls: dict[str, list[int]] = {"without": [], "with": []}
    elapsed: dict[str, list[float]] = {"without": [], "with": []}
    thread_cpu_s = sampler_s = tick_span_s = 0.0
    tick_gaps = 0
    for pair in range(pairs):
        for mode in ("without", "with") if pair % 2 == 0 else ("with", "without"):
            if mode == "without":
                n_calls, took_s = _calls(work, trial_s, clock_ns)
            else:
                with Sampler(sensors, period_s) as sampler:
                    n_calls, took_s = _calls(work, trial_s, clock_ns)
                thread_cpu_s += sampler.thread_cpu_s
                sampler_s += sampler.elapsed_s
                ticks_ns = sampler.samples()["t_ns"].to_numpy()[1:-1]  # not start()/stop()'s
                tick_gaps += max(0, len(ticks_ns) - 1)
                tick_span_s += (ticks_ns[-1] - ticks_ns[0]) / 1e9 if len(ticks_ns) else 0.0
            calls[mode].append(n_calls)
            elapsed[mode].append(took_s)
    rates = {mode: np.array(calls[mode]) / np.array(elapsed[mode]) for mode in calls}
    return {
        "period_s": period_s,
        "pairs": pairs,
        "trial_s": trial_s,
        "calls_without": int(sum(calls["without"])),
        "calls_with": int(sum(calls["with"])),
        "calls_per_s_without": sum(calls["without"]) / sum(elapsed["without"]),
        "calls_per_s_with": sum(calls["with"]) / sum(elapsed["with"]),
        "calls_per_s_without_trials": rates["without"].tolist(),
        "calls_per_s_with_trials": rates["with"].tolist(),
        **paired_relative_cost(rates["without"], rates["with"]),
        "sampler_cpu_percent": 100 * thread_cpu_s / sampler_s,
        "samples_per_s": tick_gaps / tick_span_s if tick_span_s > 0 else math.nan,
    }
