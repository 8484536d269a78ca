"""Intervals from printed rounding: a value recomputed from a typed-in table (the paper's Table 6)
with the lowest and highest it can be given the table's last digit."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

HalfUnits = Mapping[str, float]  # column: half a unit of the last digit it is rounded to
NO_ROUNDING: HalfUnits = MappingProxyType({})  # measured data: every value exact


@dataclass(frozen=True)
class Bounds:
    """Values (a Series or DataFrame) with the lowest and highest each can be given the rounding
    of the table they come from; all three are the same for unrounded data. Arithmetic is that
    of intervals of positive quantities."""

    value: Any
    low: Any
    high: Any

    @classmethod
    def exact(cls, value: Any) -> Bounds:
        return cls(value, value, value)

    @classmethod
    def empty(cls) -> Bounds:
        """No values: a quantity the data cannot give."""
        return cls.exact(pd.Series(dtype=float))

    def map(self, f: Callable[[Any], Any]) -> Bounds:
        """``f`` (a selection, a reshaping) applied to the values and both bounds alike."""
        return Bounds(f(self.value), f(self.low), f(self.high))

    def __getitem__(self, key: Any) -> Bounds:
        return self.map(lambda v: v[key])

    def unstack(self, level: str) -> Bounds:
        return self.map(lambda v: v.unstack(level))

    def set_axis(self, labels: list[str]) -> Bounds:
        return self.map(lambda v: v.set_axis(labels))

    def text_labels(self) -> Bounds:
        """Series only: the labels as strings (device names from a categorical)."""
        return self.map(lambda v: v.rename(index=str))

    def __add__(self, other: Bounds | float) -> Bounds:
        if isinstance(other, Bounds):
            return Bounds(self.value + other.value, self.low + other.low, self.high + other.high)
        return self.map(lambda v: v + other)

    __radd__ = __add__

    def __mul__(self, number: float) -> Bounds:
        """Times a positive ``number``."""
        return self.map(lambda v: v * number)

    def __sub__(self, number: float) -> Bounds:
        return self.map(lambda v: v - number)

    def __rsub__(self, number: float) -> Bounds:
        return Bounds(number - self.value, number - self.high, number - self.low)

    def __truediv__(self, other: Bounds) -> Bounds:
        return Bounds(
            self.value / other.value,
            self.low / other.high,
            self.high / other.low.clip(lower=0),  # a bound at 0: unbounded
        )

    def __rtruediv__(self, number: float) -> Bounds:
        return Bounds(number / self.value, number / self.high, number / self.low.clip(lower=0))

    def dropna(self) -> Bounds:
        """Series only: the values that are numbers."""
        keep = self.value.notna().to_numpy()
        return self.map(lambda v: v[keep])


def pairwise_ratios(num: Bounds, den: Bounds) -> Bounds:
    """Series only: every value of ``num`` over every value of ``den``, labelled
    ``"<num label>/<den label>"``."""
    labels = [f"{n}/{d}" for n in num.value.index for d in den.value.index]
    return Bounds(
        *(
            pd.Series(np.divide.outer(n.to_numpy(), d.to_numpy()).ravel(), index=labels)
            for n, d in (
                (num.value, den.value),
                (num.low, den.high),
                (num.high, den.low.clip(lower=0)),
            )
        )
    )


def grouped_means(table: pd.DataFrame, by: str | list[str], column: str, half: HalfUnits) -> Bounds:
    """Mean ``column`` per ``by``, give or take half a unit of the rounding of its rows."""
    mean = table.groupby(by, observed=True)[column].mean()
    return Bounds(mean, mean - half.get(column, 0.0), mean + half.get(column, 0.0))


def half_units(table: pd.DataFrame) -> dict[str, float]:
    """Half a unit of the last digit each numeric column of a typed-in table is given to (0.005
    for a column of hundredths): the rounding a value recomputed from it may carry."""
    found = {}
    for column in table.select_dtypes("number"):
        values = table[column].dropna().to_numpy(dtype=float)
        for digits in range(7):
            scaled = values * 10**digits
            if np.allclose(scaled, np.round(scaled), rtol=0, atol=1e-6):
                found[column] = 0.5 / 10**digits
                break
    return found
