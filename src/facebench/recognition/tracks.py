"""Identity per track: a face track's template, its label and when that label is settled.

A track's template is the quality-weighted mean of its faces' L2-normalised embeddings,
renormalised (:func:`track_template`); quality grows with the face's size up to
``FULL_QUALITY_PX`` and with the detector's score (:func:`face_quality`). The track's label is
the template's nearest enrolled person within the gallery's threshold (``unknown`` beyond it),
so one poor crop refines the template a little instead of overwriting the label. The label is
*settled* once it has stayed the same for ``SETTLE_FACES`` embedded faces and the template is
at least ``SETTLE_MARGIN`` (L2) from the decision's boundary: the threshold and, for a name,
the second-nearest enrolled person. From then on recognition of the track could stop.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from facebench.recognition.gallery import TOO_SMALL, UNKNOWN, Gallery
from facebench.recognition.tracker import IouTracker

FULL_QUALITY_PX = 80.0  # a face this tall or taller counts fully (FaceNet's input is 160)
SETTLE_FACES = 5
SETTLE_MARGIN = 0.05
TRACK_COLUMNS = ("track_id", "track_identity", "track_settled")


def face_quality(box_side_px: float, score: float) -> float:
    """A face's weight in its track's template: min(1, side / FULL_QUALITY_PX) x score."""
    return float(min(max(box_side_px, 0.0) / FULL_QUALITY_PX, 1.0) * min(max(score, 0.0), 1.0))


def track_template(embeddings: np.ndarray, quality: np.ndarray) -> np.ndarray:
    """(128,) unit vector: the ``quality``-weighted mean of the L2-normalised ``embeddings``
    (N, 128), renormalised; equal weights where every quality is 0; a zero vector (nearest no
    one) where the embeddings are."""
    rows = embeddings / _nonzero(np.linalg.norm(embeddings, axis=1, keepdims=True))
    weights = np.asarray(quality, np.float64)
    return _template(weights @ rows, rows.sum(axis=0), float(weights.sum()))


def _template(weighted: np.ndarray, plain: np.ndarray, total_quality: float) -> np.ndarray:
    """The unit template from the weighted and the plain sums of unit embeddings."""
    mean = weighted if total_quality > 0 else plain
    return mean / _nonzero(np.linalg.norm(mean))


def _nonzero(norm: np.ndarray) -> np.ndarray:
    return np.where(norm > 0, norm, 1.0)


def decide(gallery: Gallery, template: np.ndarray) -> tuple[str, float]:
    """The template's label (nearest person within the threshold, else ``unknown``) and its
    margin: L2 from the decision's boundary (threshold; second-nearest person for a name)."""
    people, inverse = np.unique(gallery.names, return_inverse=True)
    similarity = gallery.embeddings @ template
    best = np.full(len(people), -np.inf)
    np.maximum.at(best, inverse, similarity)
    distance = np.sqrt(np.maximum(2.0 - 2.0 * best, 0.0))
    order = np.argsort(distance)
    first = distance[order[0]]
    if first > gallery.threshold_l2:
        return UNKNOWN, float(first - gallery.threshold_l2)
    second = distance[order[1]] if len(order) > 1 else np.inf
    return str(people[order[0]]), float(min(gallery.threshold_l2 - first, second - first))


@dataclass
class TrackIdentity:
    """One track's label, whether that label is settled, and its latest face's distance; its
    faces are kept as running sums, so a track costs the same memory however long it lives."""

    weighted: np.ndarray | None = None  # quality-weighted sum of the unit embeddings
    plain: np.ndarray | None = None  # their plain sum
    total_quality: float = 0.0
    label: str = TOO_SMALL  # until a face of the track is embedded
    stable: int = 0  # embedded faces in a row with this label
    settled: bool = False
    last_distance: float = float("nan")  # the latest face's distance to its nearest person

    def add(
        self, gallery: Gallery, embedding: np.ndarray, quality: float, distance: float = np.nan
    ) -> str:
        """Refine the template with one embedded face (``distance``: its own distance to its
        nearest person); the track's label after it."""
        row = np.asarray(embedding, np.float64)
        row = row / _nonzero(np.linalg.norm(row))
        self.weighted = quality * row + (0.0 if self.weighted is None else self.weighted)
        self.plain = row + (0.0 if self.plain is None else self.plain)
        self.total_quality += quality
        self.last_distance = float(distance)
        label, margin = decide(gallery, _template(self.weighted, self.plain, self.total_quality))
        self.stable = self.stable + 1 if label == self.label else 1
        self.label = label
        if self.stable >= SETTLE_FACES and margin >= SETTLE_MARGIN:
            self.settled = True
        return label


def with_tracks(
    faces: pd.DataFrame, embeddings: np.ndarray, fps: float, gallery: Gallery
) -> pd.DataFrame:
    """faces.csv rows (frame order) with ``track_id`` (:class:`IouTracker` on the boxes, frame
    times ``frame / fps``), ``track_identity`` (the track's label after this face) and
    ``track_settled`` (the track was settled before this face: a settled-track policy would not
    have embedded it). ``embeddings``: one row per face not ``too_small``, in order."""
    tracker, tracks = IouTracker(), {}
    embedded = (faces["identity"] != TOO_SMALL).to_numpy()
    row_of_face = np.cumsum(embedded) - 1
    boxes = np.stack(
        [faces["x"], faces["y"], faces["x"] + faces["w"], faces["y"] + faces["h"]], axis=1
    )
    ids = np.zeros(len(faces), np.int64)
    labels = np.empty(len(faces), dtype=object)
    settled = np.zeros(len(faces), bool)
    positions = faces.groupby("frame", sort=True).indices
    for frame, rows in positions.items():
        ids[rows] = tracker.update(boxes[rows], frame / fps)
        for row in rows:
            track = tracks.setdefault(int(ids[row]), TrackIdentity())
            settled[row] = track.settled
            if embedded[row]:
                quality = face_quality(
                    min(faces["w"].iat[row], faces["h"].iat[row]), faces["score"].iat[row]
                )
                track.add(gallery, embeddings[row_of_face[row]], quality)
            labels[row] = track.label
    return faces.assign(track_id=ids, track_identity=labels, track_settled=settled)
