"""The open-set analysis as the workflow runs it: aggregate and galleries in; tables (CSV and
HTML) and figures out, each written whole or not at all."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from facebench.analysis import openset, openset_figures
from facebench.analysis.aggregate import load_groundtruth
from facebench.analysis.outputs import write_csv, write_html
from facebench.analysis.stages import Aggregate

NO_TRUTH = "no run has ground truth"


def write_openset_outputs(
    aggregate_dir: Path, groundtruth_dir: Path, gallery_jsons: list[Path], out_dir: Path
) -> list[Path]:
    """``thresholds``, ``openset`` and ``distances`` tables and four figures into ``out_dir``."""
    out_dir = Path(out_dir)
    galleries = openset.read_galleries(gallery_jsons)
    enrolled = frozenset(next(iter(galleries.values()))["enrolled_people"])
    data = Aggregate.read(aggregate_dir)
    truth = load_groundtruth(
        groundtruth_dir, data.frames[["video", "resolution"]].drop_duplicates()
    )
    thresholds = openset.threshold_table(galleries)
    rates = openset.openset_table(data.frames, data.faces, truth, enrolled, galleries)
    distances = openset.matched_distances(data.frames, data.faces, truth, enrolled)
    curves = {
        recognizer: pd.read_csv(Path(path).with_name(f"{recognizer}_lopo.csv"))
        for recognizer, path in zip(galleries, gallery_jsons, strict=True)
    }
    written = []
    for name, table in (
        ("thresholds", thresholds),
        ("openset", rates),
        ("distances", openset.distance_summary(distances)),
    ):
        written += [
            write_csv(table, out_dir / f"{name}.csv"),
            write_html(table, out_dir / f"{name}.html", name.replace("_", " ")),
        ]
    return [
        *written,
        openset_figures.det_figure(curves, thresholds, out_dir / "det.svg"),
        openset_figures.distances_figure(
            distances, thresholds, out_dir / "distances.svg", NO_TRUTH
        ),
        openset_figures.rates_figure(rates, out_dir / "rates.svg", NO_TRUTH),
        openset_figures.min_face_figure(
            rates, _chosen_method(galleries), out_dir / "min_face.svg", NO_TRUTH
        ),
    ]


def _chosen_method(galleries: dict[str, dict]) -> str:
    """The threshold method the galleries were enrolled with (the config's)."""
    return next(iter(galleries.values()))["threshold_method"]
