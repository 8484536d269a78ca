"""The highest request rate whose p99 latency stays within a bound (after MLPerf LoadGen's
FindPeakPerformance): double an upper bound until a trial fails, then bisect."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

MAX_DOUBLINGS = 10


@dataclass(frozen=True)
class Trial:
    """One measured rate: its p99 latency (+inf when too many requests failed) and verdict."""

    rate_per_s: float
    p99_s: float
    passed: bool


def find_peak_rate(
    measure: Callable[[float], float],
    lo: float,
    hi: float,
    p99_bound_s: float,
    iterations: int,
    max_doublings: int = MAX_DOUBLINGS,
) -> tuple[float, list[Trial]]:
    """The highest passing rate (0.0 if even ``lo`` fails) and every trial in order.

    ``measure(rate)`` returns a trial's p99 latency in seconds; a rate passes when it is within
    ``p99_bound_s``. ``hi`` is doubled until it fails (at most ``max_doublings`` times), then
    the last passing and first failing rates are bisected ``iterations`` times.
    """
    if not 0 < lo < hi:
        raise ValueError(f"rates must satisfy 0 < lo < hi, not lo={lo}, hi={hi}")
    trials: list[Trial] = []

    def passes(rate: float) -> bool:
        p99_s = measure(rate)
        trials.append(Trial(rate, p99_s, p99_s <= p99_bound_s))
        return trials[-1].passed

    if not passes(lo):
        return 0.0, trials
    for _ in range(max_doublings):
        if not passes(hi):
            break
        lo, hi = hi, 2 * hi
    else:
        return lo, trials
    for _ in range(iterations):
        mid = (lo + hi) / 2
        if passes(mid):
            lo = mid
        else:
            hi = mid
    return lo, trials
