"""The settings every strategy run of a configuration shares (light: the Snakefile imports it)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class StrategySettings:
    """What every strategy run of a configuration shares (recorded in run.json)."""

    models_dir: Path
    gallery: Path
    detector: str
    recognizer: str
    duration_s: float
    warmup_frames: int = 5
    jpeg_quality: int = 90
    max_inflight: int = 2
    reidentify_s: float = 1.0
    edge_cpus: int = 1
    alignment: str = "crop"


SETTING_KEYS = (
    "detector",
    "recognizer",
    "duration_s",
    "warmup_frames",
    "jpeg_quality",
    "max_inflight",
    "reidentify_s",
    "edge_cpus",
)


def settings_params(strategies: dict, alignment: str) -> dict:
    """The per-run settings in a config's ``strategies`` section (the rule's params: other
    keys can change without rerunning a finished run)."""
    return {**{key: strategies[key] for key in SETTING_KEYS}, "alignment": alignment}
