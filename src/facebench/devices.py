"""A device entry of the workflow config (runs.devices.<name>): its class as outputs show it,
how it is reached, and which of its configured pairs its probed capabilities allow.

Light on purpose (no framework import): the workflow's common.smk imports it at DAG time."""

from __future__ import annotations

import json
from pathlib import Path

from facebench.errors import FacebenchError

REACH_KINDS = ("local", "slurm", "ssh")
CAPABILITIES_FILE = "capabilities.json"


def class_label(spec: dict) -> str:
    """``edge``/``cloud``, or ``emulated edge``/``emulated cloud``/``emulated`` for a device that
    stands for a class on a host that is not of it: never counted as a real edge or cloud."""
    if spec["class"] != "emulated":
        return spec["class"]
    return " ".join(filter(None, ("emulated", spec.get("emulates"))))


def reach_kind(spec: dict) -> str:
    """How the device is reached: ``local`` (default), ``slurm`` or ``ssh``."""
    reach = spec.get("reach") or {"local": {}}
    (kind,) = reach
    return kind


def reach_settings(spec: dict) -> dict:
    """The settings of the device's reach (``{}`` for local)."""
    return (spec.get("reach") or {"local": {}})[reach_kind(spec)] or {}


def capabilities_path(runs_dir: Path, device: str) -> Path:
    return Path(runs_dir) / device / CAPABILITIES_FILE


def read_capabilities(path: Path) -> dict:
    """A capabilities.json written by ``facebench probe``, schema-checked."""
    from facebench.schemas import validate_document

    try:
        capabilities = json.loads(Path(path).read_text())
    except (OSError, ValueError) as error:
        raise FacebenchError(f"{path}: cannot read the device's capabilities: {error}") from error
    validate_document(capabilities, "capabilities", str(path))
    return capabilities


def pair_reason(capabilities: dict, detector: str, recognizer: str) -> str | None:
    """None when the probed device can run ``detector``/``recognizer``, else why not (the
    format of the workflow's run matrix: ``detector X: reason; recognizer Y: reason``)."""
    rows = {(row["role"], row["backend"]): row for row in capabilities["backends"]}
    reasons = []
    for role, name in (("detector", detector), ("recognizer", recognizer)):
        row = rows.get((role, name))
        if row is None:
            reasons.append(f"{role} {name}: not in the probe's backend list")
        elif not row["available"]:
            reasons.append(f"{role} {name}: {row['reason']}")
    return "; ".join(reasons) or None


def pair_error(device: str, detector: str, recognizer: str, reason: str) -> str:
    """The one line a run of an impossible pair fails with."""
    return (
        f"{device}: {detector}/{recognizer} cannot run here: {reason}; "
        "rerun snakemake to list it in skipped.csv"
    )
