"""Detection precision/recall and identification accuracy of every run against the ground truth.

**Identification accuracy** (the one definition every table, the open-set page, the fast preset
comparison and the strategies use): the share of detected faces matched to a ground-truth face
that get the right answer: the person's name for an enrolled person, no name (unknown or too
small) for anyone else. Per frame it scores each face's own label (``identification_accuracy``);
per track it scores the label its track held at that face (``identification_accuracy_track``),
and ``track_accuracy`` scores each track once, by the label it ended with. Rank-1, FRR and FAR
split the same matched faces into enrolled people and strangers.

A detection matches a ground-truth face when their boxes (x, y, w, h in the video's pixels in both
files) overlap with IoU >= ``MATCH_IOU`` (0.5), one to one, greedily by descending IoU
(``match_boxes``). Pairs are found for all frames at once; only frames where a box has several
candidates go through the greedy matcher. Only the run's measured frames that have ground truth
are scored.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from facebench.analysis.aggregate import CONFIG_COLUMNS
from facebench.errors import FacebenchError
from facebench.recognition.boxes import MATCH_IOU, match_boxes, paired_iou
from facebench.recognition.gallery import TOO_SMALL, UNKNOWN

TRACK_COUNTS = (
    "n_track_labelled",  # matched faces with a track label (runs that track faces)
    "track_id_correct",  # ... whose track's label at that face was right
    "n_tracks",  # tracks with a matched face
    "tracks_correct",  # ... whose label at their last matched face was right
    "tracks_ever_correct",  # ... whose label was right at some face
    "frames_to_first_correct",  # summed over those: frames from a track's first face
    "track_switches",  # changes of a track's name between its successive faces, summed
    "n_embedded",  # matched faces that were embedded (not too small) in tracking runs
    "n_settled_embedded",  # ... whose track was settled before them: a policy would skip them
)
COUNT_COLUMNS = (
    "n_scored_frames",
    "n_pred",
    "n_truth",
    "n_truth_detectable",
    "tp",
    "tp_detectable",
    "id_correct",
    "n_enrolled",
    "rank1_correct",
    "false_reject",
    "n_stranger",
    "false_accept",
    "n_too_small",
    *TRACK_COUNTS,
)
CLIP_RATES = (
    "precision",
    "recall",
    "recall_detectable",
    "identification_accuracy",
    "identification_accuracy_track",
    "track_accuracy",
)
CLIP_ACCURACY_COLUMNS = (*COUNT_COLUMNS, *CLIP_RATES)  # clip_accuracy's, even without rows
PASS = "clip_pass"  # the pass over a looped clip, a key of clip_accuracy's runs
Z_95 = 1.959964


def read_enrolled(gallery_json: Path) -> frozenset[str]:
    """The people enrolled in a gallery (``enrolled_people`` of its ``.json``)."""
    try:
        return frozenset(json.loads(Path(gallery_json).read_text())["enrolled_people"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise FacebenchError(f"{gallery_json}: no enrolled_people list ({error})") from error


def corners(table: pd.DataFrame, rows: np.ndarray) -> np.ndarray:
    """x1, y1, x2, y2 of ``rows`` of a table with x, y, w, h columns: (len(rows), 4)."""
    x, y = table["x"].to_numpy()[rows], table["y"].to_numpy()[rows]
    return np.stack([x, y, x + table["w"].to_numpy()[rows], y + table["h"].to_numpy()[rows]], 1)


def match_candidates(
    candidates: pd.DataFrame,
    pred_box: np.ndarray,
    truth_box: np.ndarray,
    iou_min: float = MATCH_IOU,
) -> pd.DataFrame:
    """One-to-one matches among ``candidates`` (columns key, pred, truth, iou >= iou_min).

    Pairs whose prediction and truth have no other candidate are kept as they are; frames with a
    contested box are matched greedily by ``match_boxes`` on that frame's boxes.
    """
    contested = candidates["pred"].duplicated(keep=False) | candidates.duplicated(
        ["key", "truth"], keep=False
    )  # a truth row is shared by every run of its input: it is unique per frame key
    contested_keys = candidates.loc[contested, "key"].unique()
    clear = candidates[~candidates["key"].isin(contested_keys)]
    resolved = [
        _match_frame(group, pred_box, truth_box, iou_min)
        for _, group in candidates[candidates["key"].isin(contested_keys)].groupby("key")
    ]
    return pd.concat([clear, *resolved], ignore_index=True)


def _match_frame(
    group: pd.DataFrame, pred_box: np.ndarray, truth_box: np.ndarray, iou_min: float
) -> pd.DataFrame:
    preds, truths = group["pred"].unique(), group["truth"].unique()
    pairs = [
        (i, j, iou)
        for i, j, iou in match_boxes(pred_box[preds], truth_box[truths])
        if iou >= iou_min
    ]
    return pd.DataFrame(
        {
            "key": group["key"].iloc[0],
            "pred": [preds[i] for i, _, _ in pairs],
            "truth": [truths[j] for _, j, _ in pairs],
            "iou": [iou for _, _, iou in pairs],
        }
    )


def _run_codes(
    frames: pd.DataFrame, faces: pd.DataFrame, keys: Sequence[str] = CONFIG_COLUMNS
) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Integer run code of each frame and face row, and the runs' ``keys`` (one row per code)."""
    keys = list(keys)
    both = pd.concat([frames[keys], faces[keys]], ignore_index=True)
    grouped = both.groupby(keys, observed=True, sort=True)
    codes = grouped.ngroup().to_numpy()
    runs = grouped.size().index.to_frame(index=False)
    return codes[: len(frames)], codes[len(frames) :], runs


def _frame_keys(run_code: np.ndarray, frame: pd.Series) -> np.ndarray:
    return run_code.astype(np.int64) << 32 | frame.to_numpy(np.int64)


def _truth_per_run(frames: pd.DataFrame, run_code: np.ndarray, truth: pd.DataFrame) -> pd.DataFrame:
    """The ground-truth rows of every measured frame of every run, with the run's frame key."""
    pairs = truth[["video", "resolution"]].astype(str).drop_duplicates()
    inputs = {key: code for code, key in enumerate(pairs.itertuples(index=False, name=None))}
    if not inputs:
        return pd.DataFrame({"key": np.array([], np.int64), "truth": np.array([], np.int64)})

    def input_code(table: pd.DataFrame) -> np.ndarray:
        keys = zip(table["video"].astype(str), table["resolution"].astype(str), strict=True)
        return np.array([inputs.get(k, -1) for k in keys], np.int64)

    frame_inputs = frames[["video", "resolution"]].assign(run=run_code).drop_duplicates("run")
    run_input = pd.Series(input_code(frame_inputs), index=frame_inputs["run"].to_numpy())
    left = pd.DataFrame(
        {
            "input_frame": run_input.reindex(run_code).to_numpy() << 32
            | frames["frame"].to_numpy(np.int64),
            "key": _frame_keys(run_code, frames["frame"]),
        }
    )
    right = pd.DataFrame(
        {
            "input_frame": input_code(truth) << 32 | truth["frame"].to_numpy(np.int64),
            "truth": np.arange(len(truth)),
        }
    )
    return left.merge(right, on="input_frame")[["key", "truth"]]


@dataclass(frozen=True)
class Matched:
    """Predictions matched to ground truth: the runs (one row per run code), the scored frame
    keys (run code << 32 | frame), truth and prediction rows of scored frames, and one-to-one
    ``matches`` (key, pred: faces row, truth: truth row, iou)."""

    runs: pd.DataFrame
    scored_keys: np.ndarray
    truth_rows: pd.DataFrame
    pred_rows: pd.DataFrame
    matches: pd.DataFrame


def match_runs(
    frames: pd.DataFrame,
    faces: pd.DataFrame,
    truth: pd.DataFrame,
    iou_min: float = MATCH_IOU,
    keys: Sequence[str] = CONFIG_COLUMNS,
) -> Matched:
    """Every run's faces matched to the ground truth of its measured frames."""
    frame_run, face_run, runs = _run_codes(frames, faces, keys)
    truth_rows = _truth_per_run(frames, frame_run, truth)
    scored_keys = truth_rows["key"].unique()
    has_face = truth["identity"].notna().to_numpy()
    truth_rows = truth_rows[has_face[truth_rows["truth"].to_numpy()]]
    face_key = _frame_keys(face_run, faces["frame"])
    pred_rows = pd.DataFrame({"key": face_key, "pred": np.arange(len(faces))})
    pred_rows = pred_rows[np.isin(face_key, scored_keys)]
    pred_box, truth_box = (
        corners(faces, np.arange(len(faces))),
        corners(truth, np.arange(len(truth))),
    )
    candidates = pred_rows.merge(truth_rows, on="key")
    candidates["iou"] = paired_iou(pred_box[candidates["pred"]], truth_box[candidates["truth"]])
    matches = match_candidates(
        candidates[candidates["iou"] >= iou_min], pred_box, truth_box, iou_min
    )
    return Matched(runs, scored_keys, truth_rows, pred_rows, matches)


def run_accuracy(
    frames: pd.DataFrame,
    faces: pd.DataFrame,
    truth: pd.DataFrame,
    enrolled: frozenset[str] | set[str],
    iou_min: float = MATCH_IOU,
    keys: Sequence[str] = CONFIG_COLUMNS,
) -> pd.DataFrame:
    """Per run (one combination of ``keys``): counts, ``precision``, ``recall``,
    ``recall_detectable``, ``identification_accuracy`` (matched faces with the right identity;
    a person not in ``enrolled`` is right when not identified) and the open-set split of
    :func:`identity_outcomes`. NaN where nothing was scored."""
    matched = match_runs(frames, faces, truth, iou_min, keys)
    truth_rows, matches, runs = matched.truth_rows, matched.matches, matched.runs
    match_run = matches["key"].to_numpy(np.int64) >> 32
    detectable = truth["detectable"].to_numpy(bool)
    counts = {
        "n_scored_frames": matched.scored_keys >> 32,
        "n_pred": matched.pred_rows["key"].to_numpy() >> 32,
        "n_truth": truth_rows["key"].to_numpy() >> 32,
        "n_truth_detectable": (truth_rows["key"].to_numpy() >> 32)[
            detectable[truth_rows["truth"].to_numpy()]
        ],
        "tp": match_run,
        "tp_detectable": match_run[detectable[matches["truth"].to_numpy(np.int64)]],
        **{
            name: match_run[flags]
            for name, flags in identity_outcomes(faces, truth, matches, enrolled).items()
        },
    }
    for name, run_of_item in counts.items():
        runs[name] = np.bincount(run_of_item, minlength=len(runs))
    for name, per_run in track_counts(faces, truth, matches, enrolled, len(runs)).items():
        runs[name] = per_run
    return add_rates(runs)


def expected_labels(
    truth: pd.DataFrame, matches: pd.DataFrame, enrolled: frozenset[str] | set[str]
) -> np.ndarray:
    """The right answer for each match: the person's name if enrolled, else ``unknown``."""
    actual = truth["identity"].to_numpy()[matches["truth"].to_numpy(np.int64)].astype(str)
    return np.where(np.isin(actual, list(enrolled)), actual, UNKNOWN)


def _named(labels: np.ndarray) -> np.ndarray:
    return np.where(np.isin(labels, [UNKNOWN, TOO_SMALL]), UNKNOWN, labels)


def track_counts(
    faces: pd.DataFrame,
    truth: pd.DataFrame,
    matches: pd.DataFrame,
    enrolled: frozenset[str] | set[str],
    n_runs: int,
) -> dict[str, np.ndarray]:
    """:data:`TRACK_COUNTS` per run code (``matches['key'] >> 32``), from faces with
    ``track_id`` and ``track_identity`` (zeros where a run has none). A track is one
    ``track_id`` of one run; its truth is each matched face's own (a track that jumps from
    one person to another is scored face by face, and once by its last face)."""
    zeros = {name: np.zeros(n_runs, np.int64) for name in TRACK_COUNTS}
    if "track_identity" not in faces or not len(matches):
        return zeros
    pred = matches["pred"].to_numpy(np.int64)
    labelled = faces["track_identity"].notna().to_numpy()[pred]
    table = pd.DataFrame(
        {
            "run": matches["key"].to_numpy(np.int64)[labelled] >> 32,
            "track": faces["track_id"].to_numpy()[pred][labelled],
            "frame": faces["frame"].to_numpy()[pred][labelled],
            "label": _named(faces["track_identity"].to_numpy()[pred][labelled].astype(str)),
            "raw": faces["track_identity"].to_numpy()[pred][labelled].astype(str),
            "expected": expected_labels(truth, matches, enrolled)[labelled],
            "settled": faces["track_settled"].fillna(False).to_numpy(bool)[pred][labelled],
            "embedded": faces["identity"].to_numpy()[pred][labelled].astype(str) != TOO_SMALL,
        }
    ).sort_values(["run", "track", "frame"], kind="stable")
    table["right"] = table["label"] == table["expected"]
    grouped = table.groupby(["run", "track"])
    first_right = table["frame"].where(table["right"]).groupby([table["run"], table["track"]])
    names = table["raw"].where(table["raw"] != TOO_SMALL)  # too small: no name, no change
    previous = names.groupby([table["run"], table["track"]]).shift()
    per_track = pd.DataFrame(
        {
            "correct": grouped["right"].last(),
            "ever": grouped["right"].any(),
            "to_first": first_right.min() - grouped["frame"].min(),
            "switches": (names.notna() & previous.notna() & (names != previous))
            .groupby([table["run"], table["track"]])
            .sum(),
        }
    )

    def per_run(values: np.ndarray, runs: np.ndarray) -> np.ndarray:
        return np.bincount(runs, weights=values, minlength=n_runs).round().astype(np.int64)

    runs = table["run"].to_numpy()
    track_runs = per_track.index.get_level_values("run").to_numpy(np.int64)
    ones = np.ones(len(table))
    return {
        "n_track_labelled": per_run(ones, runs),
        "track_id_correct": per_run(table["right"].to_numpy(float), runs),
        "n_tracks": per_run(np.ones(len(per_track)), track_runs),
        "tracks_correct": per_run(per_track["correct"].to_numpy(float), track_runs),
        "tracks_ever_correct": per_run(per_track["ever"].to_numpy(float), track_runs),
        "frames_to_first_correct": per_run(per_track["to_first"].fillna(0).to_numpy(), track_runs),
        "track_switches": per_run(per_track["switches"].to_numpy(float), track_runs),
        "n_embedded": per_run(table["embedded"].to_numpy(float), runs),
        "n_settled_embedded": per_run((table["embedded"] & table["settled"]).to_numpy(float), runs),
    }


def identity_outcomes(
    faces: pd.DataFrame,
    truth: pd.DataFrame,
    matches: pd.DataFrame,
    enrolled: frozenset[str] | set[str],
) -> dict[str, np.ndarray]:
    """Flags per matched face: ``id_correct``; for enrolled people (``n_enrolled``) the right
    name (``rank1_correct``) or none (``false_reject``: unknown or too small); for everyone
    else (``n_stranger``) a name given (``false_accept``); ``n_too_small`` not identified for
    size."""
    predicted = faces["identity"].to_numpy()[matches["pred"].to_numpy(np.int64)].astype(str)
    actual = truth["identity"].to_numpy()[matches["truth"].to_numpy(np.int64)].astype(str)
    is_enrolled = np.isin(actual, list(enrolled))
    named = ~np.isin(predicted, [UNKNOWN, TOO_SMALL])
    return {
        "id_correct": np.where(named, predicted, UNKNOWN) == np.where(is_enrolled, actual, UNKNOWN),
        "n_enrolled": is_enrolled,
        "rank1_correct": is_enrolled & (predicted == actual),
        "false_reject": is_enrolled & ~named,
        "n_stranger": ~is_enrolled,
        "false_accept": ~is_enrolled & named,
        "n_too_small": predicted == TOO_SMALL,
    }


def add_rates(counts: pd.DataFrame) -> pd.DataFrame:
    """Precision, recall (all and detectable faces), identification accuracy per frame and per
    track (the module's definition), rank-1 rate and false-reject rate of enrolled faces and
    false-accept rate of strangers; per track: the share of tracks right at their end, identity
    switches per track, mean frames to a track's first right label, and the share of embedded
    faces a settled-track policy would have skipped; all from counts."""

    def ratio(numerator: str, denominator: str) -> pd.Series:
        return counts[numerator] / counts[denominator].where(counts[denominator] > 0)

    return counts.assign(
        precision=ratio("tp", "n_pred"),
        recall=ratio("tp", "n_truth"),
        recall_detectable=ratio("tp_detectable", "n_truth_detectable"),
        identification_accuracy=ratio("id_correct", "tp"),
        identification_accuracy_track=ratio("track_id_correct", "n_track_labelled"),
        track_accuracy=ratio("tracks_correct", "n_tracks"),
        switches_per_track=ratio("track_switches", "n_tracks"),
        mean_frames_to_first_correct=ratio("frames_to_first_correct", "tracks_ever_correct"),
        settled_saved_share=ratio("n_settled_embedded", "n_embedded"),
        rank1=ratio("rank1_correct", "n_enrolled"),
        frr=ratio("false_reject", "n_enrolled"),
        far=ratio("false_accept", "n_stranger"),
    )


def clip_accuracy(
    frames: pd.DataFrame,
    faces: pd.DataFrame,
    truths: Mapping[tuple[str, str], pd.DataFrame],
    enrolled: frozenset[str] | set[str],
    keys: Sequence[str],
) -> pd.DataFrame:
    """Per combination of ``keys`` (among them video and resolution; a frame number is unique
    within one) in ``frames`` with ground truth (``truths[(video, resolution)]``):
    ``run_accuracy``'s counts and rates, each frame and its faces scored against the ground
    truth of its ``clip_frame`` (the clip loops)."""
    keys = list(keys)
    inputs = frames[["video", "resolution"]].drop_duplicates().itertuples(index=False, name=None)
    present = [key for key in inputs if key in truths]
    if not present:
        return frames[keys].iloc[:0].assign(**dict.fromkeys(CLIP_ACCURACY_COLUMNS, np.nan))
    frames = frames.merge(pd.DataFrame(present, columns=["video", "resolution"]))
    truth = pd.concat([_clip_truth(truths[key], *key) for key in present], ignore_index=True)
    # one pass over the clip is one run of run_accuracy, its frames numbered as in the clip
    scores = run_accuracy(
        _by_clip_frame(frames), _by_clip_frame(faces), truth, enrolled, keys=[*keys, PASS]
    )
    counts = scores.groupby(keys)[list(COUNT_COLUMNS)].sum().reset_index()
    return add_rates(counts.merge(frames[keys].drop_duplicates(), on=keys))


def _by_clip_frame(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with its frames numbered as in the clip and the pass over the clip they are
    from (``frame - clip_frame``: the frame is one clip frame of one pass)."""
    passes = table["frame"] - table["clip_frame"]
    return table.assign(**{PASS: passes, "frame": table["clip_frame"]})


def _clip_truth(truth: pd.DataFrame, video: str, resolution: str) -> pd.DataFrame:
    """``truth`` of an input as ``run_accuracy`` takes it (a frame without faces keeps a row
    with no identity)."""
    return truth.assign(
        video=video,
        resolution=resolution,
        identity=truth["identity"].mask(truth["identity"].eq("")),
        detectable=truth["detectable"].fillna(False).astype(bool),
    )


def difference_half_width(p_a: Any, n_a: Any, p_b: Any, n_b: Any) -> Any:
    """Half-width of the 95 % normal interval of the difference of two proportions ``p_a`` of
    ``n_a`` and ``p_b`` of ``n_b`` (scalars or Series)."""
    return Z_95 * np.sqrt(p_a * (1 - p_a) / n_a + p_b * (1 - p_b) / n_b)
