"""Open-set identification on the accuracy set's stored embeddings, as NIST FRTE 1:N and
ISO/IEC 19795-1 report it: each enrolled person in turn plays the stranger (leave-one-person-
out), beside the strangers never enrolled; FNIR at a fixed FPIR per frame and per track, with
intervals bootstrapped by identity then track (never by frame) and the counts beside.

A query is a face (per frame) or a track's template (per track). In the fold of person p the
gallery is every other enrolled person's gallery photos; genuine queries are the other enrolled
people's faces, impostor queries p's faces and every stranger's. A genuine query is a miss
(counts to FNIR) when its nearest enrolled photo is farther than the threshold or shows someone
else; a missed detection is a miss per track only when the whole track went undetected.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from facebench.recognition.thresholds import threshold_for_far
from facebench.recognition.tracks import face_quality, track_template

FPIR_TARGETS = (0.01, 0.05)
SIZE_BINS = (0, 20, 30, 40, 60, 80, 120, 200, np.inf)  # px, the detected box's smaller side
LEVELS = ("frame", "track")
ALL = "all"


def side_px(table: pd.DataFrame) -> np.ndarray:
    """The smaller side of each row's box (px)."""
    return np.minimum(table["x2"] - table["x1"], table["y2"] - table["y1"]).to_numpy(float)


def queries(table: pd.DataFrame, embeddings: np.ndarray, level: str, min_face_px: float = 0.0):
    """The video queries of ``level`` (frame | track): their table (person, role, source,
    resolution, track, side_px, frames) and unit embeddings. Faces smaller than ``min_face_px``
    are left out, as a gallery's minimum face size would; per frame only the detected faces
    count, per track every track does (one with no usable face gets a NaN template: a miss)."""
    video = table["kind"].to_numpy() == "video"
    sides = side_px(table)
    usable = table["detected"].astype(bool).to_numpy() & (sides >= min_face_px)
    if level == "frame":
        keep = video & usable
        return table[keep].assign(side_px=sides[keep], frames=1).reset_index(drop=True), embeddings[
            keep
        ]
    rows = table[video].assign(side_px=sides[video], usable=usable[video])
    vectors = embeddings[video]
    groups = rows.groupby(["resolution", "track"], sort=True).indices
    templates, medians, counts = [], [], []
    for index in groups.values():
        ok = index[rows["usable"].to_numpy()[index]]
        quality = [
            face_quality(s, c)
            for s, c in zip(rows["side_px"].iloc[ok], rows["score"].iloc[ok], strict=True)
        ]
        templates.append(
            track_template(vectors[ok], quality)
            if len(ok)
            else np.full(embeddings.shape[1], np.nan)
        )
        medians.append(float(np.median(rows["side_px"].iloc[ok])) if len(ok) else np.nan)
        counts.append(len(ok))
    tracks = rows.iloc[[i[0] for i in groups.values()]].reset_index(drop=True)
    tracks = tracks.drop(columns="usable").assign(side_px=medians, frames=counts)
    return tracks, np.array(templates, np.float32).reshape(-1, embeddings.shape[1])


def lopo_scores(
    gallery: pd.DataFrame,
    gallery_vectors: np.ndarray,
    query: pd.DataFrame,
    query_vectors: np.ndarray,
) -> pd.DataFrame:
    """One row per (fold, query): the fold's left-out person, whether the query is genuine, its
    distance to the nearest enrolled photo and whether that photo shows the query's person."""
    names = gallery["person"].to_numpy()
    distance = np.sqrt(np.maximum(2 - 2 * query_vectors @ gallery_vectors.T, 0))
    distance = np.where(np.isnan(distance), np.inf, distance)  # no usable face: never accepted
    people = query["person"].to_numpy()
    enrolled = (query["role"] == "enrolled").to_numpy()
    parts = []
    for fold in np.unique(names):
        d = np.where(names == fold, np.inf, distance)
        index = d.argmin(1)
        genuine = enrolled & (people != fold)
        impostor = (people == fold) | ~enrolled
        keep = genuine | impostor
        parts.append(
            query[keep].assign(
                fold=fold,
                genuine=genuine[keep],
                distance=d[np.arange(len(d)), index][keep],
                hit=((names[index] == people) & np.isfinite(d.min(1)))[keep],
            )
        )
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def _threshold(impostor_d: np.ndarray, weights: np.ndarray, target: float) -> float:
    """The largest threshold whose weighted FPIR is <= target (midway between distances)."""
    if weights is None:
        return threshold_for_far(impostor_d, target)
    order = np.argsort(impostor_d)
    d, w = impostor_d[order], weights[order]
    cum = np.cumsum(w) / max(w.sum(), 1e-12)
    within = int(np.searchsorted(cum, target + 1e-9, side="right"))
    while within and within < len(d) and d[within - 1] == d[within]:
        within -= 1
    if within >= len(d):
        return 2.0
    below = d[within - 1] if within else 0.0
    return float((below + d[within]) / 2)


def fnir_at(
    scores: pd.DataFrame, threshold: float, weights: np.ndarray | None = None
) -> tuple[float, float]:
    """(FNIR, FPIR) of ``scores`` at ``threshold`` (weighted where weights are given)."""
    w = np.ones(len(scores)) if weights is None else weights
    g = scores["genuine"].to_numpy()
    d = scores["distance"].to_numpy()
    miss = (d > threshold) | ~scores["hit"].to_numpy()
    accepted = d <= threshold
    fnir = np.sum(w[g] * miss[g]) / max(np.sum(w[g]), 1e-12)
    fpir = np.sum(w[~g] * accepted[~g]) / max(np.sum(w[~g]), 1e-12)
    return float(fnir), float(fpir)


def fnir_at_fpir(scores: pd.DataFrame, target: float, weights: np.ndarray | None = None):
    """(FNIR, threshold) at the largest threshold whose FPIR is <= ``target``."""
    g = scores["genuine"].to_numpy()
    w = None if weights is None else weights[~g]
    threshold = _threshold(scores["distance"].to_numpy()[~g], w, target)
    return fnir_at(scores, threshold, weights)[0], threshold


def cluster_weights(scores: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    """One bootstrap replicate's row weights: identities drawn with replacement, then each
    drawn identity's tracks drawn with replacement; frames go with their track."""
    people = scores["person"].to_numpy()
    tracks = (scores["resolution"].astype(str) + "|" + scores["track"].astype(str)).to_numpy()
    identities = np.unique(people)
    counts = dict(
        zip(*np.unique(rng.choice(identities, len(identities)), return_counts=True), strict=True)
    )
    weight_of = {}
    for person, count in counts.items():
        own = np.unique(tracks[people == person])
        drawn = rng.choice(own, len(own) * count)
        for track, n in zip(*np.unique(drawn, return_counts=True), strict=True):
            weight_of[track] = n
    return np.array([weight_of.get(t, 0) for t in tracks], np.float64)


def _counts(scores: pd.DataFrame, side: np.ndarray) -> dict:
    part = scores[side]
    return {
        "identities": part["person"].nunique(),
        "tracks": part[["resolution", "track"]].drop_duplicates().shape[0],
        "frames": int(part.drop_duplicates(["resolution", "track", "frame"])["frames"].sum()),
    }


def rate_row(scores: pd.DataFrame, target: float, replicates: int, seed: int) -> dict:
    """FNIR at FPIR ``target`` with a 95 % bootstrap interval, and the counts behind it."""
    fnir, threshold = fnir_at_fpir(scores, target)
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(replicates):
        w = cluster_weights(scores, rng)
        g = scores["genuine"].to_numpy()
        if w[g].sum() and w[~g].sum():
            draws.append(fnir_at_fpir(scores, target, w)[0])
    low, high = np.percentile(draws, [2.5, 97.5]) if draws else (np.nan, np.nan)
    genuine = scores["genuine"].to_numpy()
    gen, imp = _counts(scores, genuine), _counts(scores, ~genuine)
    return {
        "fpir_target": target,
        "fnir": fnir,
        "fnir_low": float(low),
        "fnir_high": float(high),
        "threshold_l2": threshold,
        **{f"genuine_{k}": v for k, v in gen.items()},
        **{f"stranger_{k}": v for k, v in imp.items()},
        "never_enrolled_identities": scores.loc[scores["role"] == "stranger", "person"].nunique(),
        "queries": len(scores),
    }


def closed_set_rank1(scores: pd.DataFrame) -> float:
    """Share of genuine queries whose nearest enrolled photo shows them (no threshold)."""
    genuine = scores[scores["genuine"]]
    return float(genuine["hit"].mean()) if len(genuine) else np.nan


def rate_table(by_level: dict[str, pd.DataFrame], replicates: int, seed: int) -> pd.DataFrame:
    """FNIR at each FPIR target per level and resolution (and all resolutions pooled)."""
    rows = []
    for level, scores in by_level.items():
        for resolution in [ALL, *scores["resolution"].unique()]:
            part = scores if resolution == ALL else scores[scores["resolution"] == resolution]
            if not part["genuine"].any() or part["genuine"].all():
                continue
            for target in FPIR_TARGETS:
                row = rate_row(part, target, replicates, seed)
                rows.append(
                    {
                        "level": level,
                        "resolution": resolution,
                        **row,
                        "rank1_closed": closed_set_rank1(part),
                    }
                )
    return pd.DataFrame(rows)


def size_bin_table(scores: pd.DataFrame, threshold: float) -> pd.DataFrame:
    """Per face-size bin: FNIR and FPIR at ``threshold``, closed-set rank-1 and counts."""
    bins = pd.cut(scores["side_px"], SIZE_BINS, right=False)
    rows = []
    for interval, part in scores.groupby(bins, observed=True):
        fnir, fpir = fnir_at(part, threshold) if part["genuine"].any() else (np.nan, np.nan)
        genuine = part["genuine"].to_numpy()
        rows.append(
            {
                "side_px": f"[{interval.left:g}, {interval.right:g})",
                "threshold_l2": threshold,
                "fnir": fnir,
                "fpir": fpir if (~genuine).any() else np.nan,
                "rank1_closed": closed_set_rank1(part),
                **{f"genuine_{k}": v for k, v in _counts(part, genuine).items()},
                **{f"stranger_{k}": v for k, v in _counts(part, ~genuine).items()},
            }
        )
    return pd.DataFrame(rows)


def det_points(scores: pd.DataFrame, steps: int = 400) -> pd.DataFrame:
    """FPIR and FNIR over thresholds 0..2 (the DET curve)."""
    return pd.DataFrame(
        [
            dict(zip(("fnir", "fpir"), fnir_at(scores, t), strict=True), threshold=t)
            for t in np.linspace(0, 2, steps)
        ]
    )


def split_people(scores: pd.DataFrame, seed: int) -> tuple[set[str], set[str]]:
    """Enrolled people and strangers split in two halves by identity (calibration, test)."""
    rng = np.random.default_rng(seed)
    halves: tuple[set[str], set[str]] = (set(), set())
    for role in ("enrolled", "stranger"):
        people = rng.permutation(sorted(scores.loc[scores["role"] == role, "person"].unique()))
        halves[0].update(people[::2])
        halves[1].update(people[1::2])
    return halves


def held_out(scores: pd.DataFrame, people: set[str]) -> pd.DataFrame:
    """The trials of one half: folds of its enrolled people, queries of its people only."""
    return scores[scores["fold"].isin(people) & scores["person"].isin(people)]


def calibrate(
    scores: pd.DataFrame, target: float, photo_threshold: float, seed: int
) -> pd.DataFrame:
    """The video threshold at FPIR ``target`` chosen on one half of the people, and FNIR/FPIR on
    the other half with it and with the photo-calibrated threshold."""
    calibration, test = (held_out(scores, half) for half in split_people(scores, seed))
    video = fnir_at_fpir(calibration, target)[1]
    rows = []
    for method, threshold in (("video", video), ("photo", photo_threshold)):
        fnir, fpir = fnir_at(test, threshold)
        rows.append(
            {
                "method": method,
                "threshold_l2": threshold,
                "fpir_target": target,
                "test_fnir": fnir,
                "test_fpir": fpir,
                "calibration_identities": calibration["person"].nunique(),
                "test_identities": test["person"].nunique(),
                "test_queries": len(test),
            }
        )
    return pd.DataFrame(rows)


def min_face_curve(
    scores: pd.DataFrame, target: float, min_rank1: float
) -> tuple[pd.DataFrame, float]:
    """Per candidate minimum face size: FNIR at FPIR ``target`` of the faces kept, the share of
    genuine faces kept and the closed-set rank-1 of the bin starting there; the chosen minimum:
    the smallest size from which every bin's rank-1 reaches ``min_rank1``."""
    rows = []
    for low, high in itertools.pairwise(SIZE_BINS):
        kept = scores[scores["side_px"] >= low]
        in_bin = scores[(scores["side_px"] >= low) & (scores["side_px"] < high)]
        ok = kept["genuine"].any() and not kept["genuine"].all()
        rows.append(
            {
                "min_face_px": low,
                "fnir": fnir_at_fpir(kept, target)[0] if ok else np.nan,
                "fpir_target": target,
                "genuine_kept": kept["genuine"].sum() / max(scores["genuine"].sum(), 1),
                "bin_rank1_closed": closed_set_rank1(in_bin),
                "bin_genuine_frames": int(in_bin["genuine"].sum()),
            }
        )
    curve = pd.DataFrame(rows)
    good = curve["bin_rank1_closed"].fillna(1.0) >= min_rank1
    failing = np.flatnonzero(~good.to_numpy())
    chosen = float(SIZE_BINS[failing[-1] + 1]) if len(failing) else 0.0
    return curve, chosen


def makeup_table(table: pd.DataFrame) -> pd.DataFrame:
    """The accuracy set's make-up: per source, role and resolution, its identities, photos,
    tracks, ground-truth faces and the share the detector found."""
    return (
        table.groupby(["kind", "source", "role", "resolution"], sort=True)
        .agg(
            identities=("person", "nunique"),
            photos=("photo", "nunique"),
            tracks=("track", "nunique"),
            faces=("track", "size"),
            detected=("detected", lambda d: float(np.mean(d.astype(bool)))),
        )
        .reset_index()
    )
