"""The verdict engine on its own: intervals from printed rounding, verdicts and their reasons,
and one claim judged into its row of claims.csv, without any of the paper's claims."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from facebench.analysis.claims.engine import (
    NO_TABLE6_GIVEN,
    Claim,
    ClaimRow,
    Data,
    Part,
    judge,
    tolerance_text,
    verdict,
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


def test_framework_ratio_per_device_and_missing_framework():
    table = pd.DataFrame(
        {
            "device": ["a", "a", "b"],
            "detector": ["tf", "tensorrt", "tf"],
            "detection_time_s": [0.8, 0.1, 0.5],
        }
    )
    ratio = framework_ratio(table, "detector", "detection_time_s", "tf", "tensorrt", NO_ROUNDING)
    assert ratio.value.to_dict() == {"a": pytest.approx(8.0)}  # b runs one framework only
    assert framework_ratio(
        table, "detector", "detection_time_s", "tf", "onnx", NO_ROUNDING
    ).value.empty


def test_verdict_reasons():
    inside = Part("speed", pd.Series({"a": 2.0}), 1.9, 2.1, precision=0.1)
    outside = Part("faces", pd.Series({"a": 0.5}), 1.0, math.inf, exact=True)
    missing = [
        Part(name, pd.Series(dtype=float), 1, 2, missing="no tensorrt") for name in ("x", "y")
    ]
    assert verdict([inside], 0.1) == (
        "holds",
        "every value within the paper's range and its tolerance",
    )
    assert verdict([inside, outside, *missing], 0.1) == (
        "does not hold",
        "faces outside at least 1.00x (paper 1.00x to inf) (not testable: x, y: no tensorrt)",
    )
    assert verdict(missing, 0.1) == ("not testable here", "x, y: no tensorrt")


def test_tolerance_text_names_each_rule_once():
    parts = [
        Part("a", pd.Series(dtype=float), 0.4, 0.6, "%", 0.01),
        Part("b", pd.Series(dtype=float), 0.4, 0.6, "%", 0.01),
        Part("c", pd.Series(dtype=float), 1.0, math.inf, exact=True),
    ]
    assert tolerance_text(parts, 0.1, NO_ROUNDING) == (
        "value +-(10 % of the paper's + 0.5 %); strict, not widened"
    )
    assert tolerance_text(parts[:1], 0.1, {"fps": 0.005, "faces": 0.005}).endswith(
        "; Table 6 values +-0.005, half its last digit, carried through"
    )


@pytest.fixture
def data() -> Data:
    table6 = pd.DataFrame(
        {
            "device": ["a", "a"],
            "recognizer": ["tf", "onnx"],
            "recognition_time_s": [0.2, 0.1],
        }
    )
    return Data(pd.DataFrame(), table6, pd.DataFrame(), None, read_paper_claims())


def _fixed(value: float | None) -> Part:
    """A part of one value on device a, or of none."""
    values = pd.Series(dtype=float) if value is None else pd.Series({"a": value})
    return Part("share", values, 0.4, 0.6)


def test_judge_a_claim_into_its_row(data):
    """A claim is judged on our data and the paper's table with one rule; its note follows a
    tested verdict only, its context stands in for an untestable one."""

    def from_table(table, paper, half=NO_ROUNDING):
        return [_fixed(0.5 if table is data.table6 else 0.45)]

    claim = Claim(2, table6_parts=from_table, note="a note")
    row = judge(claim, data, pd.DataFrame(), {"fps": 0.005})
    assert isinstance(row, ClaimRow) and row.claim == 2
    assert (row.verdict, row.paper_verdict) == ("holds", "holds")
    assert row.ours == "share: a 0.50x" and row.paper_from_table6 == "share: a 0.45x"
    assert row.reason.endswith("; a note") and "Table 6 values +-0.005" in row.tolerance
    assert judge(claim, data, None, NO_ROUNDING).paper_verdict == NO_TABLE6_GIVEN

    context = OthersAgainst("recognizer", "recognition_time_s", "tf", "tensorrt")
    untestable = Claim(
        11, ours=lambda _: [_fixed(None)], not_in_table6="no such column", context=context
    )
    row = judge(untestable, data, pd.DataFrame(), NO_ROUNDING)
    assert row.verdict == "not testable here" and "a note" not in row.reason
    assert row.ours == "recognition_time_s recognizer vs tf: a onnx 0.50x"
    assert (row.paper_verdict, row.paper_from_table6) == ("not in Table 6", "no such column")


def test_a_claim_declares_its_parts():
    with pytest.raises(TypeError, match="claim 3 declares no parts"):
        Claim(3)
