"""The verdict engine: a claim is split into parts, each a quantity per label (device,
configuration, platform pair) set against the paper's range; the engine judges the parts and
writes one row of ``claims.csv`` per claim. It knows no claim: each declares its parts
(:class:`Claim`) in the subject modules of this package.

A part is judged on its effect: a ratio's ratio - 1, sign included, a share or a value as is.
The paper's effect range is widened on each side by the ``tolerance`` of ``claims.yaml`` share
of the bound plus half a unit of the precision the paper gave it to, never across zero (a "5 %
faster" is not met by a slower time); a one-sided value ("negligible", "up to") has no lower
bound; strict inequalities are not widened. Values from the paper's Table 6 also carry the
table's rounding (:mod:`.intervals`) and agree when the interval it allows meets the widened
range.

A claim holds when all its testable parts hold, does not hold when one fails, and is ``not
testable here`` when no part can be computed (the reason says what is missing).
``paper_verdict`` is the same rule on the paper's Table 6: it must read ``holds`` wherever the
table has the quantity, or the rule would reject the paper's own data.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import pandas as pd

from facebench.analysis.claims.intervals import NO_ROUNDING, Bounds, HalfUnits
from facebench.analysis.paper import PaperClaims

VERDICTS = ("holds", "does not hold", "not testable here")
PAPER_VERDICTS = ("holds", "does not hold", "not in Table 6")
NO_TABLE6_GIVEN = "Table 6 not given"  # paper_verdict when the check runs without the table


@dataclass(frozen=True)
class Part:
    """One checkable statement: ``values`` (by label) against the paper's [lo, hi], which it
    gave to ``precision``; ``low``/``high``: the lowest and highest each value can be given the
    rounding of its source (the value itself when absent)."""

    name: str
    values: pd.Series
    lo: float
    hi: float
    unit: str = "x"  # "x" ratio, "%" fraction shown in percent, else a unit suffix
    precision: float = 0.0  # the unit of the paper's last digit, in the value's own unit
    one_sided: bool = False  # bounds from above only: a smaller value does not contradict it
    exact: bool = False  # the bounds are final: a strict inequality, or already widened
    missing: str = ""  # why there are no values
    low: pd.Series | None = None
    high: pd.Series | None = None
    rule: str = ""  # the tolerance in words, for exact bounds that were widened elsewhere

    @classmethod
    def of(cls, name: str, bounds: Bounds, lo: float, hi: float, **kwargs: Any) -> Part:
        return cls(name, bounds.value, lo, hi, low=bounds.low, high=bounds.high, **kwargs)

    def band(self, tolerance: float) -> tuple[float, float]:
        """The paper's range as the check accepts it: its effect (ratio - 1 for a ratio)
        widened by ``tolerance`` of each bound plus half the paper's last digit, never across
        zero; from zero for a one-sided value; as is for exact bounds."""
        if self.exact:
            return self.lo, self.hi
        base = 1.0 if self.unit == "x" else 0.0
        lo, hi = (0.0 if self.one_sided else self.lo - base), self.hi - base
        half = self.precision / 2
        wide_lo, wide_hi = lo - tolerance * abs(lo) - half, hi + tolerance * abs(hi) + half
        if lo > 0:
            wide_lo = max(wide_lo, 0.0)
        if hi < 0:
            wide_hi = min(wide_hi, 0.0)
        return wide_lo + base, wide_hi + base

    def ok(self, tolerance: float) -> bool | None:
        """Whether every value (the interval its rounding allows) meets :meth:`band`; None when
        there is no value."""
        if self.values.empty:
            return None
        lo, hi = self.band(tolerance)
        low = self.values if self.low is None else self.low.reindex(self.values.index)
        high = self.values if self.high is None else self.high.reindex(self.values.index)
        return bool(((high >= lo) & (low <= hi)).all())

    def text(self, tolerance: float | None = None) -> str:
        """The values; with ``tolerance``, each that meets the band only by the rounding of its
        source also shows the interval that rounding allows."""
        if self.values.empty:
            return f"{self.name}: not testable ({self.missing})"
        lo, hi = self.band(tolerance) if tolerance is not None else (-math.inf, math.inf)
        shown = []
        for label, value in self.values.items():
            text = f"{label} {_fmt(value, self.unit)}"
            if not lo <= value <= hi and self.low is not None and self.high is not None:
                low, high = (_fmt(b[label], self.unit) for b in (self.low, self.high))
                text += f" ({low} to {high} by rounding)"
            shown.append(text)
        return f"{self.name}: {', '.join(shown)}"

    def paper_range(self) -> str:
        if self.one_sided:
            return f"up to {_fmt(self.hi, self.unit)}"
        if self.lo == self.hi:
            return _fmt(self.lo, self.unit)
        return f"{_fmt(self.lo, self.unit)} to {_fmt(self.hi, self.unit)}"

    def band_text(self, tolerance: float) -> str:
        lo, hi = self.band(tolerance)
        if self.one_sided:
            return f"at most {_fmt(hi, self.unit)}"
        if math.isinf(hi):
            return f"at least {_fmt(lo, self.unit)}"
        if lo == hi:
            return _fmt(lo, self.unit)
        return f"{_fmt(lo, self.unit)} to {_fmt(hi, self.unit)}"

    def tolerance_text(self, tolerance: float) -> str:
        if self.rule or self.exact:
            return self.rule or "strict, not widened"
        effect = "ratio - 1" if self.unit == "x" else "value"
        half = self.precision / 2
        half = f"{100 * half:g} %" if self.unit == "%" else f"{half:g}{self.unit.strip('x')}"
        side = ", from above only" if self.one_sided else ""
        return f"{effect} +-({100 * tolerance:g} % of the paper's + {half}){side}"


def _fmt(value: float, unit: str) -> str:
    """A ratio (``x``), a fraction in percent (``%``) or a value with its unit."""
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if unit == "x":
        return f"{value:.2f}x"
    return f"{100 * value:.1f} %" if unit == "%" else f"{value:.3g}{unit}"


@dataclass(frozen=True)
class Data:
    """What the claims are computed from: our frames, their Table 6 and per-resolution tables,
    the run metadata (None where unknown) and the paper's numbers."""

    frames: pd.DataFrame
    table6: pd.DataFrame
    per_resolution: pd.DataFrame
    runs: pd.DataFrame | None
    paper: PaperClaims


class TableParts(Protocol):
    """A claim's parts from a Table 6 like table (ours, or the paper's with its rounding)."""

    def __call__(
        self, table: pd.DataFrame, paper: PaperClaims, half: HalfUnits = NO_ROUNDING
    ) -> list[Part]: ...


@dataclass(frozen=True)
class Claim:
    """What a claim computes: its parts from a Table 6 like table (``table6_parts``: ours and the
    paper's), or from all our data (``ours``) where Table 6 cannot hold them
    (``not_in_table6`` says why); ``note``: what a reader of the verdict should know;
    ``context``: what our data shows nearest the claim when it is not testable here. Its text and
    numbers are in the paper's data."""

    number: int
    table6_parts: TableParts | None = None
    ours: Callable[[Data], list[Part]] | None = None
    not_in_table6: str = ""
    note: str = ""
    context: Callable[[Data], str] | None = None

    def __post_init__(self) -> None:
        if self.table6_parts is None and self.ours is None:
            raise TypeError(f"claim {self.number} declares no parts")

    def parts(self, data: Data) -> list[Part]:
        """The parts from our data."""
        if self.ours is not None:
            return self.ours(data)
        return self.table6_parts(data.table6, data.paper)


@dataclass(frozen=True)
class ClaimRow:
    """One row of ``claims.csv``: the claim's text and the paper's numbers; the same computation
    on the paper's Table 6 with its verdict; ours, with verdict and reason; the tolerances."""

    claim: int
    text: str
    paper: str
    paper_from_table6: str
    paper_verdict: str
    ours: str
    verdict: str
    reason: str
    tolerance: str


def _untested(parts: list[Part]) -> str:
    """The untestable parts, grouped by reason."""
    by_reason: dict[str, list[str]] = {}
    for part in parts:
        if part.values.empty:
            by_reason.setdefault(part.missing, []).append(part.name)
    return "; ".join(f"{', '.join(names)}: {reason}" for reason, names in by_reason.items())


def verdict(parts: list[Part], tolerance: float) -> tuple[str, str]:
    """One of :data:`VERDICTS` for a claim of ``parts``, and why."""
    tested = [p for p in parts if not p.values.empty]
    untested = _untested(parts)
    if not tested:
        return "not testable here", untested
    failed = [p for p in tested if not p.ok(tolerance)]
    if failed:
        reason = "; ".join(
            f"{p.name} outside {p.band_text(tolerance)}"
            + ("" if p.rule else f" (paper {p.paper_range()})")
            for p in failed
        )
    else:
        reason = "every value within the paper's range and its tolerance"
    return ("does not hold" if failed else "holds"), reason + (
        f" (not testable: {untested})" if untested else ""
    )


def tolerance_text(parts: list[Part], tolerance: float, half: HalfUnits) -> str:
    """The tolerances applied to ``parts``, each once; with ``half``, the rounding the
    paper's Table 6 values carry."""
    rules = list(dict.fromkeys(p.tolerance_text(tolerance) for p in parts))
    if half:
        rounding = ", ".join(f"{v:g}" for v in sorted(set(half.values())))
        rules.append(f"Table 6 values +-{rounding}, half its last digit, carried through")
    return "; ".join(rules)


def judge(claim: Claim, data: Data, paper_table6: pd.DataFrame | None, half: HalfUnits) -> ClaimRow:
    """``claim`` on our ``data`` and on the paper's Table 6 (``paper_table6`` with the rounding
    ``half`` of its columns; None when not given)."""
    paper = data.paper
    parts = claim.parts(data)
    ours_verdict, reason = verdict(parts, paper.tolerance)
    testable = ours_verdict != "not testable here"
    if claim.note and testable:
        reason = f"{reason}; {claim.note}"
    if testable:
        ours = "; ".join(p.text() for p in parts if not p.values.empty)
    else:
        ours = claim.context(data) if claim.context else ""
    recomputed, paper_verdict, paper_parts = "", NO_TABLE6_GIVEN, []
    if paper_table6 is not None and claim.table6_parts is None:
        recomputed, paper_verdict = claim.not_in_table6, "not in Table 6"
    elif paper_table6 is not None:
        paper_parts = claim.table6_parts(paper_table6, paper, half)
        recomputed = "; ".join(p.text(paper.tolerance) for p in paper_parts)
        paper_verdict = verdict(paper_parts, paper.tolerance)[0]
    numbers = paper.claims[claim.number]
    return ClaimRow(
        claim.number,
        numbers.text,
        numbers.paper,
        recomputed,
        paper_verdict,
        ours,
        ours_verdict,
        reason,
        tolerance_text(parts + paper_parts, paper.tolerance, half if paper_parts else NO_ROUNDING),
    )
