"""Latency measurement in the style of perf_test / benchmark_model: init, first call, warm-up
excluded, then percentiles over at least ``min_seconds`` and ``min_calls``."""

from __future__ import annotations

import resource
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class Latency:
    """Summary of repeated calls; times in milliseconds except the init/first-call seconds."""

    init_s: float
    first_call_s: float
    warmup_calls: int
    n_calls: int
    mean_ms: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    min_ms: float
    cov: float  # coefficient of variation (std / mean) of the timed calls

    def as_dict(self) -> dict:
        return asdict(self)


def timed_init(load: Callable[[], object]) -> tuple[object, float]:
    """``load()`` and the seconds it took (model load / session creation)."""
    start = time.perf_counter_ns()
    loaded = load()
    return loaded, (time.perf_counter_ns() - start) / 1e9


def time_calls(
    call: Callable[[], object],
    init_s: float,
    min_seconds: float = 3.0,
    min_calls: int = 30,
    warmup_calls: int = 3,
) -> tuple[Latency, object]:
    """Time the first call, run ``warmup_calls`` untimed, then time calls until both
    ``min_seconds`` and ``min_calls`` are reached (monotonic clock)."""
    start = time.perf_counter_ns()
    result = call()
    first_call_s = (time.perf_counter_ns() - start) / 1e9
    for _ in range(warmup_calls):
        call()
    samples_ns: list[int] = []
    began = time.perf_counter_ns()
    while len(samples_ns) < min_calls or (time.perf_counter_ns() - began) < min_seconds * 1e9:
        start = time.perf_counter_ns()
        call()
        samples_ns.append(time.perf_counter_ns() - start)
    ms = np.array(samples_ns) / 1e6
    latency = Latency(
        init_s=init_s,
        first_call_s=first_call_s,
        warmup_calls=warmup_calls,
        n_calls=len(ms),
        mean_ms=float(ms.mean()),
        p50_ms=float(np.percentile(ms, 50)),
        p90_ms=float(np.percentile(ms, 90)),
        p99_ms=float(np.percentile(ms, 99)),
        min_ms=float(ms.min()),
        cov=float(ms.std() / ms.mean()),
    )
    return latency, result


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
