"""Helpers the test modules share (the fixtures are in conftest.py): required features, a
subprocess killed with its whole process group, SVG text, and a fake pipeline served on a
loop of its own."""

from __future__ import annotations

import asyncio
import contextlib
import html
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from facebench.backends.base import Detections
from facebench.recognition.gallery import Gallery
from facebench.recognition.pipeline import FrameResult

# Features a test can need that a host may lack; FACEBENCH_REQUIRE lists those that must work.
FEATURES = ("slurm", "netns", "chromium")


def required() -> set[str]:
    """The features FACEBENCH_REQUIRE (comma-separated) lists: their absence fails the tests."""
    listed = {name.strip() for name in os.environ.get("FACEBENCH_REQUIRE", "").split(",")}
    listed.discard("")
    unknown = listed - set(FEATURES)
    if unknown:
        pytest.fail(f"FACEBENCH_REQUIRE: unknown {sorted(unknown)} (known: {', '.join(FEATURES)})")
    return listed


def require(feature: str, reason: str) -> None:
    """Fail when FACEBENCH_REQUIRE lists ``feature``, which this host lacks (``reason``); else
    return, so the caller checks what the workflow does without it."""
    if feature in required():
        pytest.fail(f"FACEBENCH_REQUIRE lists {feature}, but {reason}")


def require_or_skip(feature: str, reason: str) -> None:
    """Skip the calling test because this host lacks ``feature`` (``reason``); fail instead
    when FACEBENCH_REQUIRE lists it."""
    require(feature, reason)
    pytest.skip(reason)


def run_in_own_group(cmd: list[str], timeout_s: float) -> subprocess.CompletedProcess:
    """``cmd`` with its output captured, in a process group of its own: a timeout (or the
    test's own timeout or interruption) kills the whole group, so no job it started lives on."""
    process = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout_s)
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        raise
    return subprocess.CompletedProcess(cmd, process.returncode, stdout, stderr)


def svg_text(path: Path) -> str:
    """The text of an SVG figure: its text elements, unescaped, joined, whitespace collapsed."""
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", path.read_text())
    return " ".join(html.unescape(" ".join(texts)).split())


class SlowPipeline:
    """Finds no face in ``delay_s`` per frame: the server's behaviour, not a measurement."""

    def __init__(self, delay_s: float = 0.0) -> None:
        self.delay_s = delay_s
        self.gallery = Gallery(np.array(["someone"]), np.eye(1, 128, dtype=np.float32), 1.0)

    def process(self, rgb: np.ndarray) -> FrameResult:
        time.sleep(self.delay_s)
        none = Detections(
            np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros((0, 5, 2))
        )
        empty = np.array([])
        return FrameResult((0,) * 5, none, empty, empty, empty, np.zeros((0, 128)), {})

    def recognize(self, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Everyone is ``someone`` (the gallery's one embedding), at distance 0."""
        embeddings = np.repeat(self.gallery.embeddings, len(faces), axis=0)
        return np.array(["someone"] * len(faces)), np.zeros(len(faces)), embeddings


@contextlib.contextmanager
def on_loop(
    start: Callable[[], Awaitable[asyncio.Server]],
    stop: Callable[[], Awaitable[None]] | None = None,
) -> Iterator[int]:
    """The server ``start`` makes, on its own event loop in a thread; its port. On the way
    out: the listener closed, ``stop`` awaited, every task left cancelled."""
    loop = asyncio.new_event_loop()
    listener = loop.run_until_complete(start())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield listener.sockets[0].getsockname()[1]
    finally:

        async def shutdown() -> None:
            listener.close()
            if stop:
                await stop()
            tasks = asyncio.all_tasks() - {asyncio.current_task()}
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(shutdown(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
