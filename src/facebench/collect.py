"""Bring result trees from other hosts (``results/runs`` copied with rsync or scp) into one tree.

Trees never overwrite each other: a run already at the destination with the same files is
skipped, one with different files is refused (or, if asked, filed as the next free repeat).
Only complete runs whose files fit their schemas are taken, each copied into a temporary
directory beside its destination and renamed into place, so no run is ever half there.
"""

from __future__ import annotations

import filecmp
import json
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from facebench.analysis.aggregate import Run, read_run, read_run_tables
from facebench.errors import FacebenchError

DEVICE_FILES = ("capabilities.json", "skipped.csv", "sampler_overhead.json")
RUN_PATTERN = "*__*/*_*/rep*"  # under a device directory


@dataclass
class Collected:
    """What a collection did, one line per item (each names its files)."""

    collected: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{len(self.collected)} collected, {len(self.present)} already present, "
            f"{len(self.refused)} refused, {len(self.rejected)} rejected"
        )


def device_dirs(source: Path) -> list[Path]:
    """The ``<device>/`` directories of ``source``: a project or ``results`` directory (its
    ``results/runs``), a ``results/runs`` directory, or one device's directory."""
    source = Path(source)
    if not source.is_dir():
        raise FacebenchError(f"{source}: no such directory")
    for runs_dir in (source / "results" / "runs", source / "runs"):
        if runs_dir.is_dir():
            source = runs_dir
            break
    if any(source.glob(RUN_PATTERN)):
        return [source]
    return sorted(d for d in source.iterdir() if d.is_dir() and any(d.glob(RUN_PATTERN)))


def check_run(run_dir: Path) -> Run:
    """The run in ``run_dir`` if it is complete and its three files fit their schemas (the
    checks of the aggregation), else one line naming the file."""
    if not (run_dir / "run.json").is_file():
        raise FacebenchError(f"{run_dir / 'run.json'}: absent, the run is incomplete")
    device = run_dir.parts[-4]
    run = read_run(run_dir, {device: ""})
    read_run_tables(run)
    return run


def same_files(one: Path, other: Path) -> bool:
    """Whether two directories hold the same file names with the same bytes."""
    names = sorted(p.name for p in one.iterdir())
    if names != sorted(p.name for p in other.iterdir()):
        return False
    return all(
        (one / n).is_file() and (other / n).is_file() and filecmp.cmp(one / n, other / n, False)
        for n in names
    )


def _repeat(path: Path) -> int:
    match = re.fullmatch(r"rep(\d+)", path.name)
    return int(match.group(1)) if match else 0


def _run_id(run_dir: Path) -> str | None:
    try:
        return json.loads((run_dir / "run.json").read_text()).get("run_id")
    except (OSError, ValueError, AttributeError):
        return None


def _copy_atomically(source: Path, target: Path) -> None:
    """``source`` (a file or directory) to ``target``, which appears whole or not at all."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.collect-{os.getpid()}")
    try:
        if source.is_dir():
            shutil.copytree(source, tmp)
        else:
            shutil.copy2(source, tmp)
        if target.exists():  # appeared meanwhile: never replace it
            raise FacebenchError(f"{target}: appeared while collecting {source}")
        os.rename(tmp, target)
    finally:
        if tmp.is_dir():
            shutil.rmtree(tmp)
        elif tmp.exists():
            tmp.unlink()


def _collect_run(source: Path, target: Path, as_repeat: bool, done: Collected) -> None:
    try:
        run = check_run(source)
    except FacebenchError as error:
        done.rejected.append(f"rejected: {error}")
        return
    if target.is_dir() and not any(target.iterdir()):
        target.rmdir()  # an empty leftover directory holds no run
    if target.exists():
        repeats = sorted(p for p in target.parent.glob("rep*") if p.is_dir() and _repeat(p))
        twin = next((p for p in repeats if same_files(source, p)), None)
        if twin is not None:
            done.present.append(f"already present: {source} as {twin}")
            return
        run_id = run.meta.get("run_id")
        if run_id and (same := next((p for p in repeats if _run_id(p) == run_id), None)):
            done.refused.append(
                f"refused: {source} is run {run_id}, already at {same} with different files"
            )
            return
        if not as_repeat:
            done.refused.append(
                f"refused: {source} differs from {target}, already there "
                "(--as-repeat files it as the next repeat)"
            )
            return
        target = target.with_name(f"rep{max(_repeat(p) for p in repeats) + 1}")
    _copy_atomically(source, target)
    done.collected.append(f"collected: {source} -> {target}")


def _collect_device_file(source: Path, target: Path, done: Collected) -> None:
    if not target.exists():
        _copy_atomically(source, target)
        done.collected.append(f"collected: {source} -> {target}")
    elif filecmp.cmp(source, target, shallow=False):
        done.present.append(f"already present: {source} as {target}")
    else:
        done.refused.append(f"refused: {source} differs from {target}, already there")


def collect(sources: list[Path], into: Path, as_repeat: bool = False) -> Collected:
    """Every run and device file of ``sources`` into the runs tree ``into``."""
    into = Path(into)
    done = Collected()
    for source in sources:
        if Path(source).resolve() == into.resolve():
            raise FacebenchError(f"{source}: is the destination {into} itself")
        for device_dir in device_dirs(Path(source)):
            if device_dir.resolve().parent == into.resolve():
                raise FacebenchError(f"{device_dir}: is already in the destination {into}")
            for run_dir in sorted(p for p in device_dir.glob(RUN_PATTERN) if p.is_dir()):
                target = into / run_dir.relative_to(device_dir.parent)
                _collect_run(run_dir, target, as_repeat, done)
            for name in DEVICE_FILES:
                if (device_dir / name).is_file():
                    _collect_device_file(device_dir / name, into / device_dir.name / name, done)
    return done
