"""A bad tree copied in is rejected run by run while the rest aggregates, and results/missing.csv
gives every configured run without a result its reason; on small synthetic run trees."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from facebench.analysis.aggregate import RUN_GLOB, device_run_files
from facebench.analysis.missing import missing_runs
from facebench.analysis.stages import REJECTED_CSV, Aggregate, aggregate
from facebench.analysis.synthetic import Device, write_dataset
from facebench.workflow import run_dirs, run_log

VIDEOS = {"v1": 12, "v2": 10}
RESOLUTIONS = ("480", "HD")
HERE = Device("here", "edge", [("onnx", "onnx"), ("onnx", "tflite")])
COPIED = Device("copied", "cloud", [("onnx", "onnx")])
CLASSES = {"here": "edge", "copied": "cloud", "absent": "edge"}
BAD_RUN = "copied/onnx__onnx/v1_HD/rep1"


@pytest.fixture
def root(tmp_path, monkeypatch) -> Path:
    """A working directory with runs of ``here`` and a tree of ``copied`` brought in."""
    write_dataset(tmp_path, [HERE, COPIED], VIDEOS, RESOLUTIONS, warmup_frames=2, seed=5)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _aggregate(root: Path) -> tuple[list, Aggregate]:
    files = device_run_files(Path("results/runs"), CLASSES)
    _, rejected = aggregate(files, CLASSES, Path("resources/videos"), Path("agg"))
    return rejected, Aggregate.read(Path("agg"))


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda p: p.write_bytes(p.read_bytes()[:-5]), "truncated"),
        (lambda p: pd.read_csv(p).assign(n_faces=-1).to_csv(p, index=False), "below 0"),
        (lambda p: p.write_text("frame,is_warmup\n0,True\n"), "missing column"),
    ],
)
def test_a_bad_copied_frames_csv_is_rejected_and_the_rest_aggregates(root, capfd, damage, message):
    frames_csv = Path("results/runs") / BAD_RUN / "frames.csv"
    damage(frames_csv)
    rejected, data = _aggregate(root)
    assert [str(r.path) for r in rejected] == [str(frames_csv.parent)]
    assert str(frames_csv) in rejected[0].reason and message in rejected[0].reason
    assert "\n" not in rejected[0].reason
    lines = [line for line in capfd.readouterr().err.splitlines() if "rejected" in line]
    assert lines == [f"rejected: {rejected[0].reason}"]
    total = len(list(Path("results/runs").glob(RUN_GLOB)))
    assert len(data.runs) == total - 1 and BAD_RUN not in "".join(data.runs["path"])
    assert set(data.frames["device"]) == {"here", "copied"}
    assert (
        len(
            data.frames.groupby(
                ["device", "detector", "recognizer", "video", "resolution", "repeat"], observed=True
            )
        )
        == total - 1
    )
    listed = pd.read_csv(Path("agg") / REJECTED_CSV)
    assert listed.to_dict("records") == [
        {"run": str(frames_csv.parent), "reason": rejected[0].reason}
    ]


def test_runs_parquet_carries_run_id_and_host(root):
    rejected, data = _aggregate(root)
    assert not rejected and pd.read_csv(Path("agg") / REJECTED_CSV).empty
    assert data.runs["run_id"].str.fullmatch(r"[0-9a-f]{32}").all()
    assert set(data.runs["host"]) == {"here", "copied"}


def test_a_run_filed_twice_is_rejected_once(root):
    twin = Path("results/runs") / BAD_RUN.replace("rep1", "rep2")
    twin.mkdir()
    for name in ("frames.csv", "faces.csv", "run.json"):
        (twin / name).write_bytes((twin.parent / "rep1" / name).read_bytes())
    rejected, _ = _aggregate(root)
    assert [r.path for r in rejected] == [twin] and "is the run already at" in rejected[0].reason


def test_every_configured_run_without_a_result_has_its_reason(root):
    (Path("results/runs") / BAD_RUN / "frames.csv").write_text("frame\n")
    (Path("results/runs/here/skipped.csv")).write_text(
        "detector,recognizer,reason\ntf,onnx,detector tf: tensorflow is not installed\n"
    )
    failed = "here/onnx__onnx/v2_480/rep1"
    for name in ("run.json", "frames.csv", "faces.csv"):
        (Path("results/runs") / failed / name).unlink()
    Path(run_log("logs/runs", failed)).parent.mkdir(parents=True)
    Path(run_log("logs/runs", failed)).write_text("Traceback ...\n")
    rejected, data = _aggregate(root)
    planned = {
        "here": run_dirs(
            "here", [*HERE.pairs, ("tf", "onnx"), ("tf", "tf")], VIDEOS, RESOLUTIONS, 2
        ),
        "copied": run_dirs("copied", COPIED.pairs, VIDEOS, RESOLUTIONS, 1),
        "absent": run_dirs("absent", [("onnx", "onnx")], ["v1"], ["HD"], 1),
    }
    configured = {d: [f"results/runs/{run}" for run in runs] for d, runs in planned.items()}
    table = pd.DataFrame([(str(r.path), r.reason) for r in rejected], columns=["run", "reason"])
    missing = missing_runs(
        configured,
        data.runs["path"],
        table,
        "logs/runs",
        {"here": [("tf", "tf")]},
    )
    reasons = dict(
        zip(missing["run"].str.removeprefix("results/runs/"), missing["reason"], strict=True)
    )
    assert reasons.pop(BAD_RUN).startswith(f"rejected: results/runs/{BAD_RUN}/frames.csv: ")
    assert reasons.pop(failed) == f"failed: see logs/runs/{failed}.log"
    assert reasons.pop("absent/onnx__onnx/v1_HD/rep1") == "not run yet"
    tf = {k: reasons.pop(k) for k in list(reasons) if "/tf__" in k}
    assert len(tf) == 2 * len(VIDEOS) * len(RESOLUTIONS) * 2
    assert {v for k, v in tf.items() if "tf__onnx" in k} == {
        "skipped: detector tf: tensorflow is not installed"
    }
    assert {v for k, v in tf.items() if "tf__tf" in k} == {"skipped: excluded in the config"}
    assert set(reasons) == {r for r in planned["here"] if r.endswith("rep2") and "/onnx__" in r}
    assert set(reasons.values()) == {"not run yet"}
    assert list(missing.columns[:6]) == [
        "device",
        "detector",
        "recognizer",
        "video",
        "resolution",
        "repeat",
    ]


def test_run_dirs_are_the_paths_the_aggregation_parses(root):
    planned = set(run_dirs("here", HERE.pairs, VIDEOS, RESOLUTIONS, 1))
    found = {"/".join(p.parts[-5:-1]) for p in device_run_files(Path("results/runs"), ["here"])}
    assert planned == found
