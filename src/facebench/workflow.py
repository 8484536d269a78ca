"""What every workflow script shares: log to the rule's log file, fail with one clear line."""

from __future__ import annotations

import contextlib
import os
import sys
import traceback
from collections.abc import Iterator

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
