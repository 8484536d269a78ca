"""Tail percentiles stated only with enough frames for them (the early-stopping floor).

A p-th percentile of n frame times is stated only when n >= ceil(log(1 - c) / log(p / 100)):
the fewest frames for which the largest of them is a c-confidence upper bound of that
percentile (all n frames fall below it with probability (p / 100)^n <= 1 - c); 29 frames for a
p90 and 299 for a p99 at c = 0.95. Otherwise the percentile is NaN and :data:`NOTE_COLUMN` says
``p99: not enough frames (n of N)``.

This is MLPerf LoadGen's early-stopping bound with no query over the bound and no tolerance
(``loadgen/early_stopping.cc``, ``MinPassingQueriesFinder``: its first bound
``ceil(log(1 - c) / log(p - d))``, d = 0). LoadGen's single-stream scenario goes further
(``loadgen/results.cc``, ``EarlyStopping``): at c = 0.99 it counts the reported query itself as
over the bound (64 queries for a p90, 662 for a p99) and reports that order statistic, an upper
bound, in place of the percentile. Here the percentile itself is stated, as the paper's tables
compare percentiles, at the config's ``statistics.confidence``. Consecutive frames' times are
correlated (the faces change slowly), so the floor is a minimum, not a guarantee.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import pandas as pd

NOTE_COLUMN = "percentile_note"


def min_frames(percentile: float, confidence: float) -> int:
    """The fewest values for which the ``percentile``-th percentile (0-100) is stated."""
    return math.ceil(math.log(1 - confidence) / math.log(percentile / 100))


def shortfalls(percentiles: Iterable[int], n: int, confidence: float) -> list[str]:
    """``p<p>: not enough frames (n of N)`` for each of ``percentiles`` that ``n`` values are
    too few to state."""
    needs = {p: min_frames(p, confidence) for p in sorted(set(percentiles))}
    return [f"p{p}: not enough frames ({n} of {need})" for p, need in needs.items() if n < need]


def withheld(
    table: pd.DataFrame, percentile_of: Mapping[str, int], counts: pd.Series, confidence: float
) -> pd.DataFrame:
    """``table`` (one row per group) with each column of ``percentile_of`` (column -> its
    percentile) NaN where the group's ``counts`` (values behind it, by the same index) are below
    :func:`min_frames`, and :data:`NOTE_COLUMN` naming the percentiles withheld and why."""
    n = counts.reindex(table.index).fillna(0).astype(int).to_numpy()
    table = table.copy()
    for p in set(percentile_of.values()):
        short = n < min_frames(p, confidence)
        table.loc[short, [c for c, q in percentile_of.items() if q == p]] = float("nan")
    notes = ["; ".join(shortfalls(percentile_of.values(), int(k), confidence)) for k in n]
    return table.assign(**{NOTE_COLUMN: notes})
