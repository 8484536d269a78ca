"""A change under `runs:` reruns only the benchmark runs it concerns: each run_inference job's
params hold that run's settings and nothing else of the config. Checked with dry runs over a
faked finished state (no model is built, no frame is processed)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from conftest import ci_config, snakemake

RUN_OUTPUT = re.compile(r"results/runs/([^/\s]+)/([^/\s]+)/([^/\s]+)/rep\d+/run\.json")


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    """A workdir where every output of its config.yaml (the CI config) exists (empty) and is
    recorded as up to date by `snakemake --touch`, as after a finished run."""
    workdir = tmp_path_factory.mktemp("finished")
    config = ci_config(workdir)
    summary = snakemake(workdir, config, "--summary", timeout_s=300)
    assert summary.returncode == 0, summary.stderr[-3000:]
    for line in summary.stdout.splitlines()[1:]:
        path = workdir / line.split("\t")[0]
        if path.suffix:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch()
        else:  # directory() outputs: the photos, SavedModels
            path.mkdir(parents=True, exist_ok=True)
    touched = snakemake(workdir, config, "--touch", timeout_s=300)
    assert touched.returncode == 0, touched.stderr[-3000:]
    return workdir


def settings_of(workdir: Path) -> dict:
    return yaml.safe_load((workdir / "config.yaml").read_text())


def scheduled_runs(workdir: Path, settings: dict) -> set[tuple[str, str, str]]:
    """(device, detector__recognizer, video_res) of every run a dry run on ``settings`` would
    (re)run."""
    config = workdir / "changed.yaml"
    # Key order kept: Snakemake compares params as recorded, dict order included.
    config.write_text(yaml.safe_dump(settings, sort_keys=False))
    result = snakemake(workdir, config, "--dry-run", timeout_s=300)
    assert result.returncode == 0, result.stderr[-3000:]
    outputs = [line for line in result.stdout.splitlines() if line.strip().startswith("output:")]
    return {match.groups() for line in outputs for match in RUN_OUTPUT.finditer(line)}


def test_unchanged_config_reruns_nothing(finished):
    workdir, settings = finished, settings_of(finished)
    assert scheduled_runs(workdir, settings) == set()


def test_new_device_and_narrowed_pairs_run_only_the_new_runs(finished):
    workdir, settings = finished, settings_of(finished)
    runs = settings["runs"]
    runs["devices"]["local"]["recognizers"] = [settings["fast"]["baseline"]["recognizer"]]
    runs["devices"]["other"] = {"class": "cloud", "detectors": ["onnx"], "recognizers": ["onnx"]}
    runs["this_host"].append("other")
    scheduled = scheduled_runs(workdir, settings)
    timed = settings["runs"]["videos"] or settings["videos"]["generated"]
    videos = len(timed) * len(settings["videos"]["resolutions"])
    assert {device for device, _, _ in scheduled} == {"other"}, sorted(scheduled)
    assert len(scheduled) == videos  # (device, pair, video_res): the repeats are one


def test_threads_of_one_device_rerun_only_its_runs(finished):
    workdir, settings = finished, settings_of(finished)
    settings["runs"]["devices"]["local-1thread"]["threads"] = 2
    scheduled = scheduled_runs(workdir, settings)
    assert scheduled and {device for device, _, _ in scheduled} == {"local-1thread"}
