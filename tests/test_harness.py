"""The tests' own helpers: FACEBENCH_REQUIRE turns a missing feature's skip into a failure, and a
timed-out subprocess dies with everything it started."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from helpers import require, require_or_skip, required, run_in_own_group


def test_a_required_feature_that_is_missing_fails(monkeypatch):
    monkeypatch.setenv("FACEBENCH_REQUIRE", "slurm, netns")
    assert required() == {"slurm", "netns"}
    with pytest.raises(pytest.fail.Exception, match="FACEBENCH_REQUIRE lists netns, but no ip"):
        require_or_skip("netns", "no ip")
    with pytest.raises(pytest.fail.Exception, match="lists slurm, but not root"):
        require("slurm", "not root")
    with pytest.raises(pytest.skip.Exception, match="no browser"):
        require_or_skip("chromium", "no browser")
    require("chromium", "no browser")  # not required: the caller checks the fallback


def test_unknown_feature_names_fail(monkeypatch):
    monkeypatch.setenv("FACEBENCH_REQUIRE", "slurm,netms")
    with pytest.raises(pytest.fail.Exception, match=r"unknown \['netms'\]"):
        required()
    monkeypatch.delenv("FACEBENCH_REQUIRE")
    assert required() == set()


def test_timeout_kills_the_whole_process_group(tmp_path):
    pid_file = tmp_path / "child.pid"
    # A parent that starts a child and waits: the child must not outlive the timeout.
    script = f"import subprocess, sys; p = subprocess.Popen([sys.executable, '-c', \
'import time; time.sleep(60)']); open({str(pid_file)!r}, 'w').write(str(p.pid)); p.wait()"
    with pytest.raises(subprocess.TimeoutExpired):
        run_in_own_group([sys.executable, "-c", script], timeout_s=5)
    child = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child)


def test_output_and_exit_status_are_returned():
    done = run_in_own_group([sys.executable, "-c", "print('out'); exit(3)"], timeout_s=60)
    assert (done.returncode, done.stdout, done.stderr) == (3, "out\n", "")


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, killed but not yet reaped by init, does not)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ")[1][0] != "Z"
    except FileNotFoundError:
        return False
