"""The galleries the open-set analysis reads beside the aggregate: each recognizer's gallery
sidecar (``.json``: enrolled people, thresholds, leave-one-person-out rates) and its
leave-one-person-out curve (``<recognizer>_lopo.csv``)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from facebench.errors import FacebenchError


def read_galleries(paths: Iterable[Path]) -> dict[str, dict]:
    """Each gallery's ``.json`` by recognizer."""
    galleries = {}
    for path in paths:
        try:
            metadata = json.loads(Path(path).read_text())
            galleries[metadata["recognizer"]] = metadata
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise FacebenchError(f"{path}: not a facebench gallery sidecar ({error!r})") from error
    return galleries
