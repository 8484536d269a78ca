"""Negative controls for the claims check (issue 26): the paper's own Table 6 never fails its
claims, and Table 6 altered so that each claim's effect is reversed, zeroed, doubled or noisy
flips the verdicts it should and only those; frames of pure noise through our whole path hold a
directional claim about as often as the interval's error rate allows."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from conftest import REPO_ROOT

from facebench.analysis import tables
from facebench.analysis.claims.check import (
    CLAIMS,
    Inputs,
    check_claims,
    paper_faces_per_frame,
    with_intervals,
)
from facebench.analysis.claims.engine import (
    FAILS,
    HOLDS,
    INCONCLUSIVE,
    NOT_APPLICABLE,
    Judgement,
    Part,
)
from facebench.analysis.claims.intervals import NO_ROUNDING, HalfUnits, half_units
from facebench.analysis.paper import read_paper_claims
from facebench.analysis.resampling import Resampling

PAPER_TABLE6 = REPO_ROOT / "resources" / "paper" / "table6_reconstructed.csv"
PAPER = read_paper_claims()
TABLE6 = tables.read_paper_table6(PAPER_TABLE6)
HALF = half_units(TABLE6)  # altered tables keep the paper's printed precision
IN_TABLE6 = {c.number: c for c in CLAIMS if c.table6_parts}
DIRECTIONAL = (3, 4, 5, 7, 9, 12)  # claims with a part that has a sign
TIME_COLUMNS = ["recognition_time_s", "detection_time_s", "fps", "faces"]
OTHER = {"detector": "recognizer", "recognizer": "detector"}
OLD, NEW = PAPER.os_pair_devices


def judged(table: pd.DataFrame, number: int, margin: float, half: HalfUnits = HALF) -> Judgement:
    """Claim ``number`` computed from a Table 6 like ``table`` as the paper's is."""
    parts = IN_TABLE6[number].table6_parts(table, PAPER, half, paper_faces_per_frame(table))
    return Judgement.of(parts, margin)


def swapped(table: pd.DataFrame, column: str, a: str, b: str) -> pd.DataFrame:
    """``table`` with labels ``a`` and ``b`` of ``column`` exchanged."""
    return table.assign(**{column: table[column].replace({a: b, b: a})})


def matched(table: pd.DataFrame, role: str, framework: str, column: str) -> pd.Series:
    """Per row, ``column`` of the row of ``framework`` (in ``role``) on the same device behind
    the same other role's framework (NaN where there is none)."""
    keys = ["device", OTHER[role]]
    source = table.loc[table[role] == framework, [*keys, column]]
    return table[keys].merge(source, on=keys, how="left")[column].set_axis(table.index)


def set_from(
    table: pd.DataFrame, role: str, num: str, den: str, column: str, f=lambda num, den: den
) -> pd.DataFrame:
    """``table`` with ``column`` of each ``num`` row (in ``role``) set to ``f(num, den)``, den
    the value of its matched ``den`` row (default: the den's value itself, zeroing the
    effect)."""
    rows = table[role] == num
    out = table.copy()
    new = f(table[column], matched(table, role, den, column))
    out.loc[rows, column] = new[rows].fillna(table.loc[rows, column])
    return out


def os_pair_set(table: pd.DataFrame, f) -> pd.DataFrame:
    """``table`` with every time, FPS and faces value of the newer-OS device set to ``f(new,
    old)``, old the same configuration on its older-OS twin."""
    keys = ["detector", "recognizer"]
    old = table.loc[table["device"] == OLD, [*keys, *TIME_COLUMNS]]
    rows = table["device"] == NEW
    twin = table.loc[rows, keys].merge(old, on=keys, how="left").set_axis(table.index[rows])
    out = table.copy()
    for column in TIME_COLUMNS:
        out.loc[rows, column] = f(table.loc[rows, column], twin[column])
    return out


# What reversing each directional claim's effect means on Table 6.
REVERSED = {
    3: lambda t: swapped(t, "device_class", "edge", "cloud"),  # edge devices become cloud ones
    4: lambda t: swapped(t, "detector", "tf", "tensorrt"),  # each MTCNN takes the other's time
    5: lambda t: swapped(t, "recognizer", "tf", "tensorrt"),  # each FaceNet the other's time
    7: lambda t: swapped(t, "detector", "tf", "tensorrt"),  # tf MTCNN finds tensorrt's faces
    9: lambda t: t.assign(device=t["device"].replace({OLD: NEW, NEW: OLD})),  # OSes exchanged
    12: lambda t: swapped(t, "recognizer", "tflite", "tensorrt"),  # tflite gets tensorrt's FPS
}

# Each compared pair made equal: the numerator's value set to the denominator's, row by row.
ZEROED = {
    3: lambda t: t.assign(
        detection_time_s=t["detection_time_s"].mean(),
        recognition_time_s=t["recognition_time_s"].mean(),
    ),  # every device as fast as every other
    4: lambda t: set_from(t, "detector", "tf", "tensorrt", "detection_time_s"),
    5: lambda t: set_from(t, "recognizer", "tensorrt", "tf", "recognition_time_s"),
    6: lambda t: set_from(t, "recognizer", "tflite", "tf", "recognition_time_s"),
    7: lambda t: set_from(t, "detector", "tensorrt", "tf", "faces"),
    9: lambda t: os_pair_set(t, lambda new, old: old),
    12: lambda t: set_from(t, "recognizer", "tflite", "tensorrt", "fps"),
}


def _times(t: pd.DataFrame, rows: pd.Series, factor: float) -> pd.DataFrame:
    out = t.copy()
    out.loc[rows, ["detection_time_s", "recognition_time_s"]] *= factor
    return out


def _double_spread(t: pd.DataFrame, detector: str) -> pd.DataFrame:
    """Each device's faces with ``detector`` twice as far below the most as they are."""
    rows = t["detector"] == detector
    most = t.loc[rows, "faces"].max()
    return t.assign(faces=t["faces"].where(~rows, most - 2 * (most - t["faces"])))


# Each tested effect doubled (a ratio's times two, a saving's speed-up times two, a change
# against 1 squared where the claim has effects of both signs).
DOUBLED = {
    3: lambda t: _times(t, t["device_class"] == "edge", 2.0),
    4: lambda t: set_from(t, "detector", "tf", "tensorrt", "detection_time_s", lambda n, d: 2 * n),
    5: lambda t: set_from(
        t, "recognizer", "tensorrt", "tf", "recognition_time_s", lambda n, d: n / 2
    ),
    6: lambda t: set_from(
        t, "recognizer", "tflite", "tf", "recognition_time_s", lambda n, d: d + 2 * (n - d)
    ),
    7: lambda t: _double_spread(t, "tensorrt"),
    9: lambda t: os_pair_set(t, lambda new, old: new * new / old),
    12: lambda t: set_from(t, "recognizer", "tflite", "tensorrt", "fps", lambda n, d: n / 2),
}


@pytest.mark.parametrize("margin", [0.0, PAPER.equivalence_margin])
def test_the_papers_table6_never_fails_its_claims(margin):
    """Calibration without tuning: at margin 0 no claim fails in direction or magnitude, so the
    stated margin only widens what holds (claims 4 and 9 are inconclusive by Table 6's 0.01 s
    rounding of TensorRT's 0.02-0.04 s times)."""
    for number in IN_TABLE6:
        judgement = judged(TABLE6, number, margin)
        assert FAILS not in (judgement.direction, judgement.magnitude), (number, judgement)
        assert judgement.verdict != FAILS


def test_the_margin_only_widens_holds():
    for number in IN_TABLE6:
        exact, wide = judged(TABLE6, number, 0.0), judged(TABLE6, number, 0.25)
        order = [FAILS, INCONCLUSIVE, HOLDS]
        if exact.magnitude in order:
            assert order.index(wide.magnitude) >= order.index(exact.magnitude), number


@pytest.mark.parametrize("number", sorted(REVERSED))
def test_reversed_effects_fail_in_direction(number):
    """Each directional claim with its effect reversed reads "does not hold" in direction; the
    unaltered table does not (the control itself is not what fails)."""
    assert judged(TABLE6, number, 0.0).direction != FAILS
    for margin in (0.0, PAPER.equivalence_margin):
        judgement = judged(REVERSED[number](TABLE6), number, margin)
        assert judgement.direction == FAILS, (number, judgement)
        assert judgement.verdict == FAILS


def test_claim2_fails_with_detection_three_times_slower():
    """Claim 2 (similar shares) has no direction: detection x3 on every row pushes its share
    out of the paper's range, in magnitude."""
    slower = TABLE6.assign(detection_time_s=3 * TABLE6["detection_time_s"])
    judgement = judged(slower, 2, PAPER.equivalence_margin)
    assert judgement.direction == NOT_APPLICABLE
    assert judgement.magnitude == FAILS and judgement.verdict == FAILS


def test_claim6_does_not_hold_with_tflite_as_fast_as_tf_everywhere():
    """Claim 6 ("depends on the platform") is symmetric: what flips it is no difference at all.
    With Table 6's rounding the zero difference is inconclusive, taken as exact it fails."""
    same = ZEROED[6](TABLE6)
    assert judged(same, 6, PAPER.equivalence_margin).verdict == INCONCLUSIVE
    assert judged(same, 6, PAPER.equivalence_margin, NO_ROUNDING).verdict == FAILS


# Zeroed, with Table 6's rounding the intervals straddle equality: inconclusive; taken as exact,
# every part at equality fails (strict ones by "equal fails", the others since the interval does
# not exclude no effect on the paper's side and lies at it).
@pytest.mark.parametrize("number", sorted(ZEROED))
def test_zeroed_effects_never_hold_in_direction(number):
    table = ZEROED[number](TABLE6)
    rounded = judged(table, number, PAPER.equivalence_margin)
    assert rounded.direction in (INCONCLUSIVE, FAILS), (number, rounded)
    assert rounded.verdict != HOLDS
    exact = judged(table, number, PAPER.equivalence_margin, NO_ROUNDING)
    assert exact.direction == FAILS, (number, exact)


@pytest.mark.parametrize("number", sorted(DOUBLED))
def test_doubled_effects_keep_direction_and_lose_magnitude(number):
    """The direction stays what it was on the paper's table; the magnitude fails wherever the
    claim has one that doubling can leave: not claim 6 (an inequality, "differs across
    devices"). Claim 5's saving is judged on the ratio behind it (a margin on the bounded share
    itself stretched 76 % to 95 %, which doubling TensorRT's speed-up never left): doubled,
    the savings of up to 88 % leave the paper's 51-76 % and its 25 % margin (up to 81 %)."""
    original = judged(TABLE6, number, PAPER.equivalence_margin)
    doubled = judged(DOUBLED[number](TABLE6), number, PAPER.equivalence_margin)
    assert doubled.direction == original.direction
    if number == 6:
        assert doubled.magnitude == NOT_APPLICABLE and doubled.verdict == HOLDS
    else:
        assert doubled.magnitude == FAILS, (number, doubled)
        assert doubled.verdict == FAILS


def noisy(table: pd.DataFrame, seed: int, sigma: float = 0.05) -> pd.DataFrame:
    """``table`` with every time, FPS and faces value times lognormal noise of ``sigma``."""
    rng = np.random.default_rng(seed)
    return table.assign(**{c: table[c] * rng.lognormal(0, sigma, len(table)) for c in TIME_COLUMNS})


def label_directions(part: Part) -> dict[str, str]:
    """Each label's direction verdict on its own."""
    return {
        label: replace(part, values=part.values[[label]]).direction() for label in part.values.index
    }


# Over 20 seeds of 5 % noise, verdicts changed (stated margin): claims 2, 3, 4, 5, 6: never;
# claim 7: 20/20 (5 % noise on each device's faces exceeds the 1 % spread TF's counts are
# claimed within: its magnitude fails, its direction never changes); claim 9: 6/20; claim 12:
# 10/20 (direction 5/20, always its jetson-agx/tf label, a 4.6 % FPS loss within the noise).
@pytest.mark.parametrize("seed", range(20))
def test_noise_keeps_the_large_directions(seed):
    table = noisy(TABLE6, seed)
    for number in (3, 4, 5):
        assert judged(table, number, PAPER.equivalence_margin).direction == HOLDS, number
    parts = IN_TABLE6[12].table6_parts(table, PAPER, HALF)
    (unaltered,) = IN_TABLE6[12].table6_parts(TABLE6, PAPER, HALF)
    large = unaltered.values[unaltered.values >= 0.2].index
    assert len(large) >= 10
    assert {label_directions(parts[0])[label] for label in large} == {HOLDS}


CONFIGURATIONS = [(d, r) for d in ("tf", "tensorrt") for r in ("tf", "tensorrt", "tflite")]
DEVICES = [("edge-a", "edge"), ("cloud-a", "cloud")]
UNMEASURED = ["power_w", "energy_j", "gpu_mem_used_mb", "gpu_mem_total_mb", "rss_mb"]
RESAMPLING = Resampling(replicates=100)


def noise_frames(
    seed: int,
    devices: list[tuple[str, str]] = DEVICES,
    configurations: list[tuple[str, str]] = CONFIGURATIONS,
    repeats: int = 3,
    n_frames: int = 40,
) -> pd.DataFrame:
    """Measured frames of one video at two resolutions in which every configuration of every
    device draws its times and faces from the same distribution."""
    rng = np.random.default_rng(seed)
    keys = pd.MultiIndex.from_product(
        [
            range(len(devices)),
            range(len(configurations)),
            ["480", "HD"],
            range(repeats),
            range(n_frames),
        ],
        names=["device", "configuration", "resolution", "repeat", "frame"],
    ).to_frame(index=False)
    n = len(keys)
    device, configuration = keys.pop("device"), keys.pop("configuration")
    frames = keys.assign(
        device=[devices[i][0] for i in device],
        device_class=[devices[i][1] for i in device],
        detector=[configurations[i][0] for i in configuration],
        recognizer=[configurations[i][1] for i in configuration],
        video="v1",
        t_read_s=rng.lognormal(np.log(0.002), 0.3, n),
        t_detect_s=rng.lognormal(np.log(0.1), 0.3, n),
        t_embed_s=rng.lognormal(np.log(0.05), 0.3, n),
        n_faces=rng.poisson(3, n),
        **dict.fromkeys(UNMEASURED, np.nan),
    )
    return frames.assign(t_total_s=frames[["t_read_s", "t_detect_s", "t_embed_s"]].sum(axis=1))


def directional_labels(frames: pd.DataFrame, seed: int) -> list[tuple[int, str, str, str]]:
    """(claim, part, label, direction) of every directional part of every claim computed from
    ``frames`` with bootstrap intervals, as :func:`check_claims` computes them."""
    inputs = Inputs(None, PAPER, frozenset(), paper_faces_per_frame(TABLE6))
    data = inputs.data(frames)
    parts = {claim.number: claim.parts(data) for claim in CLAIMS}
    parts = with_intervals(parts, data, inputs, replace(RESAMPLING, seed=seed))
    return [
        (number, part.name, label, direction)
        for number, found in parts.items()
        for part in found
        if part.judged and part.sign() != 0
        for label, direction in label_directions(part).items()
    ]


def test_pure_noise_rarely_holds_a_direction():
    """Where no configuration differs from another, a part's label holds its direction only
    when its 95 % interval excludes no effect on the paper's side: about 2.5 % of labels.
    Over 3 seeds x 20 labels (claims 3-8 and 12; 9 needs an OS pair), at most 10 % may hold
    (with a 2.5 % rate, 7 or more of 60 has probability below 0.2 %). Found: none held (one of 60
    failed): resampling both repeats and frames counts the frames' spread twice when
    repeats do not differ, so these intervals are wider than 95 % ones (conservative)."""
    found = [
        row
        for seed in range(3)
        for row in directional_labels(noise_frames(seed, n_frames=20), seed)
    ]
    claims = {number for number, *_ in found}
    assert claims == {3, 4, 5, 6, 7, 8, 12}
    held = [row for row in found if row[3] == HOLDS]
    assert len(held) <= 0.1 * len(found), held


def test_a_real_effect_holds_through_our_path():
    """TensorRT MTCNN 5x faster than TF on both devices, all else noise: claim 4 holds in
    direction (its magnitude, 5x against the paper's 6-11x, need not)."""
    frames = noise_frames(7, configurations=[("tf", "tf"), ("tensorrt", "tf")], n_frames=20)
    faster = frames["detector"] == "tensorrt"
    frames.loc[faster, "t_detect_s"] /= 5
    frames["t_total_s"] = frames[["t_read_s", "t_detect_s", "t_embed_s"]].sum(axis=1)
    checked = check_claims(frames, resampling=RESAMPLING).set_index("claim")
    assert checked.loc[4, "direction"] == HOLDS


def test_an_exact_tie_fails_a_strict_part():
    """One repeat, and the tensorrt detector finding exactly the tf detector's faces in every
    frame: every replicate's ratio is 1, and "tensorrt over tf faces" (strict) does not hold."""
    frames = noise_frames(
        3, configurations=[("tf", "tf"), ("tensorrt", "tf")], repeats=1, n_frames=20
    )
    tensorrt = frames["detector"] == "tensorrt"
    frames.loc[tensorrt, "n_faces"] = frames.loc[~tensorrt, "n_faces"].to_numpy()
    checked = check_claims(frames, resampling=replace(RESAMPLING, replicates=20))
    checked = checked.set_index("claim")  # every replicate draws the tie: a few suffice
    assert checked.loc[7, "direction"] == FAILS
    assert "tensorrt over tf MTCNN faces: direction does not hold" in checked.loc[7, "reason"]
