"""The fast preset against the default pipeline (the baseline) on the inputs both ran: speed,
detection and identification against the ground truth, and the preset's boxes matched one to
one with the baseline's, frame by frame.

FPS of an input is its measured frames over their summed times (``t_total_s``) per repeat, the
mean over the repeats; over the inputs, the mean of the inputs' FPS, as the paper's Table 6.
Rates are pooled over the inputs from summed counts. Boxes are compared on the first repeat of
each side, on the frames both measured: paired to maximise the IoU of pairs at >= MATCH_IOU,
the others unmatched. Accuracy is held when no rate falls by more than ``max_accuracy_drop``
(``accuracy_held``; a rate that rises, e.g. recall with more faces found, is shown, not held
against the preset) and the boxes agree when their mean IoU is at least ``min_box_iou``
(``boxes_same``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from facebench.analysis.accuracy import COUNT_COLUMNS, add_rates, corners, run_accuracy
from facebench.analysis.aggregate import RUN_KEYS, load_groundtruth, resolution_order
from facebench.analysis.fast.figures import comparison_figure
from facebench.analysis.fast.reader import (
    COMPARISON_COLUMNS,
    KEYS,
    PAIR,
    POOLED,
    RATES,
    SIDES,
    config_label,
    paper_fps,
    select,
)
from facebench.analysis.outputs import write_csv, write_html
from facebench.analysis.plotting import figure, not_measured
from facebench.analysis.stages import Aggregate
from facebench.analysis.tables import INPUT
from facebench.errors import FacebenchError
from facebench.recognition.boxes import MATCH_IOU, box_overlaps


def input_speed(frames: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Per ``by`` group (one configuration's input): ``fps`` (frames over their summed times per
    repeat, the mean over repeats), ``faces_per_frame`` and ``n_frames`` (measured)."""
    per_repeat = frames.groupby([*by, "repeat"])["t_total_s"].agg(["size", "sum"])
    grouped = frames.groupby(by)
    return pd.DataFrame(
        {
            "fps": (per_repeat["size"] / per_repeat["sum"]).groupby(level=by).mean(),
            "faces_per_frame": grouped["n_faces"].mean(),
            "n_frames": grouped.size(),
        }
    )


def input_counts(
    frames: pd.DataFrame,
    faces: pd.DataFrame,
    truth: pd.DataFrame,
    enrolled: frozenset[str],
    by: list[str],
) -> pd.DataFrame:
    """The accuracy counts (COUNT_COLUMNS) of each ``by`` group, summed over its repeats."""
    runs = run_accuracy(frames, faces, truth, enrolled, keys=RUN_KEYS)
    return runs.groupby(by)[list(COUNT_COLUMNS)].sum()


def _side(
    frames: pd.DataFrame,
    faces: pd.DataFrame,
    truth: pd.DataFrame,
    enrolled: frozenset[str],
    by: list[str],
    side: str,
) -> pd.DataFrame:
    """Speed and accuracy counts per ``by`` group of one side, columns suffixed ``_<side>``."""
    speed = input_speed(frames, by)
    counts = input_counts(frames, faces, truth, enrolled, by)
    return speed.join(counts).add_suffix(f"_{side}").reset_index()


def matched_ious(baseline: np.ndarray, preset: np.ndarray) -> np.ndarray:
    """IoU of one frame's boxes (x1, y1, x2, y2) paired one to one: the pairs at >= MATCH_IOU,
    chosen to maximise their summed IoU."""
    iou = box_overlaps(baseline, preset, "union")
    iou[iou < MATCH_IOU] = 0
    rows, columns = linear_sum_assignment(iou, maximize=True)
    found = iou[rows, columns]
    return found[found > 0]


def _first_repeat(frames: pd.DataFrame, faces: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame]:
    """The measured frame indices of the first repeat of one input's runs, and its faces."""
    first = frames["repeat"].min()
    measured = frames.loc[frames["repeat"] == first, "frame"].to_numpy()
    return measured, faces[faces["repeat"] == first]


def _boxes_by_frame(faces: pd.DataFrame, kept: np.ndarray) -> dict[int, np.ndarray]:
    """x1, y1, x2, y2 boxes of each frame of ``kept`` that has faces."""
    faces = faces[faces["frame"].isin(kept)]
    boxes = corners(faces, np.arange(len(faces)))
    return {frame: boxes[rows] for frame, rows in faces.groupby("frame").indices.items()}


def box_agreement(
    baseline: tuple[pd.DataFrame, pd.DataFrame], preset: tuple[pd.DataFrame, pd.DataFrame]
) -> tuple[np.ndarray, int, int]:
    """The matched boxes' IoUs and the baseline's and preset's unmatched boxes on one input,
    from (frames, faces) of each side: first repeats, frames both measured."""
    base_frames, base_faces = _first_repeat(*baseline)
    fast_frames, fast_faces = _first_repeat(*preset)
    shared = np.intersect1d(base_frames, fast_frames)
    base, fast = _boxes_by_frame(base_faces, shared), _boxes_by_frame(fast_faces, shared)
    ious = np.concatenate(
        [np.empty(0), *(matched_ious(base[f], fast[f]) for f in base.keys() & fast.keys())]
    )
    n_base, n_fast = (sum(len(b) for b in boxes.values()) for boxes in (base, fast))
    return ious, n_base - len(ious), n_fast - len(ious)


def _box_tables(
    baseline: tuple[pd.DataFrame, pd.DataFrame],
    preset: tuple[pd.DataFrame, pd.DataFrame],
    inputs: pd.DataFrame,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per row of ``inputs`` (KEYS): the matched pairs (KEYS, ``iou``) and the unmatched boxes
    (KEYS, ``unmatched_baseline``, ``unmatched_fast``)."""
    base_frames, base_faces = (dict(iter(table.groupby(INPUT))) for table in baseline)
    fast_frames, fast_faces = (dict(iter(table.groupby(KEYS))) for table in preset)
    no_faces = preset[1].iloc[:0]
    pairs, unmatched = [], []
    for key in inputs[KEYS].itertuples(index=False, name=None):
        on_input = key[len(PAIR) :]
        ious, n_base, n_fast = box_agreement(
            (base_frames[on_input], base_faces.get(on_input, no_faces)),
            (fast_frames[key], fast_faces.get(key, no_faces)),
        )
        pairs.append(pd.DataFrame({"iou": ious}).assign(**dict(zip(KEYS, key, strict=True))))
        unmatched.append((*key, n_base, n_fast))
    return (
        pd.concat(pairs, ignore_index=True),
        pd.DataFrame(unmatched, columns=[*KEYS, "unmatched_baseline", "unmatched_fast"]),
    )


def _summarise(wide: pd.DataFrame, pairs: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Per ``by`` group of the per-input rows: frames and unmatched boxes summed, FPS and faces
    per frame averaged, rates from summed counts, the matched boxes' number, mean and 5th
    percentile IoU (NaN where none matched)."""
    grouped = wide.groupby(by, sort=False)
    table = grouped[["n_frames_fast", "unmatched_baseline", "unmatched_fast"]].sum()
    means = [f"{name}_{side}" for name in ("fps", "faces_per_frame") for side in SIDES]
    table = table.join(grouped[means].mean())
    for side in SIDES:
        counts = grouped[[f"{c}_{side}" for c in COUNT_COLUMNS]].sum()
        rates = add_rates(counts.set_axis(list(COUNT_COLUMNS), axis=1))
        for name, column in RATES.items():
            table[f"{name}_{side}"] = rates[column]
    iou = pairs.groupby(by)["iou"]
    table["n_matched_boxes"] = iou.size().reindex(table.index, fill_value=0)
    table["mean_box_iou"] = iou.mean().reindex(table.index)
    table["p5_box_iou"] = iou.quantile(0.05).reindex(table.index)
    return table.reset_index()


def _verdicts(table: pd.DataFrame, max_accuracy_drop: float, min_box_iou: float) -> pd.DataFrame:
    """Speed-up, the largest fall of a rate in points (0 when none falls) and the verdicts."""
    drops = pd.concat([table[f"{r}_baseline"] - table[f"{r}_fast"] for r in RATES], axis=1)
    max_drop = 100 * drops.max(axis=1).clip(lower=0)
    return table.assign(
        speedup=table["fps_fast"] / table["fps_baseline"],
        max_drop_points=max_drop,
        accuracy_held=max_drop <= 100 * max_accuracy_drop,
        boxes_same=table["mean_box_iou"] >= min_box_iou,
    )


def _ordered(per_input: pd.DataFrame, pooled: pd.DataFrame) -> pd.DataFrame:
    """Each preset pair's inputs (by video, then resolution size), then its pooled row."""
    rank = {r: i for i, r in enumerate(resolution_order(per_input["resolution"]))}
    table = pd.concat(
        [
            per_input.assign(_pooled=False),
            pooled.assign(_pooled=True, video=POOLED, resolution=POOLED),
        ],
        ignore_index=True,
    )
    table["_rank"] = table["resolution"].map(rank)
    return table.sort_values([*PAIR, "_pooled", "video", "_rank"], ignore_index=True)


class NothingToCompare(FacebenchError):
    """A side of the comparison has no (valid) runs, or the two share no input."""


def preset_comparison(
    frames: pd.DataFrame,
    faces: pd.DataFrame,
    truth: pd.DataFrame,
    enrolled: frozenset[str],
    baseline: Mapping[str, str],
    device: str,
    max_accuracy_drop: float,
    min_box_iou: float,
) -> pd.DataFrame:
    """Every (detector, recognizer) pair ``device`` (the preset) ran against ``baseline``
    (device, detector, recognizer) on each input both ran, and pooled over those inputs
    (``video`` and ``resolution`` "all"): COMPARISON_COLUMNS."""
    label = config_label(baseline["device"], baseline["detector"], baseline["recognizer"])
    base = select(frames, baseline), select(faces, baseline)
    fast = select(frames, {"device": device}), select(faces, {"device": device})
    for name, (side_frames, _) in ((f"baseline {label}", base), (f"preset {device}", fast)):
        if side_frames.empty:
            raise NothingToCompare(f"fast comparison: the {name} has no runs")
    wide = _side(*fast, truth, enrolled, KEYS, "fast").merge(
        _side(*base, truth, enrolled, INPUT, "baseline"), on=INPUT
    )
    if wide.empty:
        raise NothingToCompare(f"fast comparison: the preset {device} and {label} share no input")
    pairs, unmatched = _box_tables(base, fast, wide)
    wide = wide.merge(unmatched, on=KEYS)
    table = _ordered(_summarise(wide, pairs, KEYS), _summarise(wide, pairs, PAIR))
    table = _verdicts(table, max_accuracy_drop, min_box_iou)
    table = table.assign(device=device, baseline=label).rename(
        columns={"n_frames_fast": "n_frames"}
    )
    return table[list(COMPARISON_COLUMNS)]


def summary_lines(table: pd.DataFrame) -> list[str]:
    """One line per pooled row: FPS baseline -> preset, speed-up, faces per frame, the largest
    rate drop, the boxes' mean IoU and the verdicts."""
    return [
        f"{config_label(row.device, row.detector, row.recognizer)} vs {row.baseline}: "
        f"{row.fps_baseline:.2f} -> {row.fps_fast:.2f} FPS (x{row.speedup:.2f}), faces per frame "
        f"{row.faces_per_frame_baseline:.2f} -> {row.faces_per_frame_fast:.2f}, largest rate "
        f"drop {row.max_drop_points:.2f} points, mean box IoU {row.mean_box_iou:.3f}: "
        f"accuracy {'held' if row.accuracy_held else 'lost'}, "
        f"boxes {'the same' if row.boxes_same else 'differ'}"
        for row in table[table["video"] == POOLED].itertuples(index=False)
    ]


def write_fast_comparison(
    data: Aggregate,
    groundtruth_dir: Path,
    enrolled: frozenset[str],
    settings: Mapping,
    table6_csv: Path,
    out_dir: Path,
) -> list[Path]:
    """The comparison (``settings``: the config's ``fast``) as ``comparison.csv``, ``.html`` and
    ``.svg`` in ``out_dir``, its pooled rows printed."""
    truth = load_groundtruth(groundtruth_dir, data.frames[INPUT].drop_duplicates())
    out_dir = Path(out_dir)
    try:
        table = preset_comparison(
            data.frames,
            data.faces,
            truth,
            enrolled,
            settings["baseline"],
            settings["device"],
            settings["max_accuracy_drop"],
            settings["min_box_iou"],
        )
    except NothingToCompare as error:  # e.g. every run of a side invalid on a busy host
        return not_compared(str(error), out_dir)
    paper = settings["paper"]
    fps = paper_fps(table6_csv, paper["platform"], paper["detector"], paper["recognizer"])
    for line in summary_lines(table):
        print(line)
    return [
        write_csv(table, out_dir / "comparison.csv"),
        write_html(table, out_dir / "comparison.html", "fast comparison"),
        comparison_figure(
            table,
            fps,
            f"paper {config_label(paper['platform'], paper['detector'], paper['recognizer'])}",
            out_dir / "comparison.svg",
        ),
    ]


def not_compared(reason: str, out_dir: Path) -> list[Path]:
    """The comparison's files saying ``not measured: <reason>``: a CSV of its columns without
    rows, the reason as the HTML table and as the figure's panel."""
    print(f"not measured: {reason}")
    return [
        write_csv(pd.DataFrame(columns=list(COMPARISON_COLUMNS)), out_dir / "comparison.csv"),
        write_html(
            pd.DataFrame({"not measured": [reason]}), out_dir / "comparison.html", "fast comparison"
        ),
        _reason_figure(reason, out_dir / "comparison.svg"),
    ]


def _reason_figure(reason: str, path: Path) -> Path:
    with figure(path) as (ax,):
        not_measured(ax, {"fast comparison": reason})
    return path
