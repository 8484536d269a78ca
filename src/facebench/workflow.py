"""What the workflow and its scripts share: where a run's files go, and logging to the rule's
log file with failures as one clear line."""

from __future__ import annotations

import contextlib
import os
import sys
import traceback
from collections.abc import Iterable, Iterator

from facebench.errors import FacebenchError


@contextlib.contextmanager
def _fds_to(path: str) -> Iterator[None]:
    """Point file descriptors 1 and 2 at ``path`` (so C++ libraries' output lands there too)."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    with open(path, "w") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)


@contextlib.contextmanager
def rule_logging(snakemake) -> Iterator[None]:
    """Send all output to the rule's log; on error log it and exit 1 with one line on stderr."""
    try:
        with _fds_to(snakemake.log[0]):
            try:
                yield
            except FacebenchError:
                raise
            except Exception:
                traceback.print_exc()
                raise
    except FacebenchError as error:
        with open(snakemake.log[0], "a") as log:
            print(f"error: {error}", file=log)
        print(f"error: {error}", file=sys.stderr, flush=True)
        sys.exit(1)


RUN_DIR = "{device}/{detector}__{recognizer}/{video}_{res}/rep{repeat}"


def run_dirs(
    device: str,
    pairs: Iterable[tuple[str, str]],
    videos: Iterable[str],
    resolutions: Iterable[str],
    repeats: int,
) -> list[str]:
    """The run directories of ``device`` under results/runs: ``pairs`` (detector, recognizer)
    x ``videos`` x ``resolutions`` x repeats 1..``repeats``. The workflow's run outputs and the
    missing-runs list both come from here."""
    videos, resolutions = list(videos), list(resolutions)
    return [
        RUN_DIR.format(
            device=device,
            detector=detector,
            recognizer=recognizer,
            video=video,
            res=res,
            repeat=repeat,
        )
        for detector, recognizer in pairs
        for video in videos
        for res in resolutions
        for repeat in range(1, repeats + 1)
    ]


def run_log(logs_dir: str, run_dir: str) -> str:
    """The log of run ``run_dir`` (``logs/runs/<run_dir>.log``, as rule run_inference has it)."""
    return f"{logs_dir}/{run_dir}.log"
