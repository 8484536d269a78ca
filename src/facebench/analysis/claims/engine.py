"""The verdict engine: a claim is split into parts, each a quantity per label (device,
configuration, platform pair) with an interval, set against the paper's range; the engine judges
each part twice and writes one row of ``claims.csv`` per claim. It knows no claim: each declares
its parts (:class:`Claim`) in the subject modules of this package.

The interval of a value is, for our data, the bootstrap interval of its runs (repeats and frames,
:mod:`facebench.analysis.resampling`), for the paper's Table 6 the interval its printed rounding
allows (:mod:`.intervals`): one rule judges both.

- **direction**: the paper's effect has a sign against no effect (a ratio of 1, a change of 0;
  an inequality's bound): ``holds`` when the interval excludes no effect on the paper's side,
  ``does not hold`` when it lies at or beyond it on the other side (equal values fail a strict
  claim), else ``inconclusive``; ``not applicable`` where the paper's range includes no effect
  (a share, "almost unchanged").
- **magnitude**: the paper's range, widened by half its last digit (its rounding), against ours:
  ``holds`` when our interval lies within that range widened further by the stated
  equivalence margin (an equivalence test), ``does not hold`` when our interval misses the
  rounded range entirely, else ``inconclusive``; ``not applicable`` for an inequality, which has no
  magnitude. The margin scales a ratio (and the ratio behind a saving) by 1 + margin each way,
  never across 1, and widens any other value by its share of each bound, never across zero; a
  one-sided value ("negligible", "up to") is bounded from above only.

A part holds when every label holds, does not hold when one does not; a claim's verdict is
``holds`` when its judged parts hold in direction and magnitude (where they have one), ``does
not hold`` when one does not, ``not testable here`` with no value, else ``inconclusive``. A part
may be shown but kept out of the verdict (``aside`` says why).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any, Protocol

import pandas as pd

from facebench.analysis.claims.intervals import NO_ROUNDING, Bounds, HalfUnits
from facebench.analysis.paper import PaperClaims

HOLDS, FAILS, INCONCLUSIVE = "holds", "does not hold", "inconclusive"
NOT_APPLICABLE = "not applicable"  # not "n/a", which CSV readers take for a missing value
UNTESTABLE = "not testable here"
VERDICTS = (HOLDS, FAILS, INCONCLUSIVE, UNTESTABLE)
PART_VERDICTS = (HOLDS, FAILS, INCONCLUSIVE, NOT_APPLICABLE)
PAPER_VERDICTS = (*VERDICTS[:3], "not in Table 6", "Table 6 not given")
NO_TABLE6_GIVEN = PAPER_VERDICTS[-1]


@dataclass(frozen=True)
class Part:
    """One checkable statement: ``values`` by label, each within [``low``, ``high``] (the
    values themselves where absent: exact), against the paper's [``lo``, ``hi``], given to
    ``precision`` (the unit of its last digit, in the value's own unit)."""

    name: str
    values: pd.Series
    lo: float
    hi: float
    unit: str = "x"  # "x" ratio, "%" fraction shown in percent, else a unit suffix
    precision: float = 0.0
    null: float | None = None  # no effect (1 for a ratio, 0 for a change); None: no direction
    one_sided: bool = False  # magnitude bounded from above only ("negligible", "up to")
    strict: bool = False  # an inequality (value > lo, or < hi where lo is -inf): no magnitude
    complement: bool = False  # a saving or loss, 1 - a ratio: the margin scales that ratio
    missing: str = ""  # why there are no values
    aside: str = ""  # why the part is shown but not judged
    low: pd.Series | None = None
    high: pd.Series | None = None

    @classmethod
    def of(cls, name: str, bounds: Bounds, lo: float, hi: float, **kwargs: Any) -> Part:
        return cls(name, bounds.value, lo, hi, low=bounds.low, high=bounds.high, **kwargs)

    def with_interval(self, low: pd.Series, high: pd.Series) -> Part:
        return replace(self, low=low, high=high)

    @property
    def tested(self) -> bool:
        return not self.values.empty

    @property
    def judged(self) -> bool:
        return self.tested and not self.aside

    def interval(self) -> tuple[pd.Series, pd.Series]:
        """Each label's [low, high]; a label without one spans everything (inconclusive)."""
        low = self.values if self.low is None else self.low.reindex(self.values.index)
        high = self.values if self.high is None else self.high.reindex(self.values.index)
        return low.fillna(-math.inf), high.fillna(math.inf)

    def sign(self) -> int:
        """+1 or -1: the side of no effect the paper's value lies on; 0: no direction."""
        if self.strict:
            return -1 if math.isinf(self.lo) and self.lo < 0 else 1
        if self.null is None:
            return 0
        return 1 if self.lo > self.null else -1 if self.hi < self.null else 0

    def bound(self) -> float:
        """What the direction is judged against: the inequality's bound, or no effect."""
        if self.strict:
            return self.hi if self.sign() < 0 else self.lo
        return float(self.null) if self.null is not None else math.nan

    def direction(self) -> str:
        sign = self.sign()
        if not self.tested or sign == 0:
            return NOT_APPLICABLE
        low, high = self.interval()
        if sign < 0:
            low, high = -high, -low
        bound = sign * self.bound()
        return _combine(
            HOLDS if lo > bound else FAILS if hi <= bound else INCONCLUSIVE
            for lo, hi in zip(low, high, strict=True)
        )

    def band(self, margin: float) -> tuple[float, float]:
        """The paper's range as a magnitude test accepts it, widened by half the paper's last
        digit and by ``margin``: a ratio (or the ratio behind a saving, 1 - value) by the
        factor 1 + ``margin`` each way, never across 1; any other value by ``margin`` of each
        bound, never across zero, a one-sided one from zero."""
        half = self.precision / 2
        if self.unit == "x" or self.complement:
            lo, hi = (1 - self.hi, 1 - self.lo) if self.complement else (self.lo, self.hi)
            wide_lo, wide_hi = lo / (1 + margin) - half, hi * (1 + margin) + half
            if lo > 1:
                wide_lo = max(wide_lo, 1.0)
            if hi < 1:
                wide_hi = min(wide_hi, 1.0)
            return (1 - wide_hi, 1 - wide_lo) if self.complement else (wide_lo, wide_hi)
        lo, hi = (0.0 if self.one_sided else self.lo), self.hi
        wide_lo, wide_hi = lo - margin * abs(lo) - half, hi + margin * abs(hi) + half
        if lo > 0:
            wide_lo = max(wide_lo, 0.0)
        if hi < 0:
            wide_hi = min(wide_hi, 0.0)
        return wide_lo, wide_hi

    def magnitude(self, margin: float) -> str:
        if not self.tested or self.strict:
            return NOT_APPLICABLE
        low, high = self.interval()
        (rounded_lo, rounded_hi), (wide_lo, wide_hi) = self.band(0.0), self.band(margin)
        return _combine(
            HOLDS
            if lo >= wide_lo and hi <= wide_hi
            else FAILS
            if hi < rounded_lo or lo > rounded_hi
            else INCONCLUSIVE
            for lo, hi in zip(low, high, strict=True)
        )

    def text(self) -> str:
        """Each label's value and interval."""
        if not self.tested:
            return f"{self.name}: not testable ({self.missing})"
        low, high = self.interval()
        shown = []
        for label, value in self.values.items():
            interval = ""
            if low[label] != value or high[label] != value:
                interval = f" [{_fmt(low[label], self.unit)}, {_fmt(high[label], self.unit)}]"
            shown.append(f"{label} {_fmt(value, self.unit)}{interval}")
        aside = f" (not judged: {self.aside})" if self.aside else ""
        return f"{self.name}: {', '.join(shown)}{aside}"

    def paper_range(self) -> str:
        if self.strict:
            return f"{'<' if self.sign() < 0 else '>'} {_fmt(self.bound(), self.unit)}"
        if self.one_sided:
            return f"up to {_fmt(self.hi, self.unit)}"
        if self.lo == self.hi:
            return _fmt(self.lo, self.unit)
        return f"{_fmt(self.lo, self.unit)} to {_fmt(self.hi, self.unit)}"

    def paper_text(self) -> str:
        """The paper's range with the interval its rounding allows."""
        if self.strict:
            return f"{self.name} {self.paper_range()}"
        lo, hi = self.band(0.0)
        rounding = "" if self.precision == 0 else f" (by rounding {_span(lo, hi, self.unit)})"
        return f"{self.name} {self.paper_range()}{rounding}"


def _span(lo: float, hi: float, unit: str) -> str:
    return _fmt(lo, unit) if lo == hi else f"{_fmt(lo, unit)} to {_fmt(hi, unit)}"


def _combine(verdicts: Iterable[str]) -> str:
    """Every label holds: holds; one does not: does not hold; else inconclusive."""
    found = set(verdicts)
    if FAILS in found:
        return FAILS
    return HOLDS if found == {HOLDS} else INCONCLUSIVE


def _fmt(value: float, unit: str) -> str:
    """A ratio (``x``), a fraction in percent (``%``) or a value with its unit."""
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if unit == "x":
        return f"{value:.2f}x"
    return f"{100 * value:.1f} %" if unit == "%" else f"{value:.3g}{unit}"


@dataclass(frozen=True)
class Data:
    """What the claims are computed from: our frames, their Table 6 and per-resolution means,
    the run metadata (None where unknown), the paper's numbers, the generated videos (their
    content is set by the generator), the paper's mean faces per frame (None without its Table
    6) and, in a bootstrap replicate, the data it was drawn from (labels chosen there)."""

    frames: pd.DataFrame
    table6: pd.DataFrame
    per_resolution: pd.DataFrame
    runs: pd.DataFrame | None
    paper: PaperClaims
    generated_videos: frozenset[str] = frozenset()
    paper_faces_per_frame: float | None = None
    reference: Data | None = None

    @property
    def original(self) -> Data:
        return self.reference or self


class TableParts(Protocol):
    """A claim's parts from a Table 6 like table (ours, or the paper's with its rounding) and
    the paper's mean faces per frame (None: unknown)."""

    def __call__(
        self,
        table: pd.DataFrame,
        paper: PaperClaims,
        half: HalfUnits = NO_ROUNDING,
        faces_per_frame: float | None = None,
    ) -> list[Part]: ...


@dataclass(frozen=True)
class Claim:
    """What a claim computes: its parts from a Table 6 like table (``table6_parts``: ours and the
    paper's), or from all our data (``ours``) where Table 6 cannot hold them
    (``not_in_table6`` says why); ``note``: what a reader of the verdict should know;
    ``context``: what our data shows nearest the claim when it is not testable here;
    ``paper_note``: what is wrong with the paper's own numbers. Its text and numbers are in the
    paper's data."""

    number: int
    table6_parts: TableParts | None = None
    ours: Callable[[Data], list[Part]] | None = None
    not_in_table6: str = ""
    note: str = ""
    context: Callable[[Data], str] | None = None
    paper_note: Callable[[PaperClaims], str] | None = None  # what is wrong with its numbers

    def __post_init__(self) -> None:
        if self.table6_parts is None and self.ours is None:
            raise TypeError(f"claim {self.number} declares no parts")

    def parts(self, data: Data) -> list[Part]:
        """The parts from our data."""
        if self.ours is not None:
            return self.ours(data)
        return self.table6_parts(
            data.table6, data.paper, faces_per_frame=data.paper_faces_per_frame
        )


@dataclass(frozen=True)
class Judgement:
    """A claim's parts judged: direction, magnitude, verdict and why."""

    direction: str
    magnitude: str
    verdict: str
    reason: str
    untested: str

    @classmethod
    def of(cls, parts: list[Part], margin: float) -> Judgement:
        judged = [p for p in parts if p.judged]
        untested = _untested(parts)
        if not judged:
            reason = untested or "; ".join(f"{p.name}: {p.aside}" for p in parts if p.aside)
            return cls(NOT_APPLICABLE, NOT_APPLICABLE, UNTESTABLE, reason, untested)
        directions = {p.name: p.direction() for p in judged}
        magnitudes = {p.name: p.magnitude(margin) for p in judged}
        direction, magnitude = _overall(directions.values()), _overall(magnitudes.values())
        if FAILS in (direction, magnitude):
            verdict = FAILS
        elif {direction, magnitude} <= {HOLDS, NOT_APPLICABLE}:
            verdict = HOLDS
        else:
            verdict = INCONCLUSIVE
        reasons = [
            f"{p.name}: {_why(p, directions[p.name], magnitudes[p.name], margin)}"
            for p in judged
            if {directions[p.name], magnitudes[p.name]} - {HOLDS, NOT_APPLICABLE}
        ]
        reason = "; ".join(reasons) or "every judged part holds"
        return cls(direction, magnitude, verdict, reason, untested)


def _overall(verdicts: Iterable[str]) -> str:
    applicable = [v for v in verdicts if v != NOT_APPLICABLE]
    return _combine(applicable) if applicable else NOT_APPLICABLE


def _why(part: Part, direction: str, magnitude: str, margin: float) -> str:
    out = []
    if direction in (FAILS, INCONCLUSIVE):
        side = {1: "above", -1: "below"}[part.sign()]
        out.append(f"direction {direction} (needs {side} {_fmt(part.bound(), part.unit)})")
    if magnitude in (FAILS, INCONCLUSIVE):
        lo, hi = part.band(margin)
        out.append(
            f"magnitude {magnitude} (paper {part.paper_range()}; "
            f"within {_span(lo, hi, part.unit)} holds)"
        )
    return ", ".join(out)


def _untested(parts: list[Part]) -> str:
    """The untestable parts, grouped by reason."""
    by_reason: dict[str, list[str]] = {}
    for part in parts:
        if not part.tested:
            by_reason.setdefault(part.missing, []).append(part.name)
    return "; ".join(f"{', '.join(names)}: {reason}" for reason, names in by_reason.items())


@dataclass(frozen=True)
class ClaimRow:
    """One row of ``claims.csv``: the claim's text, the paper's numbers with their rounding;
    the same computation on the paper's Table 6 (values with the intervals its rounding allows)
    with its verdicts; ours with bootstrap intervals, verdicts and why; what was not testable;
    the rule."""

    claim: int
    text: str
    paper: str
    paper_rounding: str
    paper_from_table6: str
    paper_direction: str
    paper_magnitude: str
    paper_verdict: str
    paper_note: str
    ours: str
    direction: str
    magnitude: str
    verdict: str
    reason: str
    not_testable: str
    rule: str


def rule_text(margin: float, confidence: float) -> str:
    """The rule in words (``confidence`` NaN: our values taken as exact)."""
    interval = "value (taken as exact)" if math.isnan(confidence) else f"{confidence:.0%} interval"
    return (
        f"direction: the {interval} excludes no effect on the paper's side; "
        f"magnitude: within the paper's range +-half its last digit +-{margin:.0%} of each "
        "bound's effect (equivalence), fails outside the rounded range; Table 6: its rounding "
        "as the interval"
    )


def judge(
    claim: Claim,
    parts: list[Part],
    paper_parts: list[Part] | None,
    paper: PaperClaims,
    confidence: float,
    context: str = "",
) -> ClaimRow:
    """``claim``'s row from our ``parts`` (with their intervals), the paper's Table 6 parts
    (None: Table 6 not given) and what our data shows nearest an untestable claim."""
    margin = paper.equivalence_margin
    ours = Judgement.of(parts, margin)
    reason = ours.reason
    if claim.note and ours.verdict != UNTESTABLE:
        reason = f"{reason}; {claim.note}"
    shown = "; ".join(p.text() for p in parts if p.tested) or context
    recomputed, paper_judged = "", None
    if paper_parts is None:
        paper_verdict = NO_TABLE6_GIVEN if claim.table6_parts else "not in Table 6"
        recomputed = "" if claim.table6_parts else claim.not_in_table6
    else:
        paper_judged = Judgement.of(paper_parts, margin)
        paper_verdict = paper_judged.verdict
        recomputed = "; ".join(p.text() for p in paper_parts)
    numbers = paper.claims[claim.number]
    return ClaimRow(
        claim.number,
        numbers.text,
        numbers.paper,
        "; ".join(dict.fromkeys(p.paper_text() for p in parts)),
        recomputed,
        paper_judged.direction if paper_judged else NOT_APPLICABLE,
        paper_judged.magnitude if paper_judged else NOT_APPLICABLE,
        paper_verdict,
        "; ".join(
            filter(None, [numbers.circular_in_table6, claim.paper_note and claim.paper_note(paper)])
        ),
        shown,
        ours.direction,
        ours.magnitude,
        ours.verdict,
        reason,
        ours.untested,
        rule_text(margin, confidence),
    )
