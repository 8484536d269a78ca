"""`facebench collect`: result trees of several hosts brought into one, on small synthetic run
trees in the real schema. Nothing is overwritten, conflicts are refused (or filed as another
repeat when asked), broken runs are rejected with one line naming the file, copies are atomic."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from facebench import collect as collect_module
from facebench.analysis.aggregate import RUN_GLOB, read_runs, run_table
from facebench.analysis.synthetic import Device, write_dataset
from facebench.cli import main
from facebench.collect import collect

VIDEO_FRAMES = {"v1": 12}
RESOLUTIONS = ("480", "HD")
EDGE = Device("edge1", "edge", [("onnx", "onnx"), ("onnx", "tflite")])
CLOUD = Device("cloud1", "cloud", [("onnx", "onnx")], gpu=True, gpu_name="T4")
ONE_RUN = Path("edge1/onnx__onnx/v1_HD/rep1")


def host_tree(root: Path, device: Device, seed: int) -> Path:
    """results/runs of one host that ran ``device`` (plus its device files)."""
    write_dataset(root, [device], VIDEO_FRAMES, RESOLUTIONS, warmup_frames=2, seed=seed)
    runs = root / "results" / "runs"
    (runs / device.name / "capabilities.json").write_text(json.dumps({"host": root.name}))
    (runs / device.name / "skipped.csv").write_text("detector,recognizer,reason\n")
    return runs


def tree_bytes(directory: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(directory)): p.read_bytes() for p in directory.rglob("*") if p.is_file()
    }


def n_runs(device: Device) -> int:
    return len(device.pairs) * len(VIDEO_FRAMES) * len(RESOLUTIONS)


@pytest.fixture
def hosts(tmp_path) -> tuple[Path, Path]:
    return host_tree(tmp_path / "host_a", EDGE, 1), host_tree(tmp_path / "host_b", CLOUD, 2)


def test_two_hosts_meet_in_one_tree(hosts, tmp_path, capsys):
    into = tmp_path / "home" / "results" / "runs"
    assert main(["collect", str(hosts[0]), str(hosts[1].parents[1]), "--into", str(into)]) == 0
    out = capsys.readouterr().out
    assert f"{n_runs(EDGE) + n_runs(CLOUD) + 4} collected, 0 already present" in out
    for host in hosts:
        assert tree_bytes(into).items() >= tree_bytes(host).items()
    runs = read_runs(sorted(into.glob(RUN_GLOB)), {"edge1": "edge", "cloud1": "cloud"})
    table = run_table(runs)
    assert set(table["host"]) == {"edge1", "cloud1"}
    assert table["run_id"].str.fullmatch(r"[0-9a-f]{32}").all() and table["run_id"].is_unique
    assert not list(into.rglob(".*"))  # no temporary directory left behind


def test_collecting_again_finds_everything_present(hosts, tmp_path, capsys):
    into = tmp_path / "runs"
    collect([hosts[0]], into)
    before = tree_bytes(into)
    assert main(["collect", str(hosts[0]), "--into", str(into)]) == 0
    assert f"0 collected, {n_runs(EDGE) + 2} already present" in capsys.readouterr().out
    assert tree_bytes(into) == before


def test_a_different_run_at_the_same_place_is_refused(tmp_path, capsys):
    here = host_tree(tmp_path / "here", EDGE, 1)
    there = host_tree(tmp_path / "there", EDGE, 7)  # the same device measured again
    before = tree_bytes(here)
    assert main(["collect", str(there), "--into", str(here)]) == 1
    captured = capsys.readouterr()
    refused = [line for line in captured.out.splitlines() if line.startswith("refused:")]
    assert len(refused) == n_runs(EDGE) + 1  # every run and capabilities.json
    line = next(r for r in refused if str(ONE_RUN) in r)
    assert str(there / ONE_RUN) in line and str(here / ONE_RUN) in line
    assert captured.err.count("\n") == 1 and "refused" in captured.err
    assert tree_bytes(here) == before


def test_as_repeat_files_the_next_free_repeat_once(tmp_path, capsys):
    here = host_tree(tmp_path / "here", EDGE, 1)
    there = host_tree(tmp_path / "there", EDGE, 7)
    collect([there], here, as_repeat=True)
    rep2 = here / ONE_RUN.with_name("rep2")
    assert tree_bytes(rep2) == tree_bytes(there / ONE_RUN)
    assert tree_bytes(here / ONE_RUN) != tree_bytes(rep2)
    again = collect([there], here, as_repeat=True)
    assert not again.collected and not (here / ONE_RUN.with_name("rep3")).exists()
    assert any(f"as {rep2}" in line for line in again.present)


def test_the_same_run_with_other_files_is_refused_even_as_repeat(hosts, tmp_path):
    into = tmp_path / "runs"
    collect([hosts[0]], into)
    altered = tmp_path / "altered"
    shutil.copytree(hosts[0], altered)
    meta = altered / ONE_RUN / "run.json"
    meta.write_text(json.dumps(json.loads(meta.read_text()), indent=4))  # other bytes
    done = collect([altered], into, as_repeat=True)
    assert len(done.refused) == 1 and "already at" in done.refused[0]
    assert not (into / ONE_RUN.with_name("rep2")).exists()


def _cut_mid_line(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:-7])


def _cut_at_a_line(path: Path) -> None:
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:-3]))


def _negative_time(path: Path) -> None:
    table = pd.read_csv(path)
    table.loc[3, "t_detect_s"] = -0.5
    table.to_csv(path, index=False)


def _text_in_a_number(path: Path) -> None:
    table = pd.read_csv(path).astype({"n_faces": object})
    table.loc[2, "n_faces"] = "two"
    table.to_csv(path, index=False)


def _extra_column(path: Path) -> None:
    pd.read_csv(path).assign(t_other_s=0.1).to_csv(path, index=False)


def _no_summary(path: Path) -> None:
    meta = json.loads(path.read_text())
    del meta["summary"]
    path.write_text(json.dumps(meta))


@pytest.mark.parametrize(
    "name, damage, message",
    [
        ("frames.csv", _cut_mid_line, "truncated"),
        ("frames.csv", _cut_at_a_line, "run.json counts"),
        ("frames.csv", _negative_time, "t_detect_s has a value below 0"),
        ("frames.csv", _text_in_a_number, "n_faces"),
        ("frames.csv", _extra_column, "unknown column(s) t_other_s"),
        ("faces.csv", _cut_mid_line, "truncated"),
        ("run.json", _no_summary, "'summary' is a required property"),
        ("run.json", Path.unlink, "the run is incomplete"),
    ],
)
def test_a_broken_run_is_rejected_and_the_rest_collected(
    hosts, tmp_path, capsys, name, damage, message
):
    damage(hosts[0] / ONE_RUN / name)
    into = tmp_path / "runs"
    assert main(["collect", str(hosts[0]), "--into", str(into)]) == 1
    out = capsys.readouterr().out
    rejected = [line for line in out.splitlines() if line.startswith("rejected:")]
    assert rejected == [line for line in rejected if f"{hosts[0] / ONE_RUN / name}:" in line]
    assert len(rejected) == 1 and message in rejected[0]
    assert f"{n_runs(EDGE) - 1 + 2} collected" in out
    assert not (into / ONE_RUN).exists()
    assert (into / "edge1" / "onnx__onnx" / "v1_480" / "rep1" / "run.json").is_file()


def test_a_conflicting_device_file_is_refused(hosts, tmp_path):
    into = tmp_path / "runs"
    (into / "edge1").mkdir(parents=True)
    (into / "edge1" / "capabilities.json").write_text('{"host": "another"}')
    done = collect([hosts[0]], into)
    assert len(done.refused) == 1 and "capabilities.json differs from" in done.refused[0]
    assert (into / "edge1" / "capabilities.json").read_text() == '{"host": "another"}'
    assert (into / "edge1" / "skipped.csv").is_file()


def test_a_failed_copy_leaves_nothing_behind(hosts, tmp_path, monkeypatch):
    def copy_half(source, target):
        Path(target).mkdir()
        shutil.copy2(Path(source) / "frames.csv", target)
        raise OSError("disk full")

    monkeypatch.setattr(collect_module.shutil, "copytree", copy_half)
    into = tmp_path / "runs"
    with pytest.raises(OSError, match="disk full"):
        collect([hosts[0]], into)
    assert not [p for p in into.rglob("*") if p.is_file()]


def test_the_destination_is_not_a_source(hosts):
    assert main(["collect", str(hosts[0]), "--into", str(hosts[0])]) == 1
