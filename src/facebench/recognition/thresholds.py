"""Open-set identification: how often a stranger is taken for someone enrolled (false accept),
how often an enrolled person is missed (false reject) or taken for someone else, and the
rejection threshold chosen for a target false-accept rate by leave-one-person-out.

Distances are plain L2 between L2-normalised embeddings of a query and its nearest enrolled
photo; a query is accepted (given the nearest name) when that distance is <= the threshold.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from facebench.recognition.identify import nearest

UNKNOWN = "unknown"
MAX_L2 = 2.0  # the largest L2 distance between unit vectors
THRESHOLD_METHODS = ("target_far", "max_accuracy")


@dataclass(frozen=True)
class Trials:
    """Genuine queries (an enrolled person's held-out photo) and impostor queries (a person
    not enrolled), each with the distance to its nearest enrolled photo; ``genuine_hit``: the
    nearest enrolled photo shows the right person."""

    genuine_distance: np.ndarray
    genuine_hit: np.ndarray
    impostor_distance: np.ndarray

    def rates(self, threshold: float) -> dict[str, float]:
        """FAR (impostors accepted), FRR (genuine rejected), misidentified (genuine accepted as
        someone else) and rank-1 (genuine accepted as themselves) at ``threshold``; NaN where a
        side has no queries."""
        genuine, impostor = (
            np.asarray(d, np.float64) for d in (self.genuine_distance, self.impostor_distance)
        )
        accepted = genuine <= threshold
        return {
            "far": _mean(impostor <= threshold),
            "frr": _mean(~accepted),
            "misidentified": _mean(accepted & ~self.genuine_hit),
            "rank1": _mean(accepted & self.genuine_hit),
        }


def _mean(flags: np.ndarray) -> float:
    return float(flags.mean()) if len(flags) else float("nan")


def leave_one_person_out(
    embeddings: np.ndarray, people: np.ndarray, enrol: np.ndarray, strangers: np.ndarray
) -> Trials:
    """Trials pooled over folds where each person in turn plays the stranger.

    ``embeddings`` (N, D) L2-normalised, ``people`` (N,) names, ``enrol`` (N,) True for the
    photos that may be enrolled (train) and False for held-out queries (val). In the fold of
    person p the gallery is the enrol photos of everyone else, genuine queries are the held-out
    photos of everyone else, and every photo of p is an impostor query; ``strangers`` (M, D)
    are photos of people never enrolled, impostor queries in every fold.
    """
    genuine_d, genuine_hit, impostor_d = [], [], []
    for person in np.unique(people[enrol]):
        gallery = enrol & (people != person)
        genuine = ~enrol & (people != person) & np.isin(people, people[gallery])
        impostors = np.concatenate([embeddings[people == person], strangers])
        index, distance = nearest(embeddings[gallery], embeddings[genuine])
        genuine_d.append(distance)
        genuine_hit.append(people[gallery][index] == people[genuine])
        impostor_d.append(nearest(embeddings[gallery], impostors)[1])
    return Trials(*(np.concatenate(parts) for parts in (genuine_d, genuine_hit, impostor_d)))


def threshold_for_far(impostor_distance: np.ndarray, target_far: float) -> float:
    """The largest threshold whose false-accept rate on ``impostor_distance`` is <= target:
    midway between the last distance it may accept and the next one (ties move together), in
    float64, where the midpoint of two float32 distances lies strictly between them."""
    distances = np.sort(np.asarray(impostor_distance, np.float64))
    values = np.unique(distances)
    accepted = np.searchsorted(distances, values, side="right")
    allowed = target_far * len(distances) + 1e-9
    within = int(np.searchsorted(accepted, allowed, side="right"))  # values it may accept
    if within >= len(values):
        return MAX_L2
    below = values[within - 1] if within else 0.0
    return float((below + values[within]) / 2)


def choose_threshold(
    distances: np.ndarray, nearest_names: np.ndarray, truth: np.ndarray
) -> tuple[float, float]:
    """The L2 threshold maximising open-set accuracy on labelled queries (truth ``unknown`` for
    people not enrolled), as the midpoint between neighbouring candidate distances; and that
    accuracy."""
    candidates = np.unique(np.r_[0.0, distances, 2 * MAX_L2])
    midpoints = (candidates[:-1] + candidates[1:]) / 2
    accuracy = [
        np.mean(np.where(distances <= t, nearest_names, UNKNOWN) == truth) for t in midpoints
    ]
    best = int(np.argmax(accuracy))
    return float(midpoints[best]), float(accuracy[best])


def det_curve(trials: Trials, steps: int = 201) -> pd.DataFrame:
    """FAR, FRR, misidentified and rank-1 over thresholds 0..2 (the DET curve's points)."""
    thresholds = np.linspace(0.0, MAX_L2, steps)
    return pd.DataFrame([{"threshold": t, **trials.rates(t)} for t in thresholds])
