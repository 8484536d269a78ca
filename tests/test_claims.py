"""The claims check on the paper's own Table 6 and on synthetic runs: the table's rounding is
carried as its interval, each claim computes what the paper did, and the claim-specific rules
(claim 6 across devices, 8's video-dependent parts, 10's inconsistent number, 11's exception
by device class and OS) do what they say."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import REPO_ROOT

from facebench.analysis import tables
from facebench.analysis.aggregate import RUN_GLOB, collect_runs, read_runs, run_table
from facebench.analysis.claims.check import CLAIMS, check_claims, paper_faces_per_frame
from facebench.analysis.claims.engine import (
    FAILS,
    HOLDS,
    INCONCLUSIVE,
    NOT_APPLICABLE,
    PAPER_VERDICTS,
    VERDICTS,
    Data,
    Judgement,
)
from facebench.analysis.claims.intervals import half_units
from facebench.analysis.claims.power import power
from facebench.analysis.paper import read_paper_claims
from facebench.analysis.resampling import Resampling
from facebench.analysis.synthetic import Device, write_dataset
from facebench.errors import FacebenchError

PAPER_TABLE6 = REPO_ROOT / "resources" / "paper" / "table6_reconstructed.csv"
PAPER_CLAIMS = REPO_ROOT / "resources" / "paper" / "claims.yaml"
DEVICES = [
    Device(
        "jetson",
        "edge",
        [("tf", "tf"), ("tf", "tflite"), ("tensorrt", "tensorrt"), ("tensorrt", "tflite")],
        speed=4,
        gpu=True,
        gpu_name="Volta",
    ),
    Device("server", "cloud", [("tf", "tf"), ("tensorrt", "tflite")]),
]


@pytest.fixture(scope="module")
def checked(tmp_path_factory) -> pd.DataFrame:
    """check_claims on synthetic runs of an edge and a cloud device (3 repeats, bootstrap
    intervals), with the paper's Table 6."""
    root = tmp_path_factory.mktemp("claims")
    device_class = write_dataset(root, DEVICES, {"video1": 16}, repeats=3, warmup_frames=2, seed=5)
    runs = read_runs(sorted((root / "results" / "runs").glob(RUN_GLOB)), device_class)
    frames, _ = collect_runs(runs, root / "resources" / "videos")
    resampling = Resampling(replicates=40, seed=1)
    return check_claims(
        frames, run_table(runs), PAPER_TABLE6, resampling=resampling, generated_videos={"video1"}
    ).set_index("claim")


@pytest.fixture(scope="module")
def paper_table6() -> pd.DataFrame:
    return tables.read_paper_table6(PAPER_TABLE6)


def _paper_parts(table: pd.DataFrame, number: int, rounding: bool = True) -> list:
    claim = next(c for c in CLAIMS if c.number == number)
    half = half_units(table) if rounding else {}
    return claim.table6_parts(table, read_paper_claims(), half, paper_faces_per_frame(table))


def test_the_papers_table6_judged_by_the_same_rule(checked, paper_table6):
    """Every claim Table 6 holds is judged on it from its rounding intervals; none fails. The
    TensorRT ratios of claims 4, 5 and 9 cannot be pinned by times given to 0.01 s (0.02-0.04
    s): inconclusive, not passed by a tolerance. 6 and 12 hold, but the table's labels were
    assigned from claims 5, 6 and 12: they are not calibration, and the row says so."""
    assert checked["paper_verdict"].isin(PAPER_VERDICTS).all()
    in_table6 = [c.number for c in CLAIMS if c.table6_parts]
    assert in_table6 == [2, 3, 4, 5, 6, 7, 9, 12]
    expected = {2: HOLDS, 3: HOLDS, 4: INCONCLUSIVE, 5: INCONCLUSIVE, 6: HOLDS, 7: HOLDS}
    expected |= {9: INCONCLUSIVE, 12: HOLDS}
    assert checked.loc[in_table6, "paper_verdict"].to_dict() == expected
    assert (checked.loc[in_table6, ["paper_direction", "paper_magnitude"]] != FAILS).all().all()
    not_in_table6 = [c.number for c in CLAIMS if c.not_in_table6]
    assert not_in_table6 == [1, 8, 10, 11]
    assert (checked.loc[not_in_table6, "paper_verdict"] == "not in Table 6").all()
    assert checked.loc[8, "paper_from_table6"] == "Table 6 averages the resolutions"
    for number in (5, 6, 12):
        assert "were assigned" in checked.loc[number, "paper_note"]
    assert checked.loc[4, "paper_note"] == ""
    assert checked["verdict"].isin(VERDICTS).all() and (checked["rule"].str.len() > 0).all()
    assert "6.00x to 11.00x (by rounding 5.50x to 11.50x)" in checked.loc[4, "paper_rounding"]


def test_table6_rounding_is_its_interval(paper_table6):
    """Table 6 gives times to 0.01 s: TensorRT's detection on the two 2080 Tis (0.03 vs 0.02 s)
    reads 0.67x for the paper's 0.95x; taken as exact it would refute the paper with its own
    data, with its rounding it is inconclusive."""
    half = half_units(paper_table6)
    assert half["detection_time_s"] == half["fps"] == half["faces"] == pytest.approx(0.005)
    exact = {p.name: p for p in _paper_parts(paper_table6, 9, rounding=False)}
    rounded = {p.name: p for p in _paper_parts(paper_table6, 9)}
    name = "detector tensorrt time 18.04 over 16.04"
    assert exact[name].values.iloc[0] == pytest.approx(0.667, abs=0.001)
    assert exact[name].magnitude(0.25) == FAILS
    assert (rounded[name].direction(), rounded[name].magnitude(0.25)) == (INCONCLUSIVE,) * 2
    assert "[0.33x, 1.22x]" in rounded[name].text()


def test_claims_2_and_3_computed_as_the_paper(paper_table6):
    """Claim 2 on Table 6 (Nano excepted), recognition taken per face at the table's mean 2.85
    faces a frame, gives 43.2-57.6 %; claim 3 compares each edge platform with each cloud one
    and gives 2.0x to 7.4x as the paper averaged them, where pooling classes gave 4.8-5.7x."""
    detection, recognition = (p.values for p in _paper_parts(paper_table6, 2))
    assert paper_faces_per_frame(paper_table6) == pytest.approx(2.854, abs=0.001)
    assert "jetson-nano" not in detection.index and len(detection) == 8
    assert detection.min() == pytest.approx(0.432, abs=0.001)
    assert detection.max() == pytest.approx(0.576, abs=0.001)
    assert (detection + recognition).to_numpy() == pytest.approx(1.0)
    matched, pairs = _paper_parts(paper_table6, 3)
    assert len(pairs.values) == 4 * 5 and "jetson-agx/rtx8000" in pairs.values.index
    assert pairs.values.min() == pytest.approx(1.99, abs=0.01)
    assert pairs.values.max() == pytest.approx(7.39, abs=0.01)
    # like for like the Nano (TensorRT's MTCNN only) is 11.6x the RTX 2070: the paper's 7.7x
    # averaged TF MTCNN into the cloud means and not into the Nano's
    assert matched.values["jetson-nano/rtx2070"] == pytest.approx(11.59, abs=0.01)
    assert matched.strict and matched.direction() == HOLDS


def test_claim6_is_a_difference_across_devices(paper_table6):
    """'Depends on the platform': the largest TFLite change minus the smallest, more than 0;
    with one device it is not testable."""
    [part] = _paper_parts(paper_table6, 6)
    assert part.values.index.tolist() == ["rtx8000 - jetson-agx"]
    assert part.values.iloc[0] == pytest.approx(0.916, abs=0.001)
    assert part.direction() == HOLDS and part.magnitude(0.25) == NOT_APPLICABLE
    one = paper_table6[paper_table6["device"] == "rtx8000"]
    [alone] = _paper_parts(one, 6)
    assert alone.values.empty and "two devices" in alone.missing


def test_our_verdicts_intervals_and_notes(checked):
    assert checked.loc[3, "verdict"] != "not testable here"  # an edge and a cloud device
    assert "jetson/server" in checked.loc[3, "ours"] and "[" in checked.loc[3, "ours"]
    assert checked.loc[3, "direction"] == HOLDS  # the edge device is designed 4x slower
    assert "recognition time per face growth 480->HD" in checked.loc[8, "ours"]
    assert "faces growth 480->HD: all" not in checked.loc[8, "ours"]
    assert "not judged: set by the generated video" in checked.loc[8, "ours"]
    assert "only one OS" in checked.loc[9, "reason"]
    assert "tensorrt over tf mean power" in checked.loc[11, "ours"]
    assert "95% interval" in checked.loc[1, "rule"]


def test_claim10_reports_the_papers_inconsistent_ratio(checked):
    """TensorRT over TFLite GPU memory follows from TF over each; the paper prints 1.38x for
    the cloud where its other two give 1.08x: shown, not judged."""
    note = checked.loc[10, "paper_note"]
    assert "tensorrt over tflite (cloud)" in note and "1.38x" in note and "1.08x" in note
    assert "(edge)" not in note  # 1.09x printed, 1.10x implied: within rounding


def _power_frames(devices: dict[str, str]) -> pd.DataFrame:
    configs = {  # (detector, recognizer): power W, energy J per frame
        ("tf", "tf"): (100.0, 1.0),
        ("tensorrt", "tensorrt"): (150.0, 1.5),
        ("tensorrt", "tflite"): (90.0, 1.2),
        ("tf", "tensorrt"): (120.0, 1.3),
        ("tensorrt", "tf"): (180.0, 1.4),
    }
    return pd.DataFrame(
        [
            {"device": d, "device_class": "cloud", "detector": det, "recognizer": rec}
            | {"power_w": w, "energy_j": j}
            for d in devices
            for (det, rec), (w, j) in configs.items()
        ]
    )


def test_claim11_power_by_ratios_and_its_exception_by_class_and_os():
    """The exception (TF/TF the least energy) applies to a cloud device on Ubuntu 18.04 with an
    identical twin on 16.04, whatever it is called; another 18.04 machine follows the rule."""
    paper = read_paper_claims()
    assert "(cloud on Ubuntu 18.04 beside its 16.04 twin: tf + tf)" in paper.claims[11].paper
    hosts = {"b18": "Ubuntu 18.04.6 LTS", "b16": "Ubuntu 16.04.7 LTS", "solo": "Ubuntu 18.04"}
    runs = pd.DataFrame(
        [
            {"device": d, "os": os, "cpu_model": "Xeon", "gpu": "GPU" if d != "solo" else "other"}
            for d, os in hosts.items()
        ]
    )
    data = Data(_power_frames(hosts), pd.DataFrame(), pd.DataFrame(), runs, paper)
    parts = {p.name.split(" (")[0]: p for p in power(data)}
    least = parts["least energy per frame with tensorrt MTCNN + tflite FaceNet over the rest"]
    # b18: tf + tf (1.0 J) over the rest's least (1.2 J); elsewhere tensorrt+tflite 1.2 over 1.0
    assert least.values.to_dict() == pytest.approx({"b16": 1.2, "b18": 1.0 / 1.2, "solo": 1.2})
    assert least.strict and least.direction() == FAILS  # b16 and solo use more than tf + tf
    highest = parts["highest power with tensorrt over without"]
    assert highest.values["b16"] == pytest.approx(1.8) and highest.direction() == HOLDS
    # matched: the tensorrt detector (180, 150 W behind tf and tensorrt FaceNet) over tf's
    # (100, 120 W behind the same), +50 %; the recognizer behind the same detectors, -3.6 %
    extra = parts["tensorrt over tf mean power, by detector and recognizer"]
    assert extra.one_sided and extra.values["b16 detector"] == pytest.approx(0.5)
    assert extra.values["b16 recognizer"] == pytest.approx(135 / 140 - 1)
    assert extra.magnitude(0.25) == FAILS  # +50 % beyond "up to +35 %" and its margin
    assert extra.direction() == FAILS  # the recognizer draws less with tensorrt


def test_equal_power_is_no_evidence_for_either_framework():
    """All configurations at the same power: 'the highest-power one uses TensorRT' does not
    hold (a tie is broken explicitly, not by row order)."""
    frames = _power_frames({"a": ""}).assign(power_w=100.0)
    data = Data(frames, pd.DataFrame(), pd.DataFrame(), None, read_paper_claims())
    parts = {p.name: p for p in power(data)}
    assert parts["highest power with tensorrt over without"].direction() == FAILS
    assert parts["lowest power with tflite FaceNet over without"].direction() == FAILS
    assert Judgement.of(list(parts.values()), 0.25).verdict == FAILS


def test_every_claim_value_has_a_precision(tmp_path):
    paper = read_paper_claims()
    assert paper.equivalence_margin == 0.25
    assert paper.precision(8, "resolution_ratios", "fps drop", "480->HD", "all") == 0.1
    assert paper.precision(6, "tflite_change", "jetson-nx") == 0.1
    assert paper.claims[1].one_sided == ("read_share",)
    broken = PAPER_CLAIMS.read_text().replace(
        "precision: {tensorrt_mtcnn_speedup: 1}", "precision: {}"
    )
    (tmp_path / "claims.yaml").write_text(broken)
    with pytest.raises(FacebenchError, match="claim 4: no precision for tensorrt_mtcnn_speedup"):
        read_paper_claims(tmp_path / "claims.yaml").precision(4, "tensorrt_mtcnn_speedup")
    unnamed = PAPER_CLAIMS.read_text().replace("one_sided: [read_share]", "one_sided: [share]")
    (tmp_path / "claims.yaml").write_text(unnamed)
    with pytest.raises(FacebenchError, match="one_sided names no value: share"):
        read_paper_claims(tmp_path / "claims.yaml")
