"""Which configured runs have no result in the aggregate, and why: ``skipped: <reason>`` (the
device's skipped.csv or the config's exclusions), ``failed: see <log>`` (a log but no run.json),
``rejected: <reason>`` (the aggregation left it out) or ``not run yet``."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from facebench.errors import FacebenchError
from facebench.workflow import run_log

COLUMNS = ["device", "detector", "recognizer", "video", "resolution", "repeat", "run", "reason"]


def run_key(path: str | Path) -> str:
    """``<device>/<detector>__<recognizer>/<video>_<res>/rep<r>`` of a run directory path."""
    return "/".join(Path(path).parts[-4:])


def _skipped_pairs(skipped_csv: Path) -> dict[tuple[str, str], str]:
    """(detector, recognizer) -> reason from a device's skipped.csv ({} when absent)."""
    if not skipped_csv.is_file():
        return {}
    try:
        table = pd.read_csv(skipped_csv, dtype=str, keep_default_na=False)
        return {(r.detector, r.recognizer): r.reason for r in table.itertuples()}
    except (ValueError, AttributeError) as error:
        raise FacebenchError(f"{skipped_csv}: not a detector,recognizer,reason table") from error


def missing_runs(
    configured: dict[str, list[str]],
    aggregated: Iterable[str | Path],
    rejected: pd.DataFrame,
    logs_dir: str,
    excluded: dict[str, list[tuple[str, str]]] | None = None,
) -> pd.DataFrame:
    """One row per run of ``configured`` ({device: its run directories,
    ``results/runs/<device>/...``}) that is not among ``aggregated`` (run directory paths),
    with its reason; rejected runs outside the configured ones (an extra repeat copied in) are
    listed too. ``rejected`` has columns run and reason; ``excluded`` holds the pairs the
    config excludes per device; run logs are ``<logs_dir>/<device>/.../rep<r>.log``."""
    done = {run_key(path) for path in aggregated}
    refused = {run_key(row.run): (row.run, row.reason) for row in rejected.itertuples()}
    rows = []
    for device, runs in configured.items():
        skipped: dict[tuple[str, str], str] = {}
        if runs:
            skipped = _skipped_pairs(Path(runs[0]).parents[2] / "skipped.csv")
        for pair in (excluded or {}).get(device, []):
            skipped.setdefault(tuple(pair), "excluded in the config")
        for run in runs:
            if (key := run_key(run)) in done:
                continue
            pair = tuple(Path(run).parts[-3].split("__", 1))
            log = run_log(logs_dir, key)
            if key in refused:
                reason = f"rejected: {refused.pop(key)[1]}"
            elif pair in skipped:
                reason = f"skipped: {skipped[pair]}"
            elif Path(log).is_file() and not (Path(run) / "run.json").is_file():
                reason = f"failed: see {log}"
            else:
                reason = "not run yet"
            rows.append(_row(run, reason))
    rows += [_row(run, f"rejected: {why}") for run, why in refused.values()]
    return pd.DataFrame(rows, columns=COLUMNS)


def _row(run: str, reason: str) -> dict:
    device, pair, inputs, repeat = Path(run).parts[-4:]
    detector, _, recognizer = pair.partition("__")
    video, _, resolution = inputs.rpartition("_")
    return {
        "device": device,
        "detector": detector,
        "recognizer": recognizer,
        "video": video,
        "resolution": resolution,
        "repeat": int(number) if (number := repeat.removeprefix("rep")).isdigit() else None,
        "run": str(run),
        "reason": reason,
    }
