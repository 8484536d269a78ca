"""Devices: `facebench probe` and its capabilities.json, the device entry's class/reach/gpu,
which devices one invocation schedules (this host's, plus a remote executor's), and a remote
device's matrix filtered by its probe. Dry runs and small scripts only: no inference."""

from __future__ import annotations

import csv
import json
import re
import runpy
import time
from pathlib import Path
from types import SimpleNamespace

import jsonschema
import pandas as pd
import pytest
import yaml
from conftest import DEFAULT_CONFIG, REPO_ROOT, shipped_config, snakemake

from facebench import cli
from facebench.analysis.claims.platforms import edge_vs_cloud
from facebench.analysis.paper import read_paper_claims
from facebench.devices import class_label, pair_error, pair_reason, read_capabilities
from facebench.errors import FacebenchError
from facebench.harness import probe
from facebench.schemas import validate_document
from facebench.sensors import RaplSensor, RssSensor

CONFIG_SCHEMA = yaml.safe_load((REPO_ROOT / "src/facebench/schemas/config.schema.yaml").read_text())
PAPER = (DEFAULT_CONFIG, REPO_ROOT / "config" / "paper.yaml")
# A --config replaces the profile's (dispatch=slurm): a submit host running no device repeats it.
SLURM_HOST_NONE = ("--config", "dispatch=slurm", "this_host=[]")


@pytest.fixture
def light_probe(monkeypatch, tmp_path):
    """probe() without the heavy frameworks, one sensor that answers and one that cannot, and
    no CUDA GPU."""
    monkeypatch.setattr(probe, "FRAMEWORKS", {"onnxruntime": ("onnxruntime",), "nosuch": ()})
    monkeypatch.setattr(
        probe, "default_sensors", lambda: [RssSensor(), RaplSensor(tmp_path / "no-powercap")]
    )
    monkeypatch.setattr(probe, "cuda_gpus", lambda: ([], "no NVIDIA GPU (test)"))


def test_probe_fits_its_schema_and_reports_absent_sensors(light_probe):
    capabilities = probe.probe("edge-emu", declared_gpu="rtx2080ti")
    validate_document(capabilities, "capabilities", "probe")
    assert capabilities["sensors"]["rss"] == "answers"
    assert capabilities["sensors"]["rapl"].startswith("not measured: RAPL not readable")
    assert capabilities["quantities"]["cpu_energy_j"].startswith("not measured: ")
    assert capabilities["frameworks"]["nosuch"]["imports"] is False
    assert capabilities["openvino_devices"].startswith("not measured: ")
    assert {"detector", "recognizer"} == {row["role"] for row in capabilities["backends"]}
    [line] = capabilities["disagreements"]
    assert "rtx2080ti" in line and "no NVIDIA GPU (test)" in line


def test_probe_cli_writes_valid_json_and_warns(light_probe, tmp_path, capsys):
    out = tmp_path / "capabilities.json"
    assert cli.main(["probe", "--device", "edge-emu", "--gpu", "rtx2080ti", "--out", str(out)]) == 0
    assert read_capabilities(out)["device"] == "edge-emu"
    assert "warning: edge-emu: declared gpu 'rtx2080ti'" in capsys.readouterr().err
    assert probe.probe("x")["disagreements"] == []  # no gpu declared: nothing to disagree with


def test_capabilities_schema_rejects_a_sensor_without_reason(light_probe):
    capabilities = probe.probe("x")
    capabilities["sensors"]["rapl"] = "missing"
    with pytest.raises(FacebenchError, match="sensors/rapl"):
        validate_document(capabilities, "capabilities", "x.json")


def _device_errors(**entry) -> list[str]:
    config = shipped_config("ci.yaml")
    config["runs"]["devices"]["dev"] = {"detectors": ["onnx"], "recognizers": ["onnx"], **entry}
    validator = jsonschema.Draft202012Validator(CONFIG_SCHEMA)
    return [error.message for error in validator.iter_errors(config)]


@pytest.mark.parametrize(
    "entry",
    [
        {"class": "edge"},
        {"class": "emulated", "emulates": "edge"},
        {"class": "emulated"},
        {"class": "cloud", "gpu": "rtx2080ti", "reach": {"local": {}}},
        {"class": "cloud", "gpu": None, "reach": {"slurm": {"partition": "cloud"}}},
        {
            "class": "cloud",
            "reach": {
                "slurm": {
                    "partition": "gpu",
                    "account": "lab",
                    "constraint": "rtx2080ti",
                    "gpu": 1,
                    "gres": "gpu:rtx2080ti:1",
                    "slurm_extra": "--qos=bench",
                    "runtime_min": 60,
                    "mem_mb": 16000,
                }
            },
        },
        {"class": "edge", "reach": {"ssh": {"host": "jetson-nano.local"}}},
    ],
)
def test_device_entries_the_schema_accepts(entry):
    assert _device_errors(**entry) == []


@pytest.mark.parametrize(
    ("entry", "error"),
    [
        ({"class": "fog"}, "'fog' is not one of ['edge', 'cloud', 'emulated']"),
        (  # only an emulated device emulates
            {"class": "edge", "emulates": "cloud"},
            "should not be valid under {'required': ['emulates']}",
        ),
        (
            {"class": "emulated", "emulates": "emulated"},
            "'emulated' is not one of ['edge', 'cloud']",
        ),
        ({"class": "edge", "reach": {"slurm": {}}}, "'partition' is a required property"),
        ({"class": "edge", "reach": {"ssh": {}}}, "'host' is a required property"),
        (  # two ways
            {"class": "edge", "reach": {"local": {}, "ssh": {"host": "x"}}},
            "{'local': {}, 'ssh': {'host': 'x'}} has too many properties",
        ),
        (
            {"class": "edge", "reach": {"kubernetes": {}}},
            "Additional properties are not allowed ('kubernetes' was unexpected)",
        ),
        (  # typo
            {"class": "edge", "reach": {"slurm": {"partition": "p", "gpus": 1}}},
            "Additional properties are not allowed ('gpus' was unexpected)",
        ),
        ({"class": "edge", "gpu": 1}, "1 is not of type 'string', 'null'"),
    ],
)
def test_device_entries_the_schema_rejects(entry, error):
    """Each bad entry fails the schema once, for its own reason."""
    errors = _device_errors(**entry)
    assert len(errors) == 1 and errors[0].endswith(error), errors


def test_emulated_devices_never_count_as_edge_or_cloud():
    assert class_label({"class": "emulated", "emulates": "edge"}) == "emulated edge"
    assert class_label({"class": "emulated"}) == "emulated"
    assert class_label({"class": "cloud"}) == "cloud"
    table = pd.DataFrame(
        {
            "detector": ["onnx", "onnx"],
            "recognizer": ["onnx", "onnx"],
            "device_class": ["emulated edge", "emulated cloud"],
            "fps": [10.0, 20.0],
        }
    )
    parts = edge_vs_cloud(table, read_paper_claims())
    assert len(parts) == 2 and all(part.values.empty for part in parts)
    assert all("emulated devices never count" in part.missing for part in parts)


def test_pair_reason_and_the_one_line_error():
    capabilities = {
        "backends": [
            {"role": "detector", "backend": "onnx", "available": True, "reason": ""},
            {"role": "recognizer", "backend": "tflite", "available": False, "reason": "no litert"},
        ]
    }
    assert pair_reason(capabilities, "onnx", "onnx") == (
        "recognizer onnx: not in the probe's backend list"
    )
    reason = pair_reason(capabilities, "onnx", "tflite")
    assert reason == "recognizer tflite: no litert"
    assert pair_error("edge-emu", "onnx", "tflite", reason) == (
        "edge-emu: onnx/tflite cannot run here: recognizer tflite: no litert; "
        "rerun snakemake to list it in skipped.csv"
    )


# --- scheduling: dry runs ------------------------------------------------------------------


def _job_counts(output: str) -> dict[str, int]:
    """rule -> jobs from the dry run's first "Job stats" table."""
    stats = output.split("Job stats:", 1)[1].split("total", 1)[0]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", stats, re.M)}


def _dry_run(workdir: Path, configfile: Path | tuple, *extra: str, profile: str = "default"):
    result = snakemake(workdir, configfile, "-n", *extra, timeout_s=300, profile=profile)
    assert result.returncode == 0, result.stderr[-3000:]
    return _job_counts(result.stdout + result.stderr)


def test_paper_dry_run_default_profile_schedules_only_this_host(tmp_path):
    jobs = _dry_run(tmp_path, PAPER)
    # local: 4 detectors x 5 recognizers x 6 inputs x 3 repeats
    assert jobs["run_inference"] == 20 * 6 * 3
    assert jobs["probe_device"] == jobs["list_skipped_runs"] == 1
    assert "run_inference_here" not in jobs


def test_paper_dry_run_slurm_profile_schedules_every_partition(tmp_path):
    started = time.perf_counter()
    jobs = _dry_run(tmp_path, PAPER, profile="slurm")
    seconds = time.perf_counter() - started
    assert jobs["run_inference"] == 49 * 6 * 3  # the paper's 49 configurations x 6 inputs x 3
    assert jobs["run_inference_here"] == 20 * 6 * 3  # local, on this host
    assert jobs["probe_device"] == jobs["measure_sampler_overhead"] == 9
    assert jobs["probe_device_here"] == 1
    assert seconds < 30, f"dry run took {seconds:.1f} s"  # ~3-5 s unloaded; CI hosts vary


def test_this_host_override_is_the_per_host_command(tmp_path):
    jobs = _dry_run(tmp_path, PAPER, "--config", "this_host=[jetson-nano]")
    assert jobs["probe_device"] == jobs["list_skipped_runs"] == 1  # jetson-nano, not local
    assert "run_inference" not in jobs  # tensorrt does not run on this host: all skipped
    config = (DEFAULT_CONFIG, REPO_ROOT / "config" / "ci.yaml")
    jobs = _dry_run(tmp_path, config, "--config", "this_host=[local-1thread]")
    # one pair x video1 (runs.videos) x 3 resolutions x 2 repeats (ci.yaml)
    assert jobs["run_inference"] == 1 * 3 * 2 and jobs["measure_sampler_overhead"] == 1


def _remote_config(workdir: Path) -> Path:
    """The CI config with an emulated edge device in a SLURM partition, run by no host."""
    config = shipped_config("ci.yaml")
    config["runs"]["devices"]["edge-emu"] = {
        "class": "emulated",
        "emulates": "edge",
        "reach": {"slurm": {"partition": "edge"}},
        "detectors": ["onnx"],
        "recognizers": ["onnx", "tflite"],
    }
    path = workdir / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _fake_capabilities(workdir: Path) -> Path:
    capabilities = {
        "backends": [
            {"role": "detector", "backend": "onnx", "available": True, "reason": ""},
            {"role": "recognizer", "backend": "onnx", "available": True, "reason": ""},
            {"role": "recognizer", "backend": "tflite", "available": False, "reason": "gone"},
        ]
    }
    probed = {
        "device": "edge-emu",
        "probed_utc": "2026-01-01T00:00:00+00:00",
        "host": "node1",
        "cpu_model": "test",
        "cpu_logical_cores": 4,
        "memory_total_mb": 1024.0,
        "os": "test",
        "python": "CPython 3.11",
        "frameworks": {},
        "onnxruntime_providers": ["CPUExecutionProvider"],
        "openvino_devices": "not measured: openvino does not import",
        "tensorrt": "not installed: test",
        "cuda_gpus": [],
        "sensors": {"rss": "answers"},
        "quantities": {},
        "declared_gpu": None,
        "disagreements": [],
        **capabilities,
    }
    path = workdir / "results" / "runs" / "edge-emu" / "capabilities.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(probed))
    validate_document(probed, "capabilities", str(path))
    return path


def test_remote_device_not_yet_probed_runs_every_pair_after_its_probe(tmp_path):
    config = _remote_config(tmp_path)
    jobs = _dry_run(tmp_path, config, *SLURM_HOST_NONE, profile="slurm")
    assert jobs["run_inference"] == 2 * 3 * 2 and jobs["probe_device"] == 1  # pairs x res x reps
    assert "run_inference_here" not in jobs
    result = snakemake(
        tmp_path, config, "-n", *SLURM_HOST_NONE, "-p", timeout_s=300, profile="slurm"
    )
    runs = [job for job in result.stdout.split("\n\n") if "rule run_inference:" in job]
    assert runs and all("results/runs/edge-emu/capabilities.json" in job for job in runs)
    assert all("slurm_partition=edge" in job and "--exclusive" in job for job in runs)


def test_remote_device_probed_skips_what_its_probe_rules_out(tmp_path):
    config = _remote_config(tmp_path)
    _fake_capabilities(tmp_path)
    jobs = _dry_run(tmp_path, config, *SLURM_HOST_NONE, profile="slurm")
    assert jobs["run_inference"] == 1 * 3 * 2 and "probe_device" not in jobs
    # the skipped list (a local rule) for real, with the default profile
    result = snakemake(
        tmp_path, config, "results/runs/edge-emu/skipped.csv", "--config", "this_host=[]"
    )
    assert result.returncode == 0, result.stderr[-3000:]
    with open(tmp_path / "results/runs/edge-emu/skipped.csv") as table:
        rows = list(csv.DictReader(table))
    assert rows == [
        {"detector": "onnx", "recognizer": "tflite", "reason": "recognizer tflite: gone"}
    ]


def test_run_of_a_pair_that_cannot_run_fails_with_one_line(tmp_path, capfd):
    """A remote device's pair scheduled before its probe: the run checks where it runs."""
    run_dir = tmp_path / "results/runs/edge-emu/onnx__tensorrt/video1_480/rep1"
    fake = SimpleNamespace(
        log=[str(tmp_path / "run.log")],
        wildcards=SimpleNamespace(device="edge-emu", detector="onnx", recognizer="tensorrt"),
        output=SimpleNamespace(run=str(run_dir / "run.json")),
        params=SimpleNamespace(run={}),
    )
    script = REPO_ROOT / "workflow" / "scripts" / "run_inference.py"
    with pytest.raises(SystemExit) as exit_:
        runpy.run_path(str(script), init_globals={"snakemake": fake})
    assert exit_.value.code == 1
    [line] = capfd.readouterr().err.strip().splitlines()
    assert line.startswith("error: edge-emu: onnx/tensorrt cannot run here: recognizer tensorrt: ")
    assert line.endswith("; rerun snakemake to list it in skipped.csv")
    assert not run_dir.exists()
