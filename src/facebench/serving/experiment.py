"""One server configuration under load: the recognition server on loopback with a batching
setting, and the load generator's camera sweep and peak search against it.

``run_serving`` starts ``facebench.remote.server`` (``--max-batch``, ``--max-queue-delay-ms``,
or the no-op model that measures the harness itself) on 127.0.0.1, waits for it to be ready,
runs ``facebench.serving.load`` for the camera counts and the Poisson peak search, stops the
server (also on failure) and writes the load generator's tables plus ``run.json`` into the
output directory in one rename.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from facebench.errors import FacebenchError
from facebench.fileio import atomic_dir, write_json
from facebench.harness.benchmark_run import model_files
from facebench.harness.run_metadata import collect_run_metadata
from facebench.strategies.experiment import wait_ready
from facebench.strategies.links import stop_process

HOST = "127.0.0.1"  # the server never listens beyond loopback
LOAD_SLACK_S = 600.0
OUTPUTS = ("requests.parquet", "faces.parquet", "points.json")


@dataclass(frozen=True)
class ServingSettings:
    """What one server-under-load run measures (recorded in run.json)."""

    models_dir: Path
    gallery: Path
    detector: str
    recognizer: str
    strategy: str = "hybrid"
    cameras: tuple[int, ...] = (1, 2, 4, 8, 16)
    duration_s: float = 3.0
    warmup_s: float = 0.5
    p99_bound_ms: float = 500.0
    peak_iterations: int = 5
    queue_size: int = 64
    reidentify_s: float = 0.25
    jpeg_quality: int = 90
    alignment: str = "crop"


def _module(name: str) -> list[str]:
    return [sys.executable, "-m", f"facebench.{name}"]


def server_argv(settings: ServingSettings, max_batch: int, delay_ms: float, noop: bool) -> list:
    """The server's command line: a free loopback port, the batching setting, the model."""
    argv = [*_module("remote.server"), "--host", HOST, "--port", "0"]
    argv += ["--max-batch", str(max_batch), "--max-queue-delay-ms", str(delay_ms)]
    argv += ["--queue-size", str(settings.queue_size), "--threads", str(os.cpu_count() or 1)]
    if noop:
        return [*argv, "--model", "noop"]
    return [
        *argv,
        *("--models-dir", str(settings.models_dir), "--gallery", str(settings.gallery)),
        *("--detector", settings.detector, "--recognizer", settings.recognizer),
        *("--alignment", settings.alignment),
    ]


def load_argv(settings: ServingSettings, video: Path, port: int, out: Path) -> list[str]:
    """The load generator's command line: the camera sweep, then the peak search."""
    return [
        *_module("serving.load"),
        *("--host", HOST, "--port", str(port), "--video", str(video)),
        *("--strategy", settings.strategy, "--models-dir", str(settings.models_dir)),
        *("--gallery", str(settings.gallery), "--detector", settings.detector),
        *("--recognizer", settings.recognizer, "--alignment", settings.alignment),
        *("--reidentify-s", str(settings.reidentify_s)),
        *("--jpeg-quality", str(settings.jpeg_quality)),
        *("--duration-s", str(settings.duration_s), "--warmup-s", str(settings.warmup_s)),
        *("--cameras", *map(str, settings.cameras)),
        *("--poisson-peak", "--p99-bound-ms", str(settings.p99_bound_ms)),
        *("--iterations", str(settings.peak_iterations), "--out", str(out)),
    ]


def run_serving(
    settings: ServingSettings,
    video: Path,
    video_name: str,
    resolution: str,
    max_batch: int,
    delay_ms: float,
    out_dir: Path,
    noop: bool = False,
) -> dict:
    """Serve, load, write; returns run.json's content."""
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    started = datetime.now(UTC).isoformat()
    with tempfile.TemporaryDirectory(dir=out_dir.parent, prefix=f".{out_dir.name}.work-") as work:
        work = Path(work)
        server_log = work / "server.log"
        with server_log.open("w") as log:
            server = subprocess.Popen(
                server_argv(settings, max_batch, delay_ms, noop),
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
            )
        try:
            ready = wait_ready(server, server_log)
            load = subprocess.run(
                load_argv(settings, video, ready["port"], work),
                capture_output=True,
                text=True,
                timeout=LOAD_SLACK_S + len(settings.cameras) * settings.duration_s * 2,
            )
        except subprocess.TimeoutExpired as error:
            raise FacebenchError("the load generator timed out") from error
        finally:
            stop_process(server)
            print(f"--- server.log\n{server_log.read_text(errors='replace')}", file=sys.stderr)
        print(f"--- load generator\n{load.stderr}", file=sys.stderr)
        if load.returncode != 0:
            last = (load.stderr.strip().splitlines() or ["no output"])[-1]
            raise FacebenchError(f"serving max_batch {max_batch}, {delay_ms} ms: {last}")
        meta = collect_run_metadata(
            {}
            if noop
            else model_files(
                settings.models_dir, settings.detector, settings.recognizer, settings.gallery
            )
        )
        meta.update(
            model="no-op (harness check: no network runs)" if noop else settings.recognizer,
            max_batch=max_batch,
            max_queue_delay_ms=delay_ms,
            video=video_name,
            resolution=resolution,
            settings={k: str(v) if isinstance(v, Path) else v for k, v in asdict(settings).items()},
            server_ready=ready,
            points=json.loads((work / "points.json").read_text()),
            started_utc=started,
            finished_utc=datetime.now(UTC).isoformat(),
        )
        with atomic_dir(out_dir) as tmp:
            for name in OUTPUTS:
                (work / name).rename(tmp / name)
            write_json(tmp / "run.json", meta)
    return meta
