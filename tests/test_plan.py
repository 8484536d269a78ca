"""facebench.plan on the shipped configurations: what one invocation schedules, and where."""

from __future__ import annotations

import subprocess
import sys

from conftest import REPO_ROOT

from facebench import plan
from facebench.config import load_config

CONFIG = REPO_ROOT / "config"


def _config(*overlays: str, **top) -> dict:
    config = load_config([CONFIG / "config.yaml", *(CONFIG / name for name in overlays)])
    return config | top


def _runs_everything(role: str, backend: str) -> None:
    return None


def test_default_profile_schedules_only_this_hosts_devices():
    config = _config("paper.yaml")
    assert plan.dispatched(config) == []
    assert plan.scheduled(config) == ["local"]
    assert plan.bench_slot(config, "local") == 1


def test_slurm_dispatch_schedules_every_partition_and_frees_the_bench_slot():
    config = _config("paper.yaml", dispatch="slurm")
    assert len(plan.dispatched(config)) == 9 and "local" not in plan.dispatched(config)
    assert plan.scheduled(config)[0] == "local" and len(plan.scheduled(config)) == 10
    assert plan.bench_slot(config, "gtx1080") == 0 and plan.bench_slot(config, "local") == 1
    assert plan.dispatched(_config("paper.yaml", dispatch="ssh")) == []  # no ssh reach


def test_this_host_override_replaces_runs_this_host():
    config = _config("paper.yaml", this_host=["jetson-nano"])
    assert plan.devices_here(config) == ["jetson-nano"]


def test_run_matrix_excludes_and_judges_by_this_host_or_the_probe():
    spec = {"detectors": ["tf", "onnx"], "recognizers": ["tf"], "exclude": [["tf", "tf"]]}
    matrix = plan.run_matrix(spec, None, lambda role, name: "gone" if name == "onnx" else None)
    assert matrix == [("tf", "tf", "excluded in the config"), ("onnx", "tf", "detector onnx: gone")]
    probed = plan.run_matrix(spec, plan.availability_unknown(spec), lambda role, name: "gone")
    assert probed == [("tf", "tf", "excluded in the config"), ("onnx", "tf", None)]


def test_slurm_resources_come_from_the_reach():
    spec = {"reach": {"slurm": {"partition": "p", "slurm_extra": "--qos=bench", "mem_mb": 4}}}
    assert plan.slurm_setting(spec, "partition") == "p"
    assert plan.slurm_setting(spec, "runtime_min") is None
    assert plan.slurm_extra(spec, exclusive=True) == "--exclusive --qos=bench"
    assert plan.slurm_extra(spec, exclusive=False) == "--qos=bench"
    local = {"reach": {"local": {}}}
    assert plan.slurm_extra(local, exclusive=True) is None and not plan.is_remote(local)
    assert plan.ssh_host({"reach": {"ssh": {"host": "board"}}}) == "board"


def test_run_outputs_and_params():
    config = _config("ci.yaml")
    matrix = plan.run_matrix(config["runs"]["devices"]["local"], None, _runs_everything)
    outputs = plan.run_outputs(config, "local", matrix, ["video1", "video2", "mine"])
    # 1 detector x 2 recognizers x (video1 of runs.videos + the user's) x 3 resolutions x 2
    assert len(outputs) == 2 * 2 * 3 * 2
    assert outputs[0] == "results/runs/local/onnx__onnx/video1_480/rep1/run.json"
    assert {output.split("/")[4].split("_")[0] for output in outputs} == {"video1", "mine"}
    every = _config("ci.yaml", "paper.yaml")
    assert plan.timed_videos(every, ["video1", "video2"]) == ["video1", "video2"]
    params = plan.run_params(config, "local-1thread", "onnx", "onnx")
    assert params["detector_threads"] == params["recognizer_threads"] == 1
    assert plan.run_params(config, "local-fast", "openvino-bf16", "openvino-bf16")["batching"] == (
        "per_frame"
    )


def test_experiments_runs_and_reasons():
    config = _config("ci.yaml")
    assert plan.serving_runs(config)[-1] == "results/serving/runs/noop/b1_d0/run.json"
    assert len(plan.serving_runs(config)) == 1 * 2 * 1 + 1
    assert plan.strategies_reason(config, lambda links: "no root") == "no root"
    assert len(plan.strategy_runs(config, None)) == 3 * 2 * 1  # strategies x links x res
    assert plan.strategy_runs(config, "no root") == []
    assert plan.fast_compared(config)
    paper = _config("paper.yaml")
    assert plan.serving_runs(paper) == [] and plan.serving_reason(paper)
    assert "not enabled" in plan.strategies_reason(paper, lambda links: None)
    assert not plan.fast_compared(paper)


def test_parsing_the_snakefile_imports_no_plotting_library():
    """Every facebench module the workflow's .smk files import, in a fresh interpreter."""
    modules = set()
    for smk in (REPO_ROOT / "workflow" / "rules").glob("*.smk"):
        for line in smk.read_text().splitlines():
            if line.startswith(("from facebench", "import facebench")):
                modules.add(line.split()[1])
    code = (
        "import importlib, sys\n"
        f"for name in {sorted(modules)!r}: importlib.import_module(name)\n"
        "print(sorted({'matplotlib', 'seaborn'} & set(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(REPO_ROOT / "src")},
        check=True,
    )
    assert "facebench.report_entries" in modules
    assert result.stdout.strip() == "[]"


def test_accuracy_recognizers_and_settings():
    config = _config("ci.yaml")
    assert plan.accuracy_recognizers(config, _runs_everything) == [
        "onnx",
        "tflite-int8",
        "openvino-bf16",
    ]
    assert plan.accuracy_recognizers(config, lambda role, b: "no" if b == "onnx" else None) == [
        "tflite-int8",
        "openvino-bf16",
    ]
    settings = plan.accuracy_settings(config)
    assert settings["resolutions"] == ["480", "HD"] and "bootstrap_replicates" not in settings
    default = _config()  # no device or gallery uses openvino-bf16 there
    assert plan.accuracy_recognizers(default, _runs_everything) == ["onnx", "tflite-int8"]
    config["accuracy"]["enabled"] = False
    assert plan.accuracy_recognizers(config, _runs_everything) == []


def test_runs_are_ordered_repeat_by_repeat_in_a_new_order_each_time():
    config = _config()
    matrices = {
        device: plan.run_matrix(spec, None, _runs_everything)
        for device, spec in config["runs"]["devices"].items()
    }
    videos = ["video1", "video2"]
    runs = [
        (tuple(path.split("/")[2:5]), path)
        for device, matrix in matrices.items()
        for path in plan.run_outputs(config, device, matrix, videos)
    ]
    keyed = []
    for (device, pair, input_dir), path in runs:
        detector, recognizer = pair.split("__")
        video, res = input_dir.split("_")
        repeat = int(path.split("/")[5].removeprefix("rep"))
        run = (device, detector, recognizer, video, res)
        keyed.append((plan.run_priority(config, videos, run, repeat), repeat, run))
    priorities = [priority for priority, _, _ in keyed]
    assert len(set(priorities)) == len(keyed) and min(priorities) >= 1
    ordered = sorted(keyed, reverse=True)
    repeats = config["runs"]["repeats"]
    assert repeats == 3 and [r for _, r, _ in ordered] == sorted(r for _, r, _ in keyed)
    passes = [[run for _, r, run in ordered if r == repeat] for repeat in (1, 2, 3)]
    assert sorted(passes[0]) == sorted(passes[1]) == sorted(passes[2])
    assert passes[0] != passes[1] != passes[2] != passes[0]  # a new order in each pass
    again = plan.run_priority(config, videos, passes[1][0], 2)
    assert again == max(p for p, r, _ in keyed if r == 2)  # the same order on every call
