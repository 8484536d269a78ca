"""Run validity: the host-condition sensors, each rule on small synthetic tables, and the
exclusion of invalid runs from Table 6 (fast, no workflow run)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import REPO_ROOT

from facebench.analysis import tables
from facebench.analysis.aggregate import CONFIG_COLUMNS, RUN_GLOB, read_runs, run_table
from facebench.analysis.resampling import Resampling
from facebench.analysis.stages import Aggregate, aggregate, build_tables, check_validity
from facebench.analysis.synthetic import ENROLLED, Device, write_dataset
from facebench.analysis.validity import FAIL, NOT_CHECKED, PASS, check_runs
from facebench.errors import FacebenchError
from facebench.schemas import validate_document
from facebench.sensors import Sampler
from facebench.sensors.conditions import (
    condition_columns,
    jetson_power_mode,
    other_cpu_percent,
    run_conditions,
)
from facebench.sensors.probes import CpuFreqSensor, CpuTempSensor, OtherCpuSensor, RssSensor

SETTINGS = {
    "exclude_invalid": True,
    "min_frames": 10,
    "min_seconds": 0.5,
    "max_cov": 1.0,
    "max_freq_drop": 0.1,
    "max_other_cpu_percent": 25,
    "max_repeat_p50_deviation": 0.25,
}
PAPER = REPO_ROOT / "resources" / "paper"
SPIN = "import time\nend = time.perf_counter() + 1.0\nwhile time.perf_counter() < end: pass"


# --- sensors of the host's conditions --------------------------------------------------------


def test_cpu_clock_from_cpufreq_then_cpuinfo_then_not_measured(tmp_path):
    for n, khz in ((0, 2_400_000), (1, 3_100_000), (2, 900_000)):  # CPU 2 is not ours
        path = tmp_path / "cpu" / f"cpu{n}" / "cpufreq" / "scaling_cur_freq"
        path.parent.mkdir(parents=True)
        path.write_text(f"{khz}\n")
    cpuinfo = tmp_path / "cpuinfo"
    sensor = CpuFreqSensor(tmp_path / "cpu", cpuinfo, cpus=[0, 1])
    assert sensor.available() is None
    assert sensor.values() == (3100.0,)  # the fastest allowed CPU
    assert np.isnan(sensor.values()[0])  # read at most every interval_s, NaN between

    cpuinfo.write_text(
        "processor\t: 0\ncpu MHz\t\t: 2000.5\n\nprocessor\t: 1\ncpu MHz\t\t: 1500.0\n\n"
        "processor\t: 5\ncpu MHz\t\t: 4000.0\n"
    )
    fallback = CpuFreqSensor(tmp_path / "none", cpuinfo, cpus=[0, 1])
    assert fallback.available() is None
    assert fallback.values() == (2000.5,)
    assert "cpu MHz" in fallback.methods()["cpu_freq_mhz"]

    absent = CpuFreqSensor(tmp_path / "none", tmp_path / "no_cpuinfo", cpus=[0])
    assert "CPU clock not readable" in absent.available()


def test_cpu_temperature_from_hwmon_and_thermal_zones(tmp_path):
    for name, kind, files in (
        ("hwmon0", "coretemp", {"temp1_input": 55000, "temp2_input": 61000}),
        ("hwmon1", "nvme", {"temp1_input": 90000}),  # not a CPU: ignored
    ):
        (tmp_path / "hwmon" / name).mkdir(parents=True)
        (tmp_path / "hwmon" / name / "name").write_text(f"{kind}\n")
        for file, value in files.items():
            (tmp_path / "hwmon" / name / file).write_text(f"{value}\n")
    zone = tmp_path / "thermal" / "thermal_zone0"
    zone.mkdir(parents=True)
    (zone / "type").write_text("CPU-therm\n")
    (zone / "temp").write_text("63500\n")
    sensor = CpuTempSensor(tmp_path / "hwmon", tmp_path / "thermal")
    assert sensor.available() is None
    assert sensor.values() == (63.5,)
    absent = CpuTempSensor(tmp_path / "none", tmp_path / "thermal" / "none")
    assert absent.available().startswith("no readable CPU temperature")


def _proc_stat(path: Path, busy: int, idle: int) -> None:
    """A /proc/stat whose first line has ``busy`` ticks of user time, on 2 CPUs."""
    path.write_text(
        f"cpu  {busy} 0 0 {idle} 0 0 0 0 0 0\ncpu0 0 0 0 0 0 0 0 0 0 0\ncpu1 0 0 0 0 0 0 0 0 0 0\n"
    )


def _self_stat(path: Path, utime: int, stime: int) -> None:
    fields = ["S", *["0"] * 10, str(utime), str(stime), *["0"] * 30]
    path.write_text(f"4242 (odd name) x) {' '.join(fields)}\n")


def test_other_cpu_time_is_host_busy_less_own(tmp_path):
    stat_file, self_file = tmp_path / "stat", tmp_path / "self_stat"
    _proc_stat(stat_file, busy=1000, idle=5000)
    _self_stat(self_file, utime=300, stime=100)
    sensor = OtherCpuSensor(stat_file, self_file)
    assert sensor.available() is None and sensor.n_cpus == 2
    _proc_stat(stat_file, busy=1500, idle=5100)  # 500 busy ticks, 150 of them ours
    _self_stat(self_file, utime=420, stime=130)
    tick_s = 1 / os.sysconf("SC_CLK_TCK")
    assert sensor.values()[0] == pytest.approx(350 * tick_s)
    assert "not readable" in OtherCpuSensor(tmp_path / "none", self_file).available()


def test_other_cpu_percent_sees_a_burst_between_start_and_end():
    t_s = np.linspace(0, 4, 401)
    burst = (t_s > 2) & (t_s <= 2.5)  # one CPU of 4 busy for half a second
    other_cpu_s = np.cumsum(np.where(burst, 0.01, 0.0))
    mean, busiest = other_cpu_percent(t_s, other_cpu_s, n_cpus=4)
    assert mean == pytest.approx(100 * 0.5 / 4 / 4, rel=0.05)  # 3 % over the run
    assert busiest == pytest.approx(25, rel=0.05)  # the burst's window


def test_a_busy_host_is_measured_and_makes_the_run_invalid():
    """A subprocess keeps one CPU busy for about 1 s while the sampler runs."""
    sensors = [RssSensor(), OtherCpuSensor()]
    with Sampler(sensors, period_s=0.010) as sampler:
        subprocess.run([sys.executable, "-c", SPIN], check=True)
    conditions = run_conditions(sampler.samples(), sensors)
    n_cpus = sensors[1].n_cpus
    threshold = 50 / n_cpus  # half of one CPU; the spinner had about a whole one
    print(conditions)
    assert conditions["other_cpu_percent"] > threshold
    assert conditions["other_cpu_percent_max"] >= conditions["other_cpu_percent"]
    frames, runs = _tables(1, conditions)
    checked = check_runs(frames, runs, None, SETTINGS | {"max_other_cpu_percent": threshold})
    assert checked.loc[0, "host_quiet"] == FAIL and not checked.loc[0, "valid"]
    assert "host busy" in checked.loc[0, "reasons"]


def test_run_conditions_fit_the_run_schema_and_say_not_measured(tmp_path):
    sensors = [CpuFreqSensor(tmp_path / "none", tmp_path / "none", cpus=[0]), OtherCpuSensor()]
    with Sampler(sensors) as sampler:
        time.sleep(0.05)
    conditions = run_conditions(sampler.samples(), sensors, l4t_release=tmp_path / "none")
    assert conditions["cpu_freq_mhz"].startswith("not measured: CPU clock not readable")
    assert conditions["cpu_temp_max_c"] == "not measured: no sensor given"
    assert conditions["nvpmodel"] == "not measured: not a Jetson"
    assert isinstance(conditions["other_cpu_percent"], float)
    run_json = json.loads((_synthetic_run_json(tmp_path)).read_text())
    validate_document(run_json | {"conditions": conditions}, "run", "run.json")
    columns = condition_columns(conditions)
    assert np.isnan(columns["cpu_freq_min_mhz"])
    assert columns["sensor_cpu_freq_mhz"] == conditions["cpu_freq_mhz"]
    old = condition_columns(None)  # a run made before conditions were recorded
    assert old["sensor_other_cpu_percent"].startswith("not measured: run.json has no conditions")


def test_jetson_power_mode_from_its_commands(tmp_path, monkeypatch):
    release = tmp_path / "nv_tegra_release"
    release.write_text("# R35 (release), REVISION: 4.1\n")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, script in (
        ("nvpmodel", 'echo "NV Power Mode: MAXN"; echo 0'),
        ("jetson_clocks", 'echo "must be run as root" >&2; exit 1'),
    ):
        (bin_dir / name).write_text(f"#!/bin/sh\n{script}\n")
        (bin_dir / name).chmod(stat.S_IRWXU)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    mode = jetson_power_mode(release)
    assert mode["nvpmodel"] == "NV Power Mode: MAXN; 0"
    assert mode["jetson_clocks"] == "not measured: jetson_clocks --show: must be run as root"
    assert jetson_power_mode(tmp_path / "none")["nvpmodel"] == "not measured: not a Jetson"


# --- each rule on small synthetic tables ------------------------------------------------------


QUIET = {
    "cpu_freq_mhz": {"min": 2500.0, "median": 2600.0, "max": 2700.0},
    "other_cpu_percent": 2.0,
    "other_cpu_percent_max": 5.0,
    "cpu_temp_max_c": 60.0,
    "nvpmodel": "not measured: not a Jetson",
    "jetson_clocks": "not measured: not a Jetson",
    "methods": {"cpu_freq_mhz": "test", "other_cpu_s": "test", "cpu_temp_c": "test"},
}


def _tables(n_runs: int, conditions: dict = QUIET) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(frames, runs) of ``n_runs`` runs of one configuration, each a resolution of its own,
    20 steady frames of about 50 ms each, on a host in ``conditions`` (by default: a steady
    clock, a quiet host): they pass every rule."""
    keys = pd.DataFrame(
        {
            "device": "local",
            "device_class": "edge",
            "detector": "onnx",
            "recognizer": "onnx",
            "video": "video1",
            "resolution": [f"r{i}" for i in range(n_runs)],
            "repeat": 1,
        }
    )
    runs = keys.assign(
        path=[f"results/runs/local/onnx__onnx/video1_r{i}/rep1" for i in range(n_runs)],
        n_warmup_frames=5,
        **condition_columns(conditions),
    )
    frames = keys.loc[keys.index.repeat(20)].reset_index(drop=True)
    frames["t_total_s"] = 0.05 * np.random.default_rng(0).uniform(0.9, 1.1, len(frames))
    return frames, runs


def _one_run(frames: pd.DataFrame, i: int) -> pd.Series:
    return frames["resolution"] == f"r{i}"


def test_a_run_that_passes_every_rule():
    frames, runs = _tables(1)
    checked = check_runs(frames, runs, None, SETTINGS)
    row = checked.iloc[0]
    assert row["valid"] and row["reasons"] == ""
    for rule in ("enough_frames", "enough_seconds", "warmup_excluded", "stable_times"):
        assert row[rule] == PASS, rule
    assert row["no_freq_drop"] == PASS and row["cpu_freq_drop"] == pytest.approx(100 / 2600)
    assert row["host_quiet"] == PASS and row["other_cpu_percent_max"] == 5.0
    assert row["parity_passed"] == NOT_CHECKED and "parity_passed: " in row["notes"]
    assert row["repeat_typical"] == NOT_CHECKED  # one repeat
    assert list(checked.columns[: len(CONFIG_COLUMNS) + 1]) == [*CONFIG_COLUMNS, "run"]


def test_too_few_frames_or_seconds_make_a_run_invalid():
    frames, runs = _tables(3)
    frames = frames[~_one_run(frames, 0) | (frames.groupby("resolution").cumcount() < 4)]
    frames.loc[_one_run(frames, 1), "t_total_s"] = 0.01  # 20 frames in 0.2 s
    checked = check_runs(frames, runs, None, SETTINGS).set_index("resolution")
    assert checked.loc["r0", "enough_frames"] == FAIL and checked.loc["r0", "n_frames"] == 4
    assert "too few frames: 4 < 10" in checked.loc["r0", "reasons"]
    assert checked.loc["r1", "enough_frames"] == PASS
    assert checked.loc["r1", "enough_seconds"] == FAIL
    assert "too short: 0.2 s measured < 0.5 s" in checked.loc["r1", "reasons"]
    assert checked["valid"].tolist() == [False, False, True]


def test_a_run_without_frames_or_warmup_is_invalid():
    frames, runs = _tables(2)
    runs.loc[0, "n_warmup_frames"] = 0
    frames = frames[~_one_run(frames, 1)]  # a video shorter than its warm-up
    checked = check_runs(frames, runs, None, SETTINGS)
    assert checked.loc[0, "warmup_excluded"] == FAIL and not checked.loc[0, "valid"]
    assert checked.loc[1, "n_frames"] == 0 and checked.loc[1, "enough_frames"] == FAIL
    assert checked.loc[1, "stable_times"] == NOT_CHECKED


def test_unstable_frame_times_make_a_run_invalid():
    frames, runs = _tables(1)
    frames.loc[frames.index[::5], "t_total_s"] = 1.0  # a stall every fifth frame
    checked = check_runs(frames, runs, None, SETTINGS)
    assert checked.loc[0, "stable_times"] == FAIL and checked.loc[0, "t_total_cov"] > 1


def test_a_cpu_clock_drop_makes_a_run_invalid():
    frames, runs = _tables(3)
    runs.loc[0, "cpu_freq_min_mhz"] = 1800.0  # 31 % below the 2600 MHz median
    runs.loc[1, "cpu_freq_min_mhz"] = 2400.0  # 8 %: within 10 %
    runs.loc[2, ["cpu_freq_min_mhz", "cpu_freq_median_mhz", "cpu_freq_max_mhz"]] = np.nan
    runs.loc[2, "sensor_cpu_freq_mhz"] = "not measured: CPU clock not readable: no cpufreq"
    checked = check_runs(frames, runs, None, SETTINGS)
    assert checked["no_freq_drop"].tolist() == [FAIL, PASS, NOT_CHECKED]
    assert "CPU clock drop: its minimum 31% below its median" in checked.loc[0, "reasons"]
    assert checked.loc[2, "valid"]  # not checked is no failure, and never a silent pass
    assert "no_freq_drop: not measured: CPU clock not readable" in checked.loc[2, "notes"]


def test_a_failed_parity_row_makes_its_runs_invalid():
    frames, runs = _tables(3)
    runs["recognizer"] = ["onnx", "tflite", "tensorrt"]
    frames["recognizer"] = np.repeat(runs["recognizer"], 20).to_numpy()
    parity = pd.DataFrame(
        {
            "model": ["mtcnn", "facenet", "facenet", "facenet"],
            "backend": ["onnx", "onnx", "tflite", "tensorrt"],
            "status": ["pass", "reference", "fail", "not measured"],
            "reason": ["ok", "reference", "min_cosine 0.98 < 0.9999", "tensorrt not installed"],
        }
    )
    checked = check_runs(frames, runs, parity, SETTINGS)
    assert checked["parity_passed"].tolist() == [PASS, FAIL, NOT_CHECKED]
    assert checked.loc[1, "reasons"] == "parity failed: facenet/tflite (min_cosine 0.98 < 0.9999)"
    assert checked.loc[2, "parity"] == "mtcnn/onnx: pass; facenet/tensorrt: not measured"
    assert checked["valid"].tolist() == [True, False, True]


def test_only_the_outlying_repeat_is_invalid():
    frames, runs = _tables(5)
    # r0/r1/r2 become repeats 1-3 of one input, r3/r4 repeats 1-2 of another
    keys = {"r0": ("HD", 1), "r1": ("HD", 2), "r2": ("HD", 3), "r3": ("FHD", 1), "r4": ("FHD", 2)}
    for table in (frames, runs):
        table["repeat"] = table["resolution"].map(lambda r: keys[r][1])
        table["resolution"] = table["resolution"].map(lambda r: keys[r][0])
    p50 = {("HD", 1): 0.05, ("HD", 2): 0.052, ("HD", 3): 0.07, ("FHD", 1): 0.1, ("FHD", 2): 0.14}
    inputs = zip(frames["resolution"], frames["repeat"], strict=True)
    frames["t_total_s"] = [p50[key] for key in inputs]
    checked = check_runs(frames, runs, None, SETTINGS).set_index(["resolution", "repeat"])
    deviation = checked["repeat_p50_deviation"]
    assert deviation[("HD", 3)] == pytest.approx(0.018 / 0.052)  # against the median, 0.052
    assert deviation[("FHD", 1)] == pytest.approx(0.02 / 0.12)  # two: half their spread
    assert checked.loc["HD", "repeat_typical"].tolist() == [PASS, PASS, FAIL]
    assert (checked.loc["FHD", "repeat_typical"] == PASS).all()
    assert "outlying repeat" in checked.loc[("HD", 3), "reasons"]
    assert checked.loc[("HD", 1), "valid"] and not checked.loc[("HD", 3), "valid"]


# --- exclusion from Table 6 -------------------------------------------------------------------

DEVICES = [
    Device("edge1", "edge", [("onnx", "onnx"), ("onnx", "tflite")]),
    Device("server", "cloud", [("onnx", "onnx")]),
]


def _synthetic_run_json(tmp_path: Path) -> Path:
    write_dataset(tmp_path / "one", DEVICES[:1], {"video1": 8}, ["480"], warmup_frames=2)
    return next((tmp_path / "one").rglob("run.json"))


@pytest.fixture(scope="module")
def aggregated(tmp_path_factory) -> Path:
    """Synthetic runs (video1: 16 measured frames, video2: 8) aggregated into ``aggregate/``."""
    root = tmp_path_factory.mktemp("validity")
    classes = write_dataset(root, DEVICES, {"video1": 20, "video2": 12}, warmup_frames=4)
    run_files = sorted((root / "results" / "runs").glob(RUN_GLOB))
    aggregate(run_files, classes, root / "resources" / "videos", root / "aggregate")
    return root


def _validity(root: Path, settings: dict, parity: pd.DataFrame | None = None) -> Path:
    parity_csv = root / "parity.csv"
    parity_csv.unlink(missing_ok=True)
    if parity is not None:
        parity.to_csv(parity_csv, index=False)
    out = root / "validity.csv"
    check_validity(Aggregate.read(root / "aggregate"), parity_csv, settings, out, root / "v.html")
    return out


def _table6(data: Aggregate, root: Path) -> pd.DataFrame:
    """Table 6 as the workflow's tabulate rule builds it from ``data``."""
    videos, paper = root / "resources" / "videos", PAPER / "table6_reconstructed.csv"
    return build_tables(data, videos, ENROLLED, paper, resampling=Resampling(replicates=20))[
        "table6"
    ]


def test_the_exclusion_switch_removes_exactly_the_invalid_runs_from_table6(aggregated):
    settings = SETTINGS | {"min_frames": 12, "min_seconds": 0}  # every video2 run fails
    validity_csv = _validity(aggregated, settings)
    checked = pd.read_csv(validity_csv, dtype={"resolution": str})
    assert (checked["valid"] == (checked["video"] == "video1")).all()
    assert "too few frames: 8 < 12" in checked.loc[~checked["valid"], "reasons"].iloc[0]

    everything = Aggregate.read(aggregated / "aggregate")
    kept = Aggregate.read(aggregated / "aggregate", validity_csv, exclude_invalid=True)
    assert set(kept.frames["video"].astype(str)) == {"video1"}
    assert len(kept.runs) == len(everything.runs) - len(kept.excluded) == 9
    expected = tables.table6(everything.frames[everything.frames["video"] == "video1"])
    table = _table6(kept, aggregated)
    pd.testing.assert_frame_equal(
        table[expected.columns].astype({c: str for c in tables.CONFIG}),
        expected.astype({c: str for c in tables.CONFIG}),
    )
    assert (table["n_runs"] == 3).all() and (table["n_invalid_runs_excluded"] == 3).all()
    # what is left, counted on the raw frames: each configuration's video1 frames at 3 sizes
    video1 = everything.frames[everything.frames["video"] == "video1"]
    counts = video1.groupby(tables.CONFIG, observed=True).size()
    counts.index = counts.index.map(lambda key: tuple(map(str, key)))
    shown = table.astype({c: str for c in tables.CONFIG}).set_index(tables.CONFIG)
    assert shown["n_frames"].to_dict() == counts.to_dict()
    assert (table["n_inputs"] == 3).all()
    assert set(zip(*(table[c].astype(str) for c in tables.CONFIG), strict=True)) == set(
        counts.index
    )

    off = Aggregate.read(aggregated / "aggregate", validity_csv, exclude_invalid=False)
    assert off.excluded is None and len(off.frames) == len(everything.frames)
    assert (_table6(off, aggregated)["n_invalid_runs_excluded"] == 0).all()


def test_a_configuration_with_no_valid_run_keeps_a_row_of_counts(aggregated):
    parity = pd.DataFrame(
        {
            "model": ["mtcnn", "facenet", "facenet"],
            "backend": ["onnx", "onnx", "tflite"],
            "status": ["pass", "pass", "fail"],
            "reason": ["ok", "ok", "min_cosine 0.9 < 0.9999"],
        }
    )
    validity_csv = _validity(aggregated, SETTINGS | {"min_frames": 0, "min_seconds": 0}, parity)
    kept = Aggregate.read(aggregated / "aggregate", validity_csv)
    assert "tflite" not in set(kept.frames["recognizer"].cat.categories)
    table = _table6(kept, aggregated).set_index(["device", "recognizer"])
    row = table.loc[("edge1", "tflite")]
    assert row["n_runs"] == 0 and row["n_invalid_runs_excluded"] == 6 and np.isnan(row["fps"])
    assert table.loc[("server", "onnx"), "n_invalid_runs_excluded"] == 0
    assert (
        "6 of 18 runs fail a rule; invalid runs are left out of Table 6"
        in (aggregated / "v.html").read_text()
    )


def test_excluding_every_run_is_one_clear_error(aggregated):
    validity_csv = _validity(aggregated, SETTINGS | {"min_frames": 1000})
    with pytest.raises(FacebenchError, match=r"every run is invalid \(18 x too few frames"):
        Aggregate.read(aggregated / "aggregate", validity_csv)


def test_runs_table_carries_warmup_and_conditions(aggregated):
    runs = run_table(
        read_runs(
            sorted((aggregated / "results" / "runs").glob(RUN_GLOB)),
            {"edge1": "edge", "server": "cloud"},
        )
    )
    assert (runs["n_warmup_frames"] == 4).all()
    assert (
        runs["sensor_cpu_freq_mhz"].str.startswith("not measured: run.json has no conditions").all()
    )


def test_a_runs_table_from_an_older_aggregate_is_one_clear_error():
    frames, runs = _tables(1)
    with pytest.raises(FacebenchError, match=r"no n_warmup_frames: .* aggregate the runs again"):
        check_runs(frames, runs.drop(columns="n_warmup_frames"), None, SETTINGS)
