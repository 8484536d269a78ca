"""End to end on a real SLURM: a single-node cluster on this machine (.ci/slurm-cluster) whose
partitions `edge` and `cloud` stand for two devices. Both are this one machine, so the devices
are class "emulated": the test checks dispatch, result trees and reporting, never an edge or a
cloud measurement. A third device's partition does not exist, so SLURM refuses its jobs: the
other devices finish, what finished is aggregated, and after the fix a rerun runs only its runs.

Needs root and installs Debian's SLURM and munge: runs only when FACEBENCH_REQUIRE lists slurm
(`make test-slurm`, `make test` as root, CI), and then fails where it cannot. The models, photos
and videos come from the CI run (`workflow_dir`)."""

from __future__ import annotations

import os
import platform
import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import REPO_ROOT, ci_config, snakemake
from helpers import require, required

pytestmark = pytest.mark.slurm


@pytest.fixture(scope="session", autouse=True)
def slurm_possible() -> None:
    """Only when asked for (it installs SLURM with apt-get and starts a cluster on this
    machine), and then as root; a request that cannot be met fails."""
    if "slurm" not in required():
        pytest.skip("SLURM end to end: FACEBENCH_REQUIRE=slurm runs it (root)")
    if os.geteuid() != 0:
        require("slurm", "the SLURM end-to-end test needs root (apt-get, slurmd)")


CLUSTER_SCRIPT = REPO_ROOT / ".ci" / "slurm-cluster"
# Device -> (partition, class it emulates). slurm-broken's partition does not exist: sbatch
# refuses its jobs, as for a device whose partition is gone.
DEVICES = {
    "slurm-edge": ("edge", "edge"),
    "slurm-cloud": ("cloud", "cloud"),
    "slurm-broken": ("gone", "cloud"),
}
# Two of the three resolutions keep the test under its CI budget (6 min with the install).
RESOLUTIONS = ("480", "FHD")
VIDEO = "video1"
# Jobs a workdir holding the CI run's resources may still need: the devices' own jobs, and the
# aggregation and analysis that follow them.
REMAINING_RULES = {
    "crop_distance",  # its videos: the one narrowed input
    "probe_device",
    "list_skipped_runs",
    "measure_sampler_overhead",
    "run_inference",
    "aggregate_runs",
    "list_missing_runs",
    "tabulate",
    "check_claims",
    "draw_figures",
    "execute_notebook",
    "check_validity",
    "analyse_open_set",
    "analyse_stability",
    "fit_latency_model",
    "aggregate_strategies",  # with the experiments switched off: their not-measured outputs
    "aggregate_serving",
    "all",
}
RUN_OUTPUT = re.compile(r"results/runs/([^/\s]+)/([^/\s]+)/([^/\s]+)/rep\d+/run\.json")
# The plugin's line per job; its log path names the rule and the wildcards ("_"-joined).
SUBMITTED = re.compile(r"with SLURM jobid (\d+) \(log: \S*/rule_(\w+)/([^/\s]*)/\d+\.log\)")


@pytest.fixture(scope="session")
def slurm_cluster(tmp_path_factory) -> Path:
    """A running single-node cluster (its directory); stopped at the end, also on failure."""
    cluster = tmp_path_factory.mktemp("slurm_cluster")
    start = time.monotonic()
    started = subprocess.run(
        [CLUSTER_SCRIPT, "start", cluster], capture_output=True, text=True, timeout=600
    )
    print(f"SLURM cluster started in {time.monotonic() - start:.1f} s: {started.stdout}")
    try:
        assert started.returncode == 0, started.stdout + started.stderr[-3000:]
        yield cluster
        # Our own cluster (SLURM_CONF): no job of it may outlive the test.
        env = {**os.environ, "SLURM_CONF": str(cluster / "slurm.conf")}
        subprocess.run(["scancel", "--user", "root"], env=env, timeout=60, check=False)
    finally:
        subprocess.run([CLUSTER_SCRIPT, "stop", cluster], timeout=120, check=False)


def write_config(workdir: Path, partitions: dict[str, str]) -> Path:
    """config/ci.yaml narrowed to one 1 s video in RESOLUTIONS and one repeat, with one emulated
    SLURM device per entry of ``partitions`` (device -> partition)."""
    config = yaml.safe_load(ci_config(workdir).read_text())
    config["videos"]["generated"] = {VIDEO: config["videos"]["generated"][VIDEO]}
    config["videos"]["resolutions"] = {
        res: size for res, size in config["videos"]["resolutions"].items() if res in RESOLUTIONS
    }
    devices = {
        name: {
            "class": "emulated",
            "emulates": DEVICES[name][1],
            "reach": {"slurm": {"partition": partition}},
            "detectors": ["onnx"],
            "recognizers": ["onnx"],
        }
        for name, partition in partitions.items()
    }
    config["runs"].update(
        devices=devices, this_host=list(devices), pair=["slurm-edge", "slurm-cloud"]
    )
    config["runs"]["sampler_check_s"] = 1
    config["runs"]["repeats"] = 1  # dispatch is under test, not repeats
    config["fast"]["device"] = ""  # the preset is this host's comparison
    config["strategies"]["enabled"] = False  # this host's experiments: not what SLURM runs
    config["serving"]["enabled"] = False
    config["accuracy"]["enabled"] = False  # the untimed accuracy mode: not what SLURM runs
    path = workdir / "config.yaml"
    # Key order kept: Snakemake compares params as recorded, dict order included.
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def on_slurm(workdir: Path, configfile: Path, *extra: str) -> subprocess.CompletedProcess:
    """The workflow through workflow/profiles/slurm (killed after 15 min; lock cleared)."""
    return snakemake(workdir, configfile, *extra, profile="slurm", timeout_s=900)


def scheduled(stdout: str) -> tuple[set[str], set[tuple[str, str, str]]]:
    """The rules of a dry run's jobs, and (device, detector__recognizer, video_res) of its runs."""
    rules = set(re.findall(r"^(?:local)?rule (\w+):", stdout, re.MULTILINE))
    outputs = [line for line in stdout.splitlines() if line.strip().startswith("output:")]
    return rules, {match.groups() for line in outputs for match in RUN_OUTPUT.finditer(line)}


def slurm_jobs(log: Path) -> dict[str, dict]:
    """SLURM job id -> partition and exit status, from the slurmctld log (no accounting)."""
    jobs: dict[str, dict] = {}
    for line in log.read_text().splitlines():
        if m := re.search(r"Allocate JobId=(\d+) .*Partition=(\S+)", line) or re.search(
            r"Started JobId=(\d+) in (\S+) on", line
        ):
            jobs.setdefault(m[1], {})["partition"] = m[2]
        elif m := re.search(r"_job_complete: JobId=(\d+) WEXITSTATUS (\d+)", line):
            jobs.setdefault(m[1], {})["exit"] = int(m[2])
    return jobs


def read_csv_if(path: Path) -> pd.DataFrame | None:
    return pd.read_csv(path) if path.is_file() else None


@dataclass
class Outcome:
    workdir: Path
    first: subprocess.CompletedProcess  # the three devices, --keep-going: one refused
    broken_runs_after_first: list[Path]
    slurm_jobs: dict[str, dict]  # job id -> partition, exit status (slurmctld log)
    submitted: list[tuple[str, str, str]]  # (SLURM job id, rule, wildcards), first run
    partial: subprocess.CompletedProcess  # aggregation of what finished, on this host
    missing_after_first: pd.DataFrame | None
    table6_after_first: pd.DataFrame | None
    dry_run_after_fix: subprocess.CompletedProcess
    rerun: subprocess.CompletedProcess
    settled: subprocess.CompletedProcess  # a dry run after the rerun


@pytest.fixture(scope="module")
def slurm_runs(slurm_cluster, workflow_dir, tmp_path_factory) -> Outcome:
    """The workflow on three SLURM devices (one refused), the aggregation of what finished,
    then the fix and the rerun."""
    workdir = tmp_path_factory.mktemp("slurm_run")
    # The CI run's models, photos, videos and parity, mtimes kept: only the runs remain to do.
    (workdir / "results").mkdir()
    for part in ("resources", "results/parity", "results/videos"):
        subprocess.run(["cp", "-a", workflow_dir / part, workdir / part], check=True)
    partitions = {name: partition for name, (partition, _) in DEVICES.items()}
    configfile = write_config(workdir, partitions)
    dry = on_slurm(workdir, configfile, "--dry-run")
    assert dry.returncode == 0, dry.stderr[-3000:]
    rules, _ = scheduled(dry.stdout)
    assert rules <= REMAINING_RULES, f"CI resources not reused: {sorted(rules - REMAINING_RULES)}"

    timings = {}
    start = time.monotonic()
    first = on_slurm(workdir, configfile, "--keep-going")
    timings["first SLURM run"] = time.monotonic() - start
    broken_runs = sorted((workdir / "results/runs/slurm-broken").rglob("run.json"))
    # What finished, aggregated on this host: no device is run (this_host=[]), the trees on
    # disk are aggregated (missing.csv and Table 6 only: the report is checked at the end).
    start = time.monotonic()
    partial = snakemake(
        workdir,
        configfile,
        "results/missing.csv",
        "results/tables/table6.csv",
        "--config",
        "this_host=[]",
        timeout_s=600,
    )
    timings["aggregation of what finished"] = time.monotonic() - start
    missing = read_csv_if(workdir / "results" / "missing.csv")
    table6 = read_csv_if(workdir / "results" / "tables" / "table6.csv")

    # The fix: slurm-broken's jobs go to an existing partition.
    configfile = write_config(workdir, {**partitions, "slurm-broken": "cloud"})
    dry_run_after_fix = on_slurm(workdir, configfile, "--dry-run")
    start = time.monotonic()
    rerun = on_slurm(workdir, configfile)
    timings["rerun after the fix"] = time.monotonic() - start
    settled = on_slurm(workdir, configfile, "--dry-run")
    print(", ".join(f"{step}: {seconds:.0f} s" for step, seconds in timings.items()))
    return Outcome(
        workdir=workdir,
        first=first,
        broken_runs_after_first=broken_runs,
        slurm_jobs=slurm_jobs(slurm_cluster / "log" / "slurmctld.log"),
        submitted=[match.groups() for match in SUBMITTED.finditer(first.stderr)],
        partial=partial,
        missing_after_first=missing,
        table6_after_first=table6,
        dry_run_after_fix=dry_run_after_fix,
        rerun=rerun,
        settled=settled,
    )


def run_files(workdir: Path, name: str) -> list[Path]:
    return [
        workdir / f"results/runs/{name}/onnx__onnx/{VIDEO}_{res}/rep1/run.json"
        for res in RESOLUTIONS
    ]


def test_each_partition_runs_its_devices_jobs_through_slurm(slurm_runs):
    workdir, first = slurm_runs.workdir, slurm_runs.first
    assert slurm_runs.submitted, first.stderr[-3000:]
    for name in ("slurm-edge", "slurm-cloud"):
        for path in run_files(workdir, name):
            assert path.is_file(), f"{path} missing:\n{first.stderr[-3000:]}"
            assert yaml.safe_load(path.read_text())["host"] == platform.node(), path
        assert (workdir / f"results/runs/{name}/capabilities.json").is_file()
        # Its probe and runs were SLURM jobs in its own partition, and exited 0 there.
        jobs = [
            (rule, slurm_runs.slurm_jobs.get(job))
            for job, rule, wildcards in slurm_runs.submitted
            if wildcards == name or wildcards.startswith(f"{name}_")
        ]
        print(name, jobs)
        assert sum(rule == "run_inference" for rule, _ in jobs) == len(RESOLUTIONS)
        assert "probe_device" in {rule for rule, _ in jobs}
        partition = DEVICES[name][0]
        assert all(job == {"partition": partition, "exit": 0} for _, job in jobs), jobs


def test_refused_device_blocks_nothing_and_is_listed_missing(slurm_runs):
    first = slurm_runs.first
    assert first.returncode != 0
    assert "Invalid partition name specified" in first.stderr, first.stderr[-3000:]
    assert slurm_runs.broken_runs_after_first == []
    partial = slurm_runs.partial
    assert partial.returncode == 0, partial.stderr[-3000:]
    table6 = slurm_runs.table6_after_first
    assert table6 is not None, "no results/tables/table6.csv after the run with a failed device"
    assert set(table6.device) == {"slurm-edge", "slurm-cloud"}
    missing = slurm_runs.missing_after_first
    assert missing is not None, "no results/missing.csv after the run with a failed device"
    print(missing.to_string())
    assert set(missing.device) == {"slurm-broken"}
    assert sorted(missing.resolution.astype(str)) == sorted(RESOLUTIONS)
    # sbatch refused its jobs: neither skipped (its pairs are runnable) nor rejected
    refused = missing.reason.eq("not run yet") | missing.reason.str.startswith("failed: see ")
    assert refused.all(), missing.reason.tolist()
    # Aggregating on this host what finished on the cluster reruns none of it.
    rules, runs = scheduled(partial.stdout + partial.stderr)
    assert "run_inference" not in rules, f"aggregating what finished reran {sorted(runs)}"


def test_rerun_after_fix_runs_only_the_missing_runs(slurm_runs):
    dry = slurm_runs.dry_run_after_fix
    assert dry.returncode == 0, dry.stderr[-3000:]
    _, runs = scheduled(dry.stdout)
    expected = {("slurm-broken", "onnx__onnx", f"{VIDEO}_{res}") for res in RESOLUTIONS}
    assert runs == expected, sorted(runs)
    assert slurm_runs.rerun.returncode == 0, slurm_runs.rerun.stderr[-3000:]
    assert all(path.is_file() for path in run_files(slurm_runs.workdir, "slurm-broken"))
    missing = pd.read_csv(slurm_runs.workdir / "results" / "missing.csv")
    assert missing.empty, missing.to_string()
    # Done is done: one more invocation reruns no run (its input set does not change once a
    # device is probed).
    settled = slurm_runs.settled
    assert settled.returncode == 0, settled.stderr[-3000:]
    _, again = scheduled(settled.stdout)
    assert again == set(), f"finished runs scheduled again: {sorted(again)}"


def test_table6_and_report_show_every_device_as_emulated(slurm_runs):
    workdir = slurm_runs.workdir
    table6 = pd.read_csv(workdir / "results" / "tables" / "table6.csv")
    print(table6.to_string())
    classes = dict(zip(table6.device, table6.device_class, strict=True))
    assert classes == {name: f"emulated {emulates}" for name, (_, emulates) in DEVICES.items()}
    report = snakemake(workdir, workdir / "config.yaml", "--report", "report.html", timeout_s=600)
    assert report.returncode == 0, report.stderr[-3000:]
    html = (workdir / "report.html").read_text()
    for name in DEVICES:
        assert name in html, f"report.html does not name {name}"
