"""One strategy over one emulated link: server in the cloud namespace, edge in the edge one.

``run_strategy`` builds the link, starts the recognition server and waits until it is ready,
runs the edge process for the configured duration, stops both (also when anything fails) and
writes ``frames.csv``, ``faces.csv`` and ``run.json`` into the run directory in one rename.
A server that dies mid-run makes the edge exit with one line, which becomes this run's error.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from facebench.errors import FacebenchError
from facebench.fileio import atomic_dir, write_json
from facebench.harness.benchmark_run import model_files
from facebench.harness.run_metadata import collect_run_metadata, cpu_model
from facebench.strategies.links import (
    EmulatedLink,
    LinkProfile,
    require_network_emulation,
    stop_process,
)
from facebench.strategies.settings import StrategySettings

PORT = 7070
SERVER_START_TIMEOUT_S = 300.0
EDGE_SLACK_S = 300.0  # model loading, clip decoding and the last replies, beyond duration_s


def _module(name: str) -> list[str]:
    return [sys.executable, "-m", f"facebench.{name}"]


def _tail(path: Path, lines: int = 1) -> str:
    text = path.read_text(errors="replace").strip().splitlines() if path.exists() else []
    return " | ".join(text[-lines:]) or "no output"


def start_server(
    link: EmulatedLink, settings: StrategySettings, log: Path
) -> tuple[subprocess.Popen, dict]:
    """The recognition server in the cloud namespace and its ready line, once it is ready."""
    argv = [
        *_module("remote.server"),
        *("--host", link.server_host, "--port", str(PORT)),
        *("--models-dir", str(settings.models_dir), "--gallery", str(settings.gallery)),
        *("--detector", settings.detector, "--recognizer", settings.recognizer),
        *("--threads", str(os.cpu_count() or 1), "--alignment", settings.alignment),
    ]
    with log.open("w") as log_file:
        server = link.popen_in(
            link.cloud_ns, argv, stdout=subprocess.PIPE, stderr=log_file, text=True
        )
    return server, wait_ready(server, log)


def wait_ready(server: subprocess.Popen, log: Path) -> dict:
    """The server's ready line (JSON on its stdout); stops it and raises if none comes."""
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        readable, _, _ = select.select([server.stdout], [], [], 1.0)
        line = server.stdout.readline() if readable else ""
        if line.startswith('{"ready"'):
            return json.loads(line)
        if server.poll() is not None:
            raise FacebenchError(f"recognition server failed to start: {_tail(log)}")
    stop_process(server)
    raise FacebenchError(f"recognition server not ready within {SERVER_START_TIMEOUT_S:.0f} s")


def edge_argv(
    strategy: str, link: EmulatedLink, video: Path, settings: StrategySettings, out: Path
) -> list[str]:
    """The edge process's command line."""
    host, port = link.server_address(PORT)
    return [
        *_module("strategies.edge"),
        *("--strategy", strategy, "--host", host, "--port", str(port)),
        *("--video", str(video), "--duration-s", str(settings.duration_s)),
        *("--warmup-frames", str(settings.warmup_frames)),
        *("--models-dir", str(settings.models_dir), "--gallery", str(settings.gallery)),
        *("--detector", settings.detector, "--recognizer", settings.recognizer),
        *("--threads", str(settings.edge_cpus), "--cpus", str(settings.edge_cpus)),
        *("--alignment", settings.alignment, "--jpeg-quality", str(settings.jpeg_quality)),
        *("--max-inflight", str(settings.max_inflight)),
        *("--reidentify-s", str(settings.reidentify_s), "--out", str(out)),
    ]


def edge_emulation(settings: StrategySettings) -> str:
    """The plain statement every output carries: what the edge is, and what it is not."""
    return (
        f"emulated edge: {settings.edge_cpus} of this host's {os.cpu_count()} CPU cores "
        f"({cpu_model()}) by sched_setaffinity, {settings.edge_cpus} thread(s); not an edge "
        "board. The server uses every core of the same host."
    )


def run_strategy(
    strategy: str,
    profile: LinkProfile,
    link_check: dict,
    video: Path,
    video_name: str,
    resolution: str,
    settings: StrategySettings,
    out_dir: Path,
    on_started: Callable[[subprocess.Popen, subprocess.Popen], None] | None = None,
) -> dict:
    """Run ``strategy`` over ``profile``; ``on_started(server, edge)`` is called once both
    processes run (tests use it to break things). Returns run.json's content."""
    require_network_emulation(profile)
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    started = datetime.now(UTC).isoformat()
    with (
        tempfile.TemporaryDirectory(dir=out_dir.parent, prefix=f".{out_dir.name}.work-") as work,
        EmulatedLink(profile, forward_ports=(PORT,)) as link,
    ):
        work = Path(work)
        server, ready = start_server(link, settings, work / "server.log")
        try:
            with (work / "edge.log").open("w") as edge_log:
                edge = link.popen_in(
                    link.edge_ns,
                    edge_argv(strategy, link, video, settings, work),
                    stdout=edge_log,
                    stderr=subprocess.STDOUT,
                )
            try:
                if on_started:
                    on_started(server, edge)
                edge.wait(settings.duration_s + EDGE_SLACK_S)
            except subprocess.TimeoutExpired as error:
                raise FacebenchError(f"{strategy} over {profile.name}: edge timed out") from error
            finally:
                stop_process(edge)
        finally:
            stop_process(server)
            for name in ("server.log", "edge.log"):
                print(f"--- {name}\n{(work / name).read_text(errors='replace')}", file=sys.stderr)
        if edge.returncode != 0:
            raise FacebenchError(f"{strategy} over link {profile.name}: {_tail(work / 'edge.log')}")
        edge_summary = json.loads((work / "edge.json").read_text())
        meta = collect_run_metadata(
            model_files(
                settings.models_dir, settings.detector, settings.recognizer, settings.gallery
            )
        )
        meta.update(
            strategy=strategy,
            link=profile.name,
            video=video_name,
            resolution=resolution,
            fps=edge_summary["fps"],
            duration_s=settings.duration_s,
            detector=settings.detector,
            recognizer=settings.recognizer,
            transport=edge_summary["transport"],
            encoding=edge_summary["encoding"],
            edge_emulation=edge_emulation(settings),
            link_check=link_check,
            link_method=link.method,
            frames=edge_summary["frames"],
            settings={k: str(v) if isinstance(v, Path) else v for k, v in asdict(settings).items()},
            edge=edge_summary,
            server={"ready": ready, "stats": edge_summary["server_stats"]},
            started_utc=started,
            finished_utc=datetime.now(UTC).isoformat(),
        )
        with atomic_dir(out_dir) as tmp:
            for name in ("frames.csv", "faces.csv"):
                (work / name).rename(tmp / name)
            write_json(tmp / "run.json", meta)
    return meta
