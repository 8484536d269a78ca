"""The analysis as the workflow runs it, files in and files out: aggregate the runs, judge
each run's validity, compute the tables and the claims check (invalid runs left out), draw the
figures. Each output is written whole or not at all."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from facebench.analysis import figures, tables, validity
from facebench.analysis.accuracy import run_accuracy
from facebench.analysis.aggregate import (
    Rejected,
    collect_runs,
    kept_runs,
    load_groundtruth,
    read_runs,
    run_table,
    write_parquet,
)
from facebench.analysis.claims.check import check_claims
from facebench.analysis.outputs import write_csv, write_html
from facebench.analysis.paper import CLAIMS_YAML
from facebench.analysis.resampling import Resampling

REJECTED_CSV = "rejected.csv"  # beside the aggregate's parquet files: the runs left out
DEFAULTS = Resampling()  # the config's statistics defaults


@dataclass(frozen=True)
class Aggregate:
    """The aggregated data set: frames and faces (warm-up excluded) and one row per run;
    ``excluded``: the invalid runs left out (keys and reasons), None where validity was not
    applied."""

    frames: pd.DataFrame
    faces: pd.DataFrame
    runs: pd.DataFrame
    excluded: pd.DataFrame | None = None

    @classmethod
    def read(
        cls, directory: Path, validity_csv: Path | None = None, exclude_invalid: bool = True
    ) -> Aggregate:
        """``frames``, ``faces`` and ``runs`` parquet files of ``directory``; with
        ``validity_csv`` and ``exclude_invalid``, less the runs it marks invalid."""
        names = ("frames", "faces", "runs")
        data = cls(*(pd.read_parquet(Path(directory) / f"{name}.parquet") for name in names))
        if validity_csv is None or not exclude_invalid:
            return data
        return data.without(validity.invalid_runs(validity.read_validity(validity_csv)))

    @classmethod
    def of_rule(cls, snakemake: Any) -> Aggregate:
        """The aggregate a rule's ``input.aggregate`` names, less the runs its
        ``input.validity`` marks invalid when ``params.exclude_invalid`` says so."""
        return cls.read(
            Path(snakemake.input.aggregate[0]).parent,
            Path(snakemake.input.validity),
            snakemake.params.exclude_invalid,
        )

    def without(self, invalid: pd.DataFrame) -> Aggregate:
        """This data set less the runs of ``invalid`` (their keys and reasons), which must
        leave some."""
        parts = (self.frames, self.faces, self.runs)
        frames, faces, runs = (validity.drop_runs(part, invalid) for part in parts)
        validity.check_some_left(frames, invalid)
        return Aggregate(frames, faces, runs, invalid)


def aggregate(
    run_files: Iterable[Path], device_class: dict[str, str], groundtruth_dir: Path, out_dir: Path
) -> tuple[list[Path], list[Rejected]]:
    """The runs of ``run_files`` (their ``run.json``) into ``frames``, ``faces`` and ``runs``
    parquet files in ``out_dir``; a run that breaks its schemas (a bad tree copied in) is left
    out, printed to stderr as one line naming the file and listed in ``rejected.csv``."""
    rejected: list[Rejected] = []
    runs = read_runs(run_files, device_class, rejected)
    frames, faces = collect_runs(runs, groundtruth_dir, rejected)
    for bad in rejected:
        print(f"rejected: {bad.reason}", file=sys.stderr)
    paths = write_parquet(frames, faces, out_dir, run_table(kept_runs(runs, rejected)))
    table = pd.DataFrame(
        [(str(r.path), r.reason) for r in rejected], columns=["run", "reason"], dtype=str
    )
    return [*paths, write_csv(table, Path(out_dir) / REJECTED_CSV)], rejected


def build_tables(
    data: Aggregate,
    groundtruth_dir: Path,
    enrolled: frozenset[str],
    paper_table6: Path,
    paper_claims: Path = CLAIMS_YAML,
    resampling: Resampling = DEFAULTS,
) -> dict[str, pd.DataFrame]:
    """Every table of :data:`facebench.report_entries.TABLES`: Table 6 (invalid runs excluded per
    configuration) and per resolution (means with bootstrap intervals, percentiles stated with
    enough frames, n; ``resampling``: from the config's ``statistics``), accuracy per
    configuration and per run (``enrolled``: the people in the gallery), energy per frame and
    the paper's ratios beside ours."""
    inputs = data.frames[["video", "resolution"]].drop_duplicates()
    truth = load_groundtruth(groundtruth_dir, inputs)
    per_run = run_accuracy(data.frames, data.faces, truth, enrolled)
    table6 = tables.table6(data.frames, data.runs, resampling.confidence)
    per_resolution = tables.per_resolution_table(data.frames, resampling.confidence)
    return {
        "table6": validity.with_excluded_counts(
            tables.with_intervals(table6, data.frames, tables.CONFIG, resampling), data.excluded
        ),
        "per_resolution": tables.with_intervals(
            per_resolution, data.frames, [*tables.CONFIG, "resolution"], resampling
        ),
        "accuracy": tables.accuracy_table(per_run),
        "accuracy_per_run": per_run,
        "energy": tables.energy_table(data.frames, data.runs),
        "paper_vs_ours": tables.paper_vs_ours(paper_table6, table6, per_resolution, paper_claims),
    }


def claims(
    data: Aggregate,
    paper_table6: Path,
    paper_claims: Path = CLAIMS_YAML,
    resampling: Resampling | None = None,
    generated_videos: frozenset[str] = frozenset(),
) -> pd.DataFrame:
    """The paper's 12 claims (``paper_claims``: its numbers and prose) checked on ``data``, with
    intervals drawn by ``resampling`` (None: values taken as exact); ``generated_videos``: the
    videos whose content the generator set."""
    return check_claims(
        data.frames, data.runs, paper_table6, paper_claims, resampling, generated_videos
    )


def check_validity(
    data: Aggregate, parity_csv: Path | None, settings: dict, out_csv: Path, out_html: Path
) -> pd.DataFrame:
    """Every run of ``data`` judged by the validity rules (``settings``: the config's
    ``validity``; ``parity_csv``: results/parity/parity.csv, None or absent: not checked),
    written to ``out_csv`` and, after a per-rule summary, ``out_html``."""
    parity = pd.read_csv(parity_csv) if parity_csv and Path(parity_csv).is_file() else None
    table = validity.check_runs(data.frames, data.runs, parity, settings)
    write_csv(table, out_csv)
    title = validity.headline(table, settings["exclude_invalid"])
    write_html(table, out_html, title, before=validity.summary(table, settings))
    return table


def draw_figures(
    data: Aggregate,
    out_dir: Path,
    accuracy_csv: Path,
    comparison_csv: Path,
    pair: tuple[str, str] | None,
) -> list[Path]:
    """Every figure (SVG) into ``out_dir``; ``pair`` is two devices for figures 12 and 14."""
    return figures.all_figures(
        data.frames,
        out_dir,
        data.runs,
        pd.read_csv(accuracy_csv),
        pd.read_csv(comparison_csv),
        figures.Pair("device", *pair) if pair else None,
    )


def analyse(
    run_files: Iterable[Path],
    device_class: dict[str, str],
    groundtruth_dir: Path,
    enrolled: frozenset[str],
    paper_table6: Path,
    pair: tuple[str, str] | None,
    out_dir: Path,
    paper_claims: Path = CLAIMS_YAML,
    validity_settings: dict | None = None,
    parity_csv: Path | None = None,
    resampling: Resampling | None = None,
    generated_videos: frozenset[str] = frozenset(),
) -> dict[str, float]:
    """Every stage, as the workflow runs them, into ``out_dir`` (``aggregate/``,
    ``validity.csv`` given ``validity_settings``, the config's ``validity``, ``tables/``,
    ``claims.csv`` with ``resampling``'s intervals, ``figures/``); seconds per stage."""
    out_dir = Path(out_dir)
    seconds: dict[str, float] = {}

    def timed(name: str, step: Callable[[], Any]) -> Any:
        start = time.perf_counter()
        result = step()
        seconds[name] = time.perf_counter() - start
        return result

    aggregate_dir, tables_dir = out_dir / "aggregate", out_dir / "tables"
    timed("aggregate", lambda: aggregate(run_files, device_class, groundtruth_dir, aggregate_dir))
    data = timed("read parquet", lambda: Aggregate.read(aggregate_dir))
    if validity_settings is not None:
        checked = timed(
            "validity",
            lambda: check_validity(
                data,
                parity_csv,
                validity_settings,
                out_dir / "validity.csv",
                out_dir / "validity.html",
            ),
        )
        if validity_settings["exclude_invalid"]:
            data = data.without(validity.invalid_runs(checked))
    built = timed(
        "tables", lambda: build_tables(data, groundtruth_dir, enrolled, paper_table6, paper_claims)
    )
    for name, table in built.items():
        write_csv(table, tables_dir / f"{name}.csv")
    timed(
        "claims",
        lambda: write_csv(
            claims(data, paper_table6, paper_claims, resampling, generated_videos),
            out_dir / "claims.csv",
        ),
    )
    accuracy_csv, comparison_csv = tables_dir / "accuracy.csv", tables_dir / "paper_vs_ours.csv"
    timed(
        "figures",
        lambda: draw_figures(data, out_dir / "figures", accuracy_csv, comparison_csv, pair),
    )
    return seconds
