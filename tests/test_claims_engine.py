"""The verdict engine on its own: intervals from printed rounding, direction and magnitude
verdicts from intervals and their reasons, and one claim judged into its row of claims.csv,
without any of the paper's claims."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from facebench.analysis.claims.engine import (
    FAILS,
    HOLDS,
    INCONCLUSIVE,
    NO_TABLE6_GIVEN,
    NOT_APPLICABLE,
    Claim,
    ClaimRow,
    Data,
    Judgement,
    Part,
    judge,
)
from facebench.analysis.claims.intervals import (
    NO_ROUNDING,
    Bounds,
    grouped_means,
    half_units,
    pairwise_ratios,
)
from facebench.analysis.claims.quantities import OthersAgainst, framework_ratio
from facebench.analysis.paper import read_paper_claims


def _rounded(values: list[float], half: float) -> Bounds:
    series = pd.Series(values, index=[f"d{i}" for i in range(len(values))])
    return Bounds(series, series - half, series + half)


def test_interval_arithmetic_widens_each_way():
    """A ratio's lowest is the lowest numerator over the highest denominator; a bound at zero
    leaves the ratio unbounded above, not negative."""
    num, den = _rounded([0.02, 1.0], 0.005), _rounded([0.01, 0.5], 0.005)
    ratio = num / den
    assert ratio.value.tolist() == pytest.approx([2.0, 2.0])
    assert ratio.low["d0"] == pytest.approx(0.015 / 0.015)
    assert ratio.high["d0"] == pytest.approx(0.025 / 0.005)
    saved = 1 - ratio
    assert saved.low["d1"] == pytest.approx(1 - 1.005 / 0.495)
    assert saved.high["d1"] == pytest.approx(1 - 0.995 / 0.505)
    assert (1 / _rounded([0.004], 0.005)).high.iloc[0] == math.inf  # 0.004 may be 0


def test_pairwise_ratios_label_every_pair():
    edge, cloud = _rounded([4.0, 6.0], 0.5), _rounded([2.0], 0.5)
    pairs = pairwise_ratios(edge, cloud.set_axis(["c"]))
    assert pairs.value.to_dict() == {"d0/c": 2.0, "d1/c": 3.0}
    assert pairs.low["d1/c"] == pytest.approx(5.5 / 2.5)
    assert pairs.high["d0/c"] == pytest.approx(4.5 / 1.5)


def test_grouped_means_and_half_units():
    table = pd.DataFrame({"device": ["a", "a", "b"], "fps": [1.25, 1.75, 3.1], "n": [1, 2, 3]})
    half = half_units(table)
    assert half == pytest.approx({"fps": 0.005, "n": 0.5})
    means = grouped_means(table, "device", "fps", half)
    assert means.value.to_dict() == {"a": 1.5, "b": 3.1}
    assert means.low["a"] == pytest.approx(1.495) and means.high["b"] == pytest.approx(3.105)
    exact = grouped_means(table, "device", "fps", NO_ROUNDING)
    assert exact.low.equals(exact.value) and exact.high.equals(exact.value)


def test_framework_ratio_per_device_matched_on_the_other_role():
    """TX2 and the GTX 1080 have no tf-detector/tensorrt-recognizer row: a recognizer ratio
    over every row would mix in the detectors' effect, so only detectors with both count."""
    table = pd.DataFrame(
        {
            "device": ["a", "a", "a", "b"],
            "detector": ["tf", "tf", "tensorrt", "tf"],
            "recognizer": ["tf", "tensorrt", "tf", "tf"],
            "recognition_time_s": [0.8, 0.2, 0.4, 0.5],
        }
    )
    ratio = framework_ratio(
        table, "recognizer", "recognition_time_s", "tf", "tensorrt", NO_ROUNDING
    )
    assert ratio.value.to_dict() == {"a": pytest.approx(4.0)}  # 0.8/0.2, not 0.6/0.2; b: one
    assert framework_ratio(
        table, "recognizer", "recognition_time_s", "tf", "onnx", NO_ROUNDING
    ).value.empty


def _part(low: float, high: float, lo: float, hi: float, **kwargs) -> Part:
    """A part of one label whose interval is [low, high], against the paper's [lo, hi]."""
    value = (low + high) / 2
    return Part(
        "p",
        pd.Series({"a": value}),
        lo,
        hi,
        low=pd.Series({"a": low}),
        high=pd.Series({"a": high}),
        **kwargs,
    )


def test_direction_needs_the_interval_clear_of_no_effect_on_the_papers_side():
    speedup = {"lo": 6.0, "hi": 11.0, "null": 1.0}
    assert _part(2.0, 3.0, **speedup).direction() == HOLDS  # faster, if not by 6x
    assert _part(0.5, 0.9, **speedup).direction() == FAILS
    assert _part(0.9, 1.2, **speedup).direction() == INCONCLUSIVE
    slower = {"lo": 0.95, "hi": 0.95, "null": 1.0}  # "5 % less time" has a sign too
    assert _part(0.90, 0.97, **slower).direction() == HOLDS
    assert _part(1.01, 1.02, **slower).direction() == FAILS
    # the paper's range includes no effect ("almost unchanged"), or a share: no direction
    assert _part(0.9, 1.2, 0.0, 0.0, unit="%", null=0.0).direction() == NOT_APPLICABLE
    assert _part(0.4, 0.5, 0.41, 0.58, unit="%").direction() == NOT_APPLICABLE


def test_a_strict_inequality_fails_at_equality_and_has_no_magnitude():
    exceeds = {"lo": 1.0, "hi": math.inf, "strict": True}
    assert _part(1.0, 1.0, **exceeds).direction() == FAILS  # a tie is not "more"
    assert _part(1.01, 1.2, **exceeds).direction() == HOLDS
    assert _part(0.99, 1.2, **exceeds).direction() == INCONCLUSIVE
    assert _part(1.01, 1.2, **exceeds).magnitude(0.25) == NOT_APPLICABLE
    below = {"lo": -math.inf, "hi": 1.0, "strict": True}
    assert _part(0.5, 0.9, **below).direction() == HOLDS
    assert _part(1.0, 1.0, **below).direction() == FAILS


def test_magnitude_is_an_equivalence_test_at_the_margin():
    """6-11x given to 1x: rounded 5.5-11.5x; at a 25 % margin 6/1.25 to 11 x 1.25, each
    rounded: 4.3-14.25x."""
    speedup = {"lo": 6.0, "hi": 11.0, "precision": 1.0, "null": 1.0}
    assert _part(6.0, 6.0, **speedup).band(0.0) == pytest.approx((5.5, 11.5))
    assert _part(6.0, 6.0, **speedup).band(0.25) == pytest.approx((4.3, 14.25))
    assert _part(5.0, 12.0, **speedup).magnitude(0.25) == HOLDS
    assert _part(5.0, 15.0, **speedup).magnitude(0.25) == INCONCLUSIVE  # too wide to say
    assert _part(2.0, 5.0, **speedup).magnitude(0.25) == FAILS  # misses the rounded range
    assert _part(2.0, 5.0, **speedup).direction() == HOLDS
    # an effect keeps its sign: a margin never widens "5 % less time" into "more time"
    slower = _part(0.96, 0.96, 0.95, 0.95, precision=0.01, null=1.0)
    assert slower.band(10.0)[1] == pytest.approx(1.0)
    # a saving (1 - a ratio of 0.24-0.49) is widened on that ratio: 51-76 % becomes 38-81 %
    saved = _part(0.6, 0.7, 0.51, 0.76, unit="%", precision=0.01, null=0.0, complement=True)
    assert saved.band(0.25) == pytest.approx((1 - 0.49 * 1.25 - 0.005, 1 - 0.24 / 1.25 + 0.005))


def test_one_sided_magnitude_is_bounded_from_above_only():
    """'Reading is 0.6-1 % (negligible)' is not contradicted by 0.3 %, only by more than 1 %."""
    read = {"lo": 0.006, "hi": 0.01, "unit": "%", "precision": 0.001, "one_sided": True}
    assert _part(0.002, 0.004, **read).magnitude(0.0) == HOLDS
    assert _part(0.0135, 0.014, **read).magnitude(0.25) == FAILS
    assert _part(0.009, 0.012, **read).magnitude(0.25) == HOLDS  # within 1.3 %
    assert _part(0.002, 0.004, **read).paper_range() == "up to 1.0 %"


def test_a_label_without_an_interval_is_inconclusive_and_labels_combine():
    part = Part(
        "p",
        pd.Series({"a": 3.0, "b": 0.5}),
        2.0,
        4.0,
        null=1.0,
        low=pd.Series({"a": 2.5, "b": 0.4}),
        high=pd.Series({"a": float("nan"), "b": 0.6}),
    )
    assert part.direction() == FAILS  # b is slower: one label failing fails the part
    assert part.magnitude(0.25) == FAILS
    only_a = Part("p", pd.Series({"a": 3.0}), 2.0, 4.0, null=1.0, high=pd.Series({"a": 1e9}))
    assert only_a.direction() == HOLDS and only_a.magnitude(0.25) == INCONCLUSIVE


def test_a_claim_judged_from_its_parts_with_reasons():
    holds = _part(2.0, 3.0, 2.0, 3.0, null=1.0)
    wide = _part(0.9, 5.0, 2.0, 3.0, null=1.0)
    missing = [
        Part(name, pd.Series(dtype=float), 1, 2, missing="no tensorrt") for name in ("x", "y")
    ]
    aside = Part("z", pd.Series({"a": 0.1}), 2.0, 3.0, null=1.0, aside="set by the video")
    assert Judgement.of([holds, aside], 0.25).verdict == HOLDS  # the aside is not judged
    judged = Judgement.of([holds, wide, *missing], 0.25)
    assert (judged.direction, judged.magnitude, judged.verdict) == (INCONCLUSIVE,) * 3
    assert "direction inconclusive (needs above 1.00x)" in judged.reason
    assert judged.untested == "x, y: no tensorrt"
    untestable = Judgement.of(missing, 0.25)
    assert (untestable.verdict, untestable.reason) == ("not testable here", "x, y: no tensorrt")


@pytest.fixture
def data() -> Data:
    table6 = pd.DataFrame(
        {
            "device": ["a", "a"],
            "detector": ["tf", "tf"],
            "recognizer": ["tf", "onnx"],
            "recognition_time_s": [0.2, 0.1],
        }
    )
    return Data(pd.DataFrame(), table6, pd.DataFrame(), None, read_paper_claims())


def _fixed(value: float | None) -> Part:
    """A share of one value on device a, or of none."""
    values = pd.Series(dtype=float) if value is None else pd.Series({"a": value})
    return Part("share", values, 0.4, 0.6, unit="%")


def test_judge_a_claim_into_its_row(data):
    """A claim is judged on our data and the paper's table with one rule; its note follows a
    tested verdict only, its context stands in for an untestable one."""
    paper = data.paper
    claim = Claim(2, table6_parts=lambda *_: [], note="a note")
    row = judge(claim, [_fixed(0.5)], [_fixed(0.45)], paper, 0.95)
    assert isinstance(row, ClaimRow) and row.claim == 2
    assert (row.verdict, row.magnitude, row.direction) == (HOLDS, HOLDS, NOT_APPLICABLE)
    assert row.paper_verdict == HOLDS
    assert row.ours == "share: a 50.0 %" and row.paper_from_table6 == "share: a 45.0 %"
    assert row.reason.endswith("; a note") and "95% interval" in row.rule
    assert judge(claim, [_fixed(0.5)], None, paper, 0.95).paper_verdict == NO_TABLE6_GIVEN

    context = OthersAgainst("recognizer", "recognition_time_s", "tf", "tensorrt")
    untestable = Claim(
        11, ours=lambda _: [_fixed(None)], not_in_table6="no such column", context=context
    )
    row = judge(untestable, [_fixed(None)], None, paper, 0.95, context(data))
    assert row.verdict == "not testable here" and "a note" not in row.reason
    assert row.ours == "recognition_time_s recognizer vs tf (matched): a onnx 0.50x"
    assert (row.paper_verdict, row.paper_from_table6) == ("not in Table 6", "no such column")


def test_a_claim_declares_its_parts():
    with pytest.raises(TypeError, match="claim 3 declares no parts"):
        Claim(3)
