"""Open-set identification of the runs' faces: rank-1, false-reject and false-accept rates per
configuration and resolution, as the runs identified them and re-identified with each gallery's
other threshold and with larger minimum face sizes (faces.csv keeps the nearest enrolled person
and its distance, so no run is repeated); distance distributions of enrolled people and
strangers per resolution; the galleries' leave-one-person-out thresholds."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from facebench.analysis.accuracy import match_runs, run_accuracy
from facebench.analysis.aggregate import load_groundtruth, resolution_order
from facebench.analysis.openset import figures
from facebench.analysis.openset.reader import read_galleries
from facebench.analysis.outputs import write_csv, write_html
from facebench.analysis.stages import Aggregate
from facebench.analysis.tables import accuracy_table
from facebench.backends.registry import RECOGNIZERS
from facebench.recognition.gallery import TOO_SMALL, UNKNOWN

KEYS = ["device", "detector", "recognizer", "resolution"]
AS_RUN = "as_run"
VIDEO = "video"  # the threshold calibrated on the accuracy set's video faces
MIN_FACE_SWEEP = (0, 24, 32, 48, 64)  # px, min side of the face box
RATES = ["rank1", "frr", "far"]
NO_TRUTH = "no run has ground truth"
COUNTS = ["tp", "n_enrolled", "rank1_correct", "false_reject", "n_stranger", "false_accept"]


def threshold_table(galleries: dict[str, dict]) -> pd.DataFrame:
    """Per recognizer and method: the threshold, whether the runs used it, and the FAR, FRR
    and rank-1 it gives by leave-one-person-out on the photos."""
    rows = [
        {
            "recognizer": recognizer,
            "method": method,
            "chosen": method == meta["threshold_method"],
            **values,
            **meta["leave_one_person_out"],
            "target_far": meta["target_far"],
        }
        for recognizer, meta in galleries.items()
        for method, values in meta["thresholds"].items()
    ]
    return pd.DataFrame(rows)


def reidentify(
    faces: pd.DataFrame, thresholds: dict[str, float], min_face_px: float
) -> pd.DataFrame:
    """``faces`` with ``identity`` recomputed from ``nearest`` and ``distance``: per recognizer
    threshold, faces smaller than ``min_face_px`` (or never embedded) ``too_small``."""
    threshold = faces["recognizer"].astype(str).map(thresholds).to_numpy(float)
    distance = faces["distance"].to_numpy(float)
    small = (np.minimum(faces["w"], faces["h"]).to_numpy() < min_face_px) | np.isnan(distance)
    named = np.where(distance <= threshold, faces["nearest"].astype(str), UNKNOWN)
    return faces.assign(identity=np.where(small, TOO_SMALL, named))


def video_thresholds(video: dict[str, dict], recognizers) -> dict[str, float]:
    """Each run recognizer's video-calibrated threshold: its own, else that of the accuracy
    set's recognizer of the same precision (fp32 backends that pass parity share one)."""
    by_precision = {
        RECOGNIZERS[r].precision: v["threshold_l2"] for r, v in video.items() if r in RECOGNIZERS
    }
    out = {}
    for recognizer in recognizers:
        if recognizer in video:
            out[recognizer] = video[recognizer]["threshold_l2"]
        elif recognizer in RECOGNIZERS and RECOGNIZERS[recognizer].precision in by_precision:
            out[recognizer] = by_precision[RECOGNIZERS[recognizer].precision]
    return out


def openset_table(
    frames: pd.DataFrame,
    faces: pd.DataFrame,
    truth: pd.DataFrame,
    enrolled: frozenset[str],
    galleries: dict[str, dict],
    video: dict[str, dict] | None = None,
) -> pd.DataFrame:
    """Rank-1, FRR and FAR per configuration and resolution (counts pooled over videos and
    repeats): as the runs identified (``as_run``), then with each threshold method at every
    minimum face size of :data:`MIN_FACE_SWEEP` not below the one the runs used; with
    ``video`` (``video_threshold.json``) also the threshold and minimum face size calibrated on
    the accuracy set's video faces (method ``video``), for the recognizers it covers."""
    used_min = max((g.get("min_face_px", 0.0) for g in galleries.values()), default=0.0)
    sweep = sorted({used_min, *(p for p in MIN_FACE_SWEEP if p >= used_min)})
    settings = [(AS_RUN, None, used_min)] + [
        (method, {r: g["thresholds"][method]["threshold_l2"] for r, g in galleries.items()}, px)
        for method in next(iter(galleries.values()))["thresholds"]
        for px in sweep
    ]
    calibrated = video_thresholds(video or {}, faces["recognizer"].astype(str).unique())
    if calibrated:
        chosen = max(v["min_face_px"] for v in (video or {}).values())
        settings += [(VIDEO, calibrated, px) for px in sorted({*sweep, chosen})]
    tables = []
    for method, thresholds, px in settings:
        if method == VIDEO:  # only the configurations whose precision has a video threshold
            covered = frames["recognizer"].astype(str).isin(list(thresholds))
            frames_used = frames[covered]
            scored = reidentify(
                faces[faces["recognizer"].astype(str).isin(list(thresholds))], thresholds, px
            )
        else:
            frames_used = frames
            scored = faces if thresholds is None else reidentify(faces, thresholds, px)
        if frames_used.empty:
            continue
        table = accuracy_table(run_accuracy(frames_used, scored, truth, enrolled), by=KEYS)
        tables.append(table[[*KEYS, *COUNTS, *RATES]].assign(method=method, min_face_px=px))
    table = pd.concat(tables, ignore_index=True)
    order = {r: i for i, r in enumerate(resolution_order(table["resolution"].astype(str)))}
    return table.sort_values(
        ["device", "detector", "recognizer", "method", "min_face_px", "resolution"],
        key=lambda c: c.map(order) if c.name == "resolution" else c,
        kind="stable",
    )[[*KEYS, "method", "min_face_px", *RATES, *COUNTS]]


def matched_distances(
    frames: pd.DataFrame, faces: pd.DataFrame, truth: pd.DataFrame, enrolled: frozenset[str]
) -> pd.DataFrame:
    """Per face matched to the ground truth: its configuration and resolution, the distance to
    the nearest enrolled photo and ``kind``: ``same person`` (an enrolled person whose nearest
    photo is theirs), ``someone else`` (enrolled, nearest photo of another) or ``stranger``."""
    matches = match_runs(frames, faces, truth).matches
    face = faces.iloc[matches["pred"].to_numpy(np.int64)]
    actual = truth["identity"].to_numpy()[matches["truth"].to_numpy(np.int64)].astype(str)
    is_enrolled = np.isin(actual, list(enrolled))
    same = face["nearest"].astype(str).to_numpy() == actual
    kind = np.where(is_enrolled, np.where(same, "same person", "someone else"), "stranger")
    return pd.DataFrame(
        {
            **{key: face[key].astype(str).to_numpy() for key in KEYS},
            "distance": face["distance"].to_numpy(float),
            "kind": kind,
        }
    ).dropna(subset=["distance"])


def distance_summary(distances: pd.DataFrame) -> pd.DataFrame:
    """Count and quantiles of the distances per configuration, resolution and kind."""
    grouped = distances.groupby([*KEYS, "kind"], observed=True)["distance"]
    summary = grouped.describe(percentiles=[0.05, 0.5, 0.95])
    summary = summary.rename(columns={"5%": "p5", "50%": "p50", "95%": "p95"})
    return summary[["count", "p5", "p50", "p95"]].reset_index()


def write_openset_outputs(
    aggregate_dir: Path,
    groundtruth_dir: Path,
    gallery_jsons: list[Path],
    out_dir: Path,
    video_threshold: Path | None = None,
) -> list[Path]:
    """``thresholds``, ``openset`` and ``distances`` tables and four figures into ``out_dir``;
    the runs' faces re-scored with ``video_threshold.json``'s thresholds too where given."""
    out_dir = Path(out_dir)
    video = json.loads(Path(video_threshold).read_text()) if video_threshold else None
    galleries = read_galleries(gallery_jsons)
    enrolled = frozenset(next(iter(galleries.values()))["enrolled_people"])
    data = Aggregate.read(aggregate_dir)
    truth = load_groundtruth(
        groundtruth_dir, data.frames[["video", "resolution"]].drop_duplicates()
    )
    thresholds = threshold_table(galleries)
    rates = openset_table(data.frames, data.faces, truth, enrolled, galleries, video)
    distances = matched_distances(data.frames, data.faces, truth, enrolled)
    curves = {
        recognizer: pd.read_csv(Path(path).with_name(f"{recognizer}_lopo.csv"))
        for recognizer, path in zip(galleries, gallery_jsons, strict=True)
    }
    written = []
    for name, table in (
        ("thresholds", thresholds),
        ("openset", rates),
        ("distances", distance_summary(distances)),
    ):
        written += [
            write_csv(table, out_dir / f"{name}.csv"),
            write_html(table, out_dir / f"{name}.html", name.replace("_", " ")),
        ]
    return [
        *written,
        figures.det_figure(curves, thresholds, out_dir / "det.svg"),
        figures.distances_figure(distances, thresholds, out_dir / "distances.svg", NO_TRUTH),
        figures.rates_figure(rates, out_dir / "rates.svg", NO_TRUTH),
        figures.min_face_figure(
            rates, _chosen_method(galleries), out_dir / "min_face.svg", NO_TRUTH
        ),
    ]


def _chosen_method(galleries: dict[str, dict]) -> str:
    """The threshold method the galleries were enrolled with (the config's)."""
    return next(iter(galleries.values()))["threshold_method"]
