"""Sensor sampling, per-frame attribution, energy integration and run metadata (fast, no GPU)."""

from __future__ import annotations

import hashlib
import json
import math
import re
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from facebench import sensors
from facebench.errors import FacebenchError
from facebench.harness import run_metadata
from facebench.harness.run_metadata import busy_warning, collect_run_metadata, host_load
from facebench.sensors import (
    FRAME_COLUMNS,
    CpuSensor,
    JetsonSensor,
    NvmlSensor,
    RaplSensor,
    RssSensor,
    Sampler,
    default_sensors,
    per_frame,
    sampler_overhead,
    sensor_report,
)
from facebench.sensors.sampler import paired_relative_cost

MS = 1_000_000  # ns


def _samples(t_s: np.ndarray, **columns: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"t_ns": np.round(t_s * 1e9).astype(np.int64), **columns})


def _bounds_ns(*frames_s: tuple[float, float]) -> np.ndarray:
    return np.round(np.array(frames_s) * 1e9).astype(np.int64)


def test_sampler_samples_every_10_ms():
    start_ns = time.perf_counter_ns()
    with Sampler([RssSensor(), CpuSensor()], period_s=0.010) as sampler:
        time.sleep(0.3)
    elapsed_ns = time.perf_counter_ns() - start_ns
    samples = sampler.samples()
    # The sampler wakes on a 10-ms grid and skips the ticks it wakes too late for (no bursts):
    # at most one sample per tick of the time it ran plus those of start() and stop(). A busy
    # host's scheduler can hold a woken thread back for a time slice or two (CFS: ~3-24 ms),
    # losing it at most two ticks of three: at least a third of them, gaps of 1-3 periods.
    assert 0.3 * 1e9 / (10 * MS) / 3 <= len(samples) <= elapsed_ns // (10 * MS) + 2, len(samples)
    assert (np.diff(samples["t_ns"]) > 0).all()
    assert 0.9 * 10 * MS <= np.median(np.diff(samples["t_ns"])) <= 3 * 10 * MS
    assert samples["rss_mb"].gt(10).all()
    assert samples["cpu_percent"].iloc[1:].notna().all()
    assert sampler.thread_cpu_s < 0.3


def test_sampler_grows_its_buffers():
    with Sampler([RssSensor()], period_s=0.001, capacity=4) as sampler:
        time.sleep(0.05)
    samples = sampler.samples()
    assert len(samples) > 8
    assert samples["rss_mb"].notna().all()
    assert (np.diff(samples["t_ns"]) > 0).all()


def test_rss_of_a_frame_shows_a_200_mb_allocation():
    with Sampler([RssSensor()]) as sampler:
        bounds = []
        for allocate in (False, True, False):
            start_ns = time.perf_counter_ns()
            if allocate:
                block = np.ones(200 * 2**20 // 8)  # written, so the pages are resident
                time.sleep(0.05)
                del block
            else:
                time.sleep(0.05)
            bounds.append((start_ns, time.perf_counter_ns()))
    frames = per_frame(sampler.samples(), np.array(bounds))
    before, during, after = frames["rss_mb"]
    assert during - before > 150, frames
    assert during - after > 150, frames
    # a 50-ms frame spans five 10-ms ticks: even a sampler held back for two in a row by a busy
    # host's scheduler samples it at least once
    assert (frames["n_samples"] >= 1).all()


def test_constant_power_integrates_to_energy():
    t_s = np.arange(0, 0.6001, 0.010)
    samples = _samples(t_s, power_w=np.full(len(t_s), 10.0))
    frames = per_frame(samples, _bounds_ns((0.05, 0.55), (0.1234, 0.1274)))
    assert frames["energy_j"].tolist() == pytest.approx([5.0, 0.04])
    assert frames["power_w"].tolist() == pytest.approx([10.0, 10.0])
    assert frames.attrs["method"]["energy_j"].startswith("trapezoid")


def test_ramp_power_integrates_exactly_between_samples():
    t_s = np.arange(0, 1.0001, 0.010)
    samples = _samples(t_s, power_w=100 * t_s)  # P = 100 t W, so E(a, b) = 50 (b^2 - a^2)
    start_s, end_s = 0.1037, 0.3052
    frames = per_frame(samples, _bounds_ns((start_s, end_s), (0.95, 1.5)))
    assert frames["energy_j"][0] == pytest.approx(50 * (end_s**2 - start_s**2), rel=1e-9)
    assert math.isnan(frames["energy_j"][1])  # runs past the last sample: unknown, not 0


def _fake_rapl(root: Path, energy_uj: int, max_uj: int = 1000_000) -> Path:
    domain = root / "intel-rapl:0"
    domain.mkdir(parents=True, exist_ok=True)
    (domain / "name").write_text("package-0\n")
    (domain / "max_energy_range_uj").write_text(f"{max_uj}\n")
    (domain / "energy_uj").write_text(f"{energy_uj}\n")
    subzone = root / "intel-rapl:0:0"  # a core sub-zone: must not be added to the package
    subzone.mkdir(exist_ok=True)
    (subzone / "name").write_text("core\n")
    return domain


def test_rapl_counter_unwraps_and_gives_frame_energy(tmp_path):
    domain = _fake_rapl(tmp_path, energy_uj=900_000)
    sensor = RaplSensor(tmp_path)
    assert sensor.available() is None
    readings = []
    for raw_uj in (900_000, 950_000, 50_000, 150_000):  # wraps at 1 J between 2nd and 3rd
        (domain / "energy_uj").write_text(f"{raw_uj}\n")
        readings.append(sensor.read()["cpu_energy_counter_j"])
    assert readings == pytest.approx([0.0, 0.05, 0.15, 0.25])
    samples = _samples(np.array([0.0, 0.1, 0.2, 0.3]), cpu_energy_counter_j=np.array(readings))
    frames = per_frame(samples, _bounds_ns((0.05, 0.25)))
    assert frames["cpu_energy_j"][0] == pytest.approx(0.2 - 0.025)
    assert frames["cpu_power_w"][0] == pytest.approx((0.2 - 0.025) / 0.2)
    assert "RAPL package energy counter (intel-rapl:0)" in sensor_report([sensor])["cpu_energy_j"]


def test_energy_counter_is_preferred_over_power():
    t_s = np.arange(0, 0.5001, 0.010)
    samples = _samples(t_s, power_w=np.full(len(t_s), 99.0), energy_counter_j=1000 + 20 * t_s)
    frames = per_frame(samples, _bounds_ns((0.1, 0.35)))
    assert frames["energy_j"][0] == pytest.approx(5.0)
    assert frames.attrs["method"]["energy_j"].startswith("energy counter difference")


def test_frames_without_samples_fall_back():
    samples = _samples(
        np.array([0.0, 0.01, 0.02]),
        rss_mb=np.array([100.0, 200.0, 300.0]),
        cpu_percent=np.array([np.nan, 40.0, 60.0]),
    )
    frames = per_frame(samples, _bounds_ns((0.012, 0.015)))
    assert frames["n_samples"][0] == 0
    assert frames["rss_mb"][0] == 200.0  # nearest earlier sample
    assert frames["cpu_percent"][0] == 60.0  # next sample, whose window covers the frame


def test_per_frame_rejects_bad_bounds():
    samples = _samples(np.array([0.0, 0.01]), rss_mb=np.array([1.0, 1.0]))
    with pytest.raises(FacebenchError, match="shape"):
        per_frame(samples, np.array([1, 2, 3]))
    with pytest.raises(FacebenchError, match="ends before"):
        per_frame(samples, np.array([[5, 1]]))


def _jetson_iio(root: Path) -> None:
    device = root / "ina3221x" / "1-0040" / "iio:device0"
    device.mkdir(parents=True)
    for k, (rail, power_mw) in enumerate([("POM_5V_IN", 4000), ("POM_5V_GPU", 1500)]):
        (device / f"rail_name_{k}").write_text(f"{rail}\n")
        (device / f"in_power{k}_input").write_text(f"{power_mw}\n")


def _jetson_hwmon(root: Path) -> None:
    device = root / "ina3221" / "1-0040" / "hwmon" / "hwmon3"
    device.mkdir(parents=True)
    for k, (rail, current_ma, voltage_mv) in enumerate(
        [("VDD_IN", 800, 5000), ("VDD_CPU_GPU_CV", 300, 5000)], start=1
    ):
        (device / f"in{k}_label").write_text(f"{rail}\n")
        (device / f"curr{k}_input").write_text(f"{current_ma}\n")
        (device / f"in{k}_input").write_text(f"{voltage_mv}\n")


@pytest.mark.parametrize("layout", [_jetson_iio, _jetson_hwmon])
def test_jetson_gpu_rail_on_fake_sysfs(tmp_path, layout):
    """Only the assumed sysfs layouts are checked here; no Jetson has run this."""
    layout(tmp_path)
    sensor = JetsonSensor(tmp_path)
    assert sensor.available() is None
    assert sensor.read()["power_w"] == pytest.approx(1.5)
    assert "untested" in sensor_report([sensor])["power_w"]


def _fake_nvml(energy_supported: bool) -> SimpleNamespace:
    """Just the pynvml calls the sensor makes: 8 GiB used of 16 GiB, 75 W, 1234.5 J."""

    class NVMLError(Exception):
        pass

    def energy_mj(handle):
        if not energy_supported:
            raise NVMLError("Not Supported")
        return 1_234_500

    return SimpleNamespace(
        NVMLError=NVMLError,
        nvmlDeviceGetCount=lambda: 1,
        nvmlDeviceGetHandleByIndex=lambda index: f"gpu{index}",
        nvmlDeviceGetMemoryInfo=lambda handle: SimpleNamespace(used=8 * 2**30, total=16 * 2**30),
        nvmlDeviceGetPowerUsage=lambda handle: 75_000,
        nvmlDeviceGetTotalEnergyConsumption=energy_mj,
        nvmlDeviceGetName=lambda handle: "NVIDIA H100 80GB HBM3",
        nvmlSystemGetDriverVersion=lambda: "570.86.15",
    )


@pytest.mark.parametrize("energy_supported", [True, False])
def test_nvml_sensor_units_with_a_fake_library(monkeypatch, energy_supported):
    """Unit conversions and unsupported-counter handling only; real NVML is untested here."""
    fake = _fake_nvml(energy_supported)
    monkeypatch.setattr(sensors.probes, "load_nvml", lambda: (fake, None))
    sensor = NvmlSensor()
    assert sensor.available() is None
    reading = sensor.read()
    assert reading["gpu_mem_used_mb"] == 8192
    assert reading["gpu_mem_total_mb"] == 16384
    assert reading["power_w"] == 75.0
    report = sensor_report([sensor])
    if energy_supported:
        assert reading["energy_counter_j"] == 1234.5
        assert report["energy_j"] == "difference of NVML total energy counter"
    else:
        assert math.isnan(reading["energy_counter_j"])
        assert report["energy_j"] == "trapezoid of NVML power (nvmlDeviceGetPowerUsage)"


def test_gpu_info_with_a_fake_library(monkeypatch):
    monkeypatch.setattr(run_metadata, "load_nvml", lambda: (_fake_nvml(True), None))
    assert run_metadata.gpu_info() == [
        {"index": "0", "name": "NVIDIA H100 80GB HBM3", "driver": "570.86.15"}
    ]


def test_a_failing_read_is_a_nan_gap():
    class Flaky(RssSensor):
        name = "flaky"

        def values(self):
            raise OSError("device went away")

    with Sampler([Flaky()]) as sampler:
        time.sleep(0.03)
    assert sampler.samples()["rss_mb"].isna().all()
    assert "device went away" in sampler.read_errors["flaky"]


@pytest.mark.parametrize(
    ("sensor", "columns", "pattern"),
    [
        (NvmlSensor(), ["gpu_mem_used_mb", "gpu_mem_total_mb", "power_w"], "NVIDIA|NVML"),
        (RaplSensor(), ["cpu_energy_j", "cpu_power_w"], "RAPL"),
        (JetsonSensor(), ["power_w"], "Jetson"),
    ],
    ids=["nvml", "rapl", "jetson"],
)
def test_absent_sensors_are_nan_and_reported(sensor, columns, pattern):
    if sensor.available() is None:
        pytest.skip(f"{sensor.name} is present on this host")
    with Sampler([RssSensor(), sensor]) as sampler:
        start_ns = time.perf_counter_ns()
        time.sleep(0.03)
        bounds = [(start_ns, time.perf_counter_ns())]
    frames = per_frame(sampler.samples(), np.array(bounds))
    assert frames[columns].isna().all().all()
    assert frames["rss_mb"].notna().all()
    report = sensor_report([sensor])
    for column in columns:
        assert report[column].startswith("not measured: "), report[column]
        assert re.search(pattern, report[column]), report[column]


def test_report_and_frames_have_every_quantity_on_this_host():
    sensors = default_sensors()
    report = sensor_report(sensors)
    assert set(report) == set(FRAME_COLUMNS) - {"n_samples"}
    assert report["rss_mb"] == "process RSS (/proc/self/statm)"
    if all(s.available() for s in sensors if s.name in ("nvml", "jetson_ina3221")):
        assert report["energy_j"].startswith("not measured: ")
    with Sampler(sensors) as sampler:
        start_ns = time.perf_counter_ns()
        time.sleep(0.03)
        bounds = [(start_ns, time.perf_counter_ns())]
    frames = per_frame(sampler.samples(), np.array(bounds))
    assert list(frames.columns) == list(FRAME_COLUMNS)
    for quantity, method in report.items():
        assert frames[quantity].isna().all() == method.startswith("not measured"), quantity


def test_sampler_overhead_is_finite():
    overhead = sampler_overhead(lambda: sum(range(1000)), seconds=0.4, pairs=4)  # 50 ms trials
    print(overhead)
    for key in ("calls_per_s_without", "calls_per_s_with", "relative_cost"):
        assert math.isfinite(overhead[key]), key
    assert overhead["calls_per_s_without"] > 0
    assert 0 <= overhead["sampler_cpu_percent"] < 50
    assert overhead["samples_per_s"] > 50


def test_sampler_overhead_reports_trials_and_an_interval():
    overhead = sampler_overhead(lambda: sum(range(1000)), seconds=0.4, sensors=[], pairs=6)
    assert set(overhead) >= {
        "calls_per_s_without",
        "calls_per_s_with",
        "samples_per_s",
        "sampler_cpu_percent",
        "pairs",
        "trial_s",
        "calls_without",
        "calls_with",
        "calls_per_s_without_trials",
        "calls_per_s_with_trials",
        "relative_cost",
        "relative_cost_ci_lo",
        "relative_cost_ci_hi",
        "relative_cost_ci_coverage",
        "sign_resolved",
    }
    assert len(overhead["calls_per_s_without_trials"]) == len(overhead["calls_per_s_with_trials"])
    assert len(overhead["calls_per_s_with_trials"]) == overhead["pairs"] == 6
    assert overhead["calls_without"] >= 6 and overhead["calls_with"] >= 6
    lo, hi = overhead["relative_cost_ci_lo"], overhead["relative_cost_ci_hi"]
    assert lo <= overhead["relative_cost"] <= hi
    assert overhead["sign_resolved"] == (lo > 0 or hi < 0)
    assert overhead["relative_cost_ci_coverage"] >= 0.95
    json.dumps(overhead)  # plain Python types only: written as sampler_overhead.json


def _sampler_running() -> bool:
    return any(thread.name == "facebench-sampler" for thread in threading.enumerate())


def _busy_wait(seconds: float) -> None:
    """Exactly ``seconds`` of this thread's CPU time (sleep overshoots by an unknown amount; a
    wall-clock wait ends early in CPU terms whenever another process preempts it)."""
    end_ns = time.thread_time_ns() + seconds * 1e9
    while time.thread_time_ns() < end_ns:
        pass


def test_sampler_overhead_resolves_a_known_cost():
    # a call takes 1 ms, 1.5 ms while the sampler runs: 2/3 the rate, a relative cost of 1/3
    overhead = sampler_overhead(
        lambda: _busy_wait(0.0015 if _sampler_running() else 0.001),
        seconds=1.0,
        sensors=[],
        clock_ns=time.thread_time_ns,
    )
    assert overhead["sign_resolved"]
    # Calls and trials in this thread's CPU time: what other processes do to the host changes
    # neither (wall-clock trials of 30 ms on a busy 2-core host get anything from 0 to 100 % of
    # a core); the sampler thread's own GIL hand-offs every 10 ms add little, and 0.1 either
    # side still tells 1/3 from 0 or from 1/2.
    assert 1 / 3 - 0.1 <= overhead["relative_cost"] <= 1 / 3 + 0.1
    assert overhead["calls_per_s_with"] < overhead["calls_per_s_without"]


@pytest.mark.parametrize("true_cost", [0.0, 0.05, 0.2])
def test_paired_interval_covers_the_true_cost(true_cost):
    rng = np.random.default_rng(18)
    covered, resolved = [], []
    for _ in range(400):  # trials drift upward and are noisy: 10 pairs, AB BA order
        drift = np.linspace(1000, 1100, 20) * rng.normal(1, 0.03, 20)
        first, second = drift.reshape(10, 2).T
        without = np.where(np.arange(10) % 2 == 0, first, second)
        with_sampler = np.where(np.arange(10) % 2 == 0, second, first)
        cost = paired_relative_cost(without, with_sampler * (1 - true_cost))
        assert cost["relative_cost_ci_lo"] <= cost["relative_cost"] <= cost["relative_cost_ci_hi"]
        covered.append(cost["relative_cost_ci_lo"] <= true_cost <= cost["relative_cost_ci_hi"])
        resolved.append(cost["sign_resolved"])
    assert cost["relative_cost_ci_coverage"] >= 0.95
    assert np.mean(covered) >= 0.93  # nominal 0.979 for 10 pairs; drift adds a little spread
    if true_cost == 0:
        assert np.mean(resolved) <= 0.07  # no effect: the sign is rarely "resolved"
    elif true_cost == 0.2:
        assert all(resolved)


def test_paired_interval_with_no_effect_contains_zero():
    rng = np.random.default_rng(0)
    rates = rng.normal(1000, 30, 20)
    cost = paired_relative_cost(rates[:10], rates[10:])
    assert cost["relative_cost_ci_lo"] < 0 < cost["relative_cost_ci_hi"]
    assert not cost["sign_resolved"]


def test_paired_interval_says_how_little_few_pairs_cover():
    cost = paired_relative_cost([100, 100, 100], [90, 95, 99])
    assert cost["relative_cost_ci_lo"] == pytest.approx(0.01)
    assert cost["relative_cost_ci_hi"] == pytest.approx(0.10)
    assert cost["relative_cost_ci_coverage"] == 0.75
    with pytest.raises(FacebenchError, match="as many trials"):
        paired_relative_cost([100, 100], [90])


def test_run_metadata_has_every_key_and_model_checksums(tmp_path):
    model = tmp_path / "model.onnx"
    model.write_bytes(b"facebench")
    meta = collect_run_metadata({"facenet": model})
    expected = {
        "started_utc",
        "host",
        "cpu_model",
        "cpu_logical_cores",
        "cpu_physical_cores",
        "cpu_governor",
        "memory_total_mb",
        "os",
        "kernel",
        "python",
        "packages",
        "gpus",
        "env",
        "git_commit",
        "git_dirty",
        "model_sha256",
        "host_load",
        "busy_warning",
    }
    assert expected <= set(meta)
    assert meta["model_sha256"] == {"facenet": hashlib.sha256(b"facebench").hexdigest()}
    assert meta["started_utc"].endswith("+00:00")
    assert set(meta["packages"]) >= {"tensorflow", "onnxruntime", "numpy", "psutil", "snakemake"}
    assert meta["packages"]["numpy"] != "not installed"
    assert set(meta["env"]) == {"OPENBLAS_CORETYPE", "OMP_NUM_THREADS"}
    assert isinstance(meta["gpus"], list) or meta["gpus"].startswith("not present: ")
    assert meta["cpu_governor"]  # a governor name, or "not readable: <reason>"
    commit = meta["git_commit"]
    assert re.fullmatch(r"[0-9a-f]{40}", commit) or commit.startswith("unknown: "), commit
    with pytest.raises(FacebenchError, match=r"missing\.onnx"):
        collect_run_metadata({"facenet": tmp_path / "missing.onnx"})


def test_host_load_and_busy_warning():
    load = host_load()
    assert set(load) == {"load_1m", "load_5m", "load_15m"}
    assert busy_warning(threshold_percent=101, window_s=0.05) is None
    assert "host busy" in busy_warning(threshold_percent=-1.0, window_s=0.05)
