"""Runs you can trust: the rules a reviewer applies to each benchmark run, judged on the
aggregate (its measured frames and its runs table, which carries the host conditions each run
recorded) and the backend parity table. Each rule is ``pass``, ``fail`` or ``not checked``
(its quantity was not measured) with the measured value beside it; a run is valid when no rule
fails. Invalid runs are kept on disk and can be left out of the tables and figures."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from facebench.analysis.aggregate import CONFIG_COLUMNS, RUN_KEYS
from facebench.errors import FacebenchError
from facebench.sensors.conditions import condition_columns

PASS, FAIL, NOT_CHECKED = "pass", "fail", "not checked"
INPUT_KEYS = list(RUN_KEYS[:-1])  # a run's configuration and input: its repeats share them
PARITY_STATUS = {"pass": PASS, "reference": PASS, "fail": FAIL}  # others: not checked
CONDITIONS = (
    "cpu_freq_min_mhz",
    "cpu_freq_median_mhz",
    "cpu_freq_max_mhz",
    "other_cpu_percent",
    "cpu_temp_max_c",
    "nvpmodel",
    "jetson_clocks",
)


@dataclass(frozen=True)
class Rule:
    """A threshold on one measured value: ``name`` is the status column, ``value`` the value
    column beside it, ``limit`` the setting (or a number) it must reach (``minimum``) or not
    exceed; ``reason`` says why a run fails (formatted with ``value`` and ``limit``) and
    ``unchecked`` why a value can be missing (a runs-table ``sensor_*`` column, or words)."""

    name: str
    value: str
    limit: str | float
    minimum: bool
    reason: str
    unchecked: str = ""

    def threshold(self, settings: dict) -> float:
        """The limit, from ``settings`` (the config's ``validity``) when it names a setting."""
        return settings[self.limit] if isinstance(self.limit, str) else self.limit


RULES = (
    Rule("enough_frames", "n_frames", "min_frames", True, "too few frames: {value:.0f} < {limit}"),
    Rule(
        "enough_seconds",
        "measured_s",
        "min_seconds",
        True,
        "too short: {value:.3g} s measured < {limit} s",
    ),
    Rule("warmup_excluded", "n_warmup_frames", 1, True, "no warm-up frame excluded"),
    Rule(
        "stable_times",
        "t_total_cov",
        "max_cov",
        False,
        "unstable: coefficient of variation of t_total_s {value:.2f} > {limit}",
        "fewer than two measured frames",
    ),
    Rule(
        "no_freq_drop",
        "cpu_freq_drop",
        "max_freq_drop",
        False,
        "CPU clock drop: its minimum {value:.0%} below its median (> {limit:.0%})",
        "sensor_cpu_freq_mhz",
    ),
    Rule(
        "host_quiet",
        "other_cpu_percent_max",
        "max_other_cpu_percent",
        False,
        "host busy: other processes used {value:.0f} % of the CPUs (> {limit} %)",
        "sensor_other_cpu_percent",
    ),
    Rule(
        "repeat_typical",
        "repeat_p50_deviation",
        "max_repeat_p50_deviation",
        False,
        "outlying repeat: its p50 frame time {value:.1%} off its repeats' median (> {limit:.0%})",
        "fewer than two repeats with measured frames",
    ),
)
PARITY_RULE = "parity_passed"
RULE_COLUMNS = [(r.name, r.value) for r in RULES] + [(PARITY_RULE, "parity")]  # status, value


def _keyed(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with its run keys as plain strings and an integer repeat."""
    return table.astype({**{k: str for k in CONFIG_COLUMNS if k in table}, "repeat": int})


def run_index(table: pd.DataFrame) -> pd.MultiIndex:
    """The run keys (device ... repeat) of each row of ``table``."""
    return pd.MultiIndex.from_frame(_keyed(table[list(RUN_KEYS)]))


def frame_stats(frames: pd.DataFrame) -> pd.DataFrame:
    """Per run: measured frames, their summed ``t_total_s``, its coefficient of variation and
    median (the aggregate's frames are the measured ones)."""
    grouped = frames.groupby(list(RUN_KEYS), observed=True)["t_total_s"]
    stats = pd.DataFrame(
        {
            "n_frames": grouped.size(),
            "measured_s": grouped.sum(),
            "t_total_cov": grouped.std() / grouped.mean(),
            "p50_s": grouped.median(),
        }
    )
    return _keyed(stats.reset_index())


def repeat_deviation(p50_s: pd.Series, inputs: pd.DataFrame) -> pd.Series:
    """|p50 - median| / median of each row's p50 frame time against the median over the
    repeats sharing its ``inputs`` (configuration and input), so only an outlying repeat stands
    out (two repeats: half their spread each); NaN with fewer than two."""
    grouped = p50_s.groupby([inputs[k] for k in INPUT_KEYS])
    median = grouped.transform("median")
    return ((p50_s - median).abs() / median).where(grouped.transform("count") > 1)


def parity_checks(table: pd.DataFrame, parity: pd.DataFrame | None) -> pd.DataFrame:
    """Per run, ``parity_passed`` from parity.csv's rows of its detector (model mtcnn) and
    recognizer (facenet): fail if either failed, pass if both passed (the TF reference passes
    by definition), else not checked; ``parity`` shows both rows' status and ``parity_reason``
    the failures' reasons."""
    rows = {} if parity is None else {(r.model, r.backend): r for r in parity.itertuples()}
    out = []
    for detector, recognizer in zip(table["detector"], table["recognizer"], strict=True):
        found = [
            (f"{m}/{b}", rows.get((m, b)))
            for m, b in (("mtcnn", detector), ("facenet", recognizer))
        ]
        statuses = [
            PARITY_STATUS.get(row.status, NOT_CHECKED) if row else NOT_CHECKED for _, row in found
        ]
        status = FAIL if FAIL in statuses else PASS if set(statuses) == {PASS} else NOT_CHECKED
        shown = [f"{name}: {row.status if row else 'no parity row'}" for name, row in found]
        failed = [
            f"{name} ({row.reason})"
            for (name, row), s in zip(found, statuses, strict=True)
            if s == FAIL
        ]
        out.append((status, "; ".join(shown), "parity failed: " + ", ".join(failed)))
    return pd.DataFrame(out, columns=[PARITY_RULE, "parity", "parity_reason"], index=table.index)


def check_runs(
    frames: pd.DataFrame, runs: pd.DataFrame, parity: pd.DataFrame | None, settings: dict
) -> pd.DataFrame:
    """One row per run of ``runs`` (the aggregate's runs table) with every rule's status and
    measured value, ``valid`` and ``reasons``; ``frames`` are the aggregate's measured frames,
    ``parity`` parity.csv (None: rule not checked), ``settings`` the config's ``validity``."""
    if missing := [c for c in ("n_warmup_frames", *condition_columns(None)) if c not in runs]:
        raise FacebenchError(
            f"the runs table has no {', '.join(missing)}: it was aggregated by an older "
            "facebench; aggregate the runs again (snakemake -R aggregate_runs)"
        )
    table = _keyed(runs).merge(frame_stats(frames), on=list(RUN_KEYS), how="left")
    table[["n_frames", "measured_s"]] = table[["n_frames", "measured_s"]].fillna(0)
    table["cpu_freq_drop"] = 1 - table["cpu_freq_min_mhz"] / table["cpu_freq_median_mhz"]
    table["repeat_p50_deviation"] = repeat_deviation(table["p50_s"], table)
    table = table.join(parity_checks(table, parity))
    reasons = pd.Series([[] for _ in range(len(table))], index=table.index)
    notes = pd.Series([[] for _ in range(len(table))], index=table.index)
    for rule in RULES:
        value = table[rule.value].astype(float)
        limit = rule.threshold(settings)
        fails = value < limit if rule.minimum else value > limit
        table[rule.name] = np.where(value.isna(), NOT_CHECKED, np.where(fails, FAIL, PASS))
        for i in table.index[fails]:
            reasons[i].append(rule.reason.format(value=value[i], limit=limit))
        why = table.get(rule.unchecked, pd.Series(rule.unchecked, index=table.index))
        for i in table.index[value.isna()]:
            notes[i].append(f"{rule.name}: {why[i]}")
    for i in table.index[table[PARITY_RULE] == FAIL]:
        reasons[i].append(table.at[i, "parity_reason"])
    for i in table.index[table[PARITY_RULE] == NOT_CHECKED]:
        notes[i].append(f"{PARITY_RULE}: {table.at[i, 'parity']}")
    statuses = [name for name, _ in RULE_COLUMNS]
    table["valid"] = ~(table[statuses] == FAIL).any(axis=1)
    table["reasons"], table["notes"] = reasons.str.join("; "), notes.str.join("; ")
    rules = [column for pair in RULE_COLUMNS for column in pair]
    return table[
        [*CONFIG_COLUMNS, "path", "valid", "reasons", *rules, *CONDITIONS, "notes"]
    ].rename(columns={"path": "run"})


def summary(validity: pd.DataFrame, settings: dict) -> pd.DataFrame:
    """Per rule: its threshold and how many runs pass, fail or were not checked."""
    thresholds = {
        r.name: f"{r.value} {'>=' if r.minimum else '<='} {r.threshold(settings)}" for r in RULES
    } | {PARITY_RULE: "the detector's and recognizer's rows of results/parity/parity.csv pass"}
    return pd.DataFrame(
        [
            {"rule": name, "threshold": thresholds[name]}
            | {s: int((validity[name] == s).sum()) for s in (PASS, FAIL, NOT_CHECKED)}
            for name, _ in RULE_COLUMNS
        ]
    )


def headline(validity: pd.DataFrame, exclude_invalid: bool) -> str:
    """One line: how many runs are invalid and whether they are left out."""
    invalid = int((~validity["valid"]).sum())
    fate = (
        "left out of Table 6, the per-resolution, accuracy and energy tables, the claims and "
        "the figures"
        if exclude_invalid
        else "kept in every table and figure (validity.exclude_invalid: false)"
    )
    return f"Run validity: {invalid} of {len(validity)} runs fail a rule; invalid runs are {fate}"


def read_validity(path: Path) -> pd.DataFrame:
    """The run keys, ``valid`` and ``reasons`` of validity.csv at ``path``."""
    return pd.read_csv(
        path,
        usecols=[*CONFIG_COLUMNS, "valid", "reasons"],
        dtype={k: str for k in CONFIG_COLUMNS} | {"repeat": int, "valid": bool, "reasons": str},
        keep_default_na=False,
    )


def invalid_runs(validity: pd.DataFrame) -> pd.DataFrame:
    """The keys and reasons of the runs ``validity`` marks invalid."""
    return validity.loc[~validity["valid"], [*CONFIG_COLUMNS, "reasons"]].reset_index(drop=True)


def drop_runs(table: pd.DataFrame, runs: pd.DataFrame) -> pd.DataFrame:
    """``table`` without the rows of ``runs`` (matched on the run keys); categories left
    empty are dropped, so no table or figure shows a configuration with no run."""
    kept = table[~run_index(table).isin(run_index(runs))]
    categorical = [c for c in kept if isinstance(kept[c].dtype, pd.CategoricalDtype)]
    return kept.assign(**{c: kept[c].cat.remove_unused_categories() for c in categorical})


def check_some_left(frames: pd.DataFrame, excluded: pd.DataFrame) -> None:
    """Raise when excluding invalid runs left no frame, naming the commonest reasons."""
    if len(frames):
        return
    reasons = excluded["reasons"].str.split("; ").explode().str.split(":").str[0]
    top = ", ".join(f"{n} x {r}" for r, n in reasons.value_counts().head(3).items())
    raise FacebenchError(
        f"every run is invalid ({top}; see validity.csv): rerun them, or set "
        "validity.exclude_invalid: false to tabulate them anyway"
    )


def with_excluded_counts(table6: pd.DataFrame, excluded: pd.DataFrame | None) -> pd.DataFrame:
    """Table 6 with ``n_invalid_runs_excluded`` per configuration, and a row (no statistics,
    ``n_*`` counts 0) for each configuration whose runs were all excluded."""
    config = [c for c in CONFIG_COLUMNS if c in table6]
    if excluded is None or excluded.empty:
        return table6.assign(n_invalid_runs_excluded=0)
    counts = excluded.groupby(config).size().rename("n_invalid_runs_excluded")
    index = pd.MultiIndex.from_frame(table6[config].astype(str))
    missing = counts[~counts.index.isin(index)]
    table = table6.assign(n_invalid_runs_excluded=counts.reindex(index, fill_value=0).to_numpy())
    if missing.empty:
        return table
    gone = missing.reset_index()
    table = pd.concat([table.astype({c: str for c in config}), gone], ignore_index=True)
    counts_columns = [c for c in table6 if c.startswith("n_")]
    return table.fillna({c: 0 for c in counts_columns}).astype(
        {c: table6[c].dtype for c in counts_columns if table6[c].dtype.kind in "iu"}
    )
