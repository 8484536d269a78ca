"""All-or-nothing directory writes: one rename, stale temporaries of killed writers swept."""

from __future__ import annotations

import subprocess
import sys

import pytest

from facebench.fileio import atomic_dir, sweep_stale_temps


def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    process = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                             capture_output=True, text=True, check=True)  # fmt: skip
    return int(process.stdout)


def test_atomic_dir_replaces_an_existing_directory_whole(tmp_path):
    final = tmp_path / "run"
    final.mkdir()
    (final / "old.csv").write_text("old")
    with atomic_dir(final) as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(".run.tmp-")
        (tmp / "new.csv").write_text("new")
        assert (final / "old.csv").exists() and not (final / "new.csv").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
    assert [p.name for p in final.iterdir()] == ["new.csv"]


def test_atomic_dir_leaves_the_old_directory_when_the_block_fails(tmp_path):
    final = tmp_path / "run"
    final.mkdir()
    (final / "old.csv").write_text("old")
    with pytest.raises(RuntimeError), atomic_dir(final) as tmp:
        (tmp / "new.csv").write_text("half")
        raise RuntimeError("writer failed")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
    assert [p.name for p in final.iterdir()] == ["old.csv"]


def test_stale_temporaries_of_dead_writers_are_swept_live_ones_kept(tmp_path):
    final = tmp_path / "run"
    dead, live = dead_pid(), subprocess.Popen([sys.executable, "-c", "input()"], stdin=-1)
    try:
        for name in (f".run.tmp-{dead}", f".run.old-{dead}", f".run.tmp-{live.pid}"):
            (tmp_path / name).mkdir()
        (tmp_path / f".other.tmp-{dead}").mkdir()  # another run's: not ours to sweep
        swept = sweep_stale_temps(final)
        assert sorted(p.name for p in swept) == [f".run.old-{dead}", f".run.tmp-{dead}"]
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
            [f".run.tmp-{live.pid}", f".other.tmp-{dead}"]
        )
    finally:
        live.kill()
        live.wait()


def test_a_writer_killed_between_the_renames_leaves_no_final(tmp_path):
    final = tmp_path / "run"
    final.mkdir()
    code = (
        "import os, sys; from pathlib import Path; from facebench.fileio import atomic_dir\n"
        "with atomic_dir(Path(sys.argv[1])) as tmp: (tmp / 'new.csv').write_text('new')"
    )
    env = {"FACEBENCH_TEST_KILL_AT": "dir-moved-aside", "PATH": ""}
    killed = subprocess.run([sys.executable, "-c", code, str(final)], env=env)
    assert killed.returncode == -9
    assert not final.exists() and len(list(tmp_path.iterdir())) == 2  # .run.tmp-* and .run.old-*
    with atomic_dir(final) as tmp:
        (tmp / "rerun.csv").write_text("rerun")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
    assert [p.name for p in final.iterdir()] == ["rerun.csv"]
