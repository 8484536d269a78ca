"""Identity per track: quality, template, kept label, settled rule, and the per-track counts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from facebench.analysis.accuracy import run_accuracy
from facebench.recognition import tracker, tracks
from facebench.recognition.gallery import TOO_SMALL, UNKNOWN, Gallery
from facebench.recognition.tracks import (
    SETTLE_FACES,
    TrackIdentity,
    face_quality,
    track_template,
    with_tracks,
)
from facebench.strategies.edge import Edge, EdgeSettings


def unit(*values: float) -> np.ndarray:
    row = np.zeros(128)
    row[: len(values)] = values
    return row / np.linalg.norm(row)


A, B = unit(1, 0, 0), unit(0, 1, 0)
GALLERY = Gallery(np.array(["a", "a", "b"]), np.stack([A, unit(1, 0.1, 0), B]), 1.0)


def test_quality_grows_with_size_and_score_up_to_one():
    assert face_quality(20, 1.0) < face_quality(40, 1.0) < face_quality(80, 1.0) == 1.0
    assert face_quality(400, 1.0) == 1.0
    assert face_quality(40, 0.5) == pytest.approx(face_quality(40, 1.0) / 2)


def test_template_is_the_quality_weighted_mean_of_normalised_embeddings():
    template = track_template(np.stack([3 * A, B]), np.array([3.0, 1.0]))  # norms do not weigh
    np.testing.assert_allclose(template, unit(3, 1, 0))
    assert np.linalg.norm(template) == pytest.approx(1.0)
    np.testing.assert_allclose(track_template(np.stack([A, B]), np.array([1.0, 0.0])), A)
    np.testing.assert_allclose(track_template(np.stack([A, B]), np.zeros(2)), unit(1, 1, 0))


def test_a_long_track_keeps_running_sums_equal_to_its_template():
    """However many faces a track has, it holds two vectors: its label is that of the batch
    template of all of them (a server's per-client track used to keep every embedding)."""
    rng = np.random.default_rng(0)
    embeddings = A + 0.3 * rng.standard_normal((2000, 128))
    quality = rng.uniform(0, 1, 2000)
    track = TrackIdentity()
    for embedding, weight in zip(embeddings, quality, strict=True):
        track.add(GALLERY, embedding, weight, distance=0.5)
    template = track_template(embeddings, quality)
    np.testing.assert_allclose(track.weighted / np.linalg.norm(track.weighted), template)
    assert track.weighted.shape == track.plain.shape == (128,)
    assert track.label == GALLERY.identify(template[None])[0][0] and track.last_distance == 0.5
    unweighted = TrackIdentity()  # every quality 0: the plain mean decides
    unweighted.add(GALLERY, B, 0.0)
    assert unweighted.label == "b"


def test_label_is_kept_not_overwritten_by_one_poor_crop():
    track = TrackIdentity()
    for _ in range(4):
        assert track.add(GALLERY, A, 1.0) == "a"
    poor = unit(0.1, 1, 0)  # alone, this crop is b
    assert GALLERY.identify(poor[None])[0][0] == "b"
    assert track.add(GALLERY, poor, 0.3) == "a"


def test_settled_after_stable_faces_with_a_margin_only():
    track = TrackIdentity()
    for count in range(1, SETTLE_FACES + 1):
        track.add(GALLERY, A, 1.0)
        assert track.settled == (count >= SETTLE_FACES)
    two = Gallery(np.array(["a", "b"]), np.stack([A, B]), 1.0)
    halfway = TrackIdentity()  # as near b as a (a by a hair): no margin, never settled
    for _ in range(3 * SETTLE_FACES):
        assert halfway.add(two, unit(1, 0.99, 0), 1.0) == "a"
    assert not halfway.settled
    stranger = TrackIdentity()  # far from everyone: settled as unknown
    for _ in range(SETTLE_FACES):
        assert stranger.add(GALLERY, unit(0, 0, 1), 1.0) == UNKNOWN
    assert stranger.settled


def test_one_tracker_for_runs_and_the_hybrid_edge():
    assert tracks.IouTracker is tracker.IouTracker
    assert isinstance(Edge(EdgeSettings("hybrid")).tracker, tracker.IouTracker)


def test_faces_get_tracks_labels_and_settled_flags():
    rows, embedded = [], []
    for frame in range(7):
        rows.append((frame, 10 + frame, 10, 60, 60, 0.99, "x"))  # a, moving slowly
        embedded.append(A)
        small = frame == 0
        rows.append((frame, 300, 10, 12, 12, 0.9, TOO_SMALL if small else "x"))
        if not small:
            embedded.append(B)
    faces = pd.DataFrame(rows, columns=["frame", "x", "y", "w", "h", "score", "identity"])
    out = with_tracks(faces, np.stack(embedded), 25.0, GALLERY)
    first, second = out[out.x < 200], out[out.x >= 200]
    assert first.track_id.nunique() == 1 and second.track_id.nunique() == 1
    assert first.track_id.iloc[0] != second.track_id.iloc[0]
    assert (first.track_identity == "a").all()
    assert second.track_identity.tolist() == [TOO_SMALL] + ["b"] * 6
    # settled before the 6th face: the 6th and 7th faces would not have been embedded
    assert first.track_settled.tolist() == [False] * SETTLE_FACES + [True, True]


COLUMNS = ["frame", "x", "y", "w", "h", "identity", "track_id", "track_identity", "track_settled"]


def test_per_frame_and_per_track_accuracy_on_a_known_table():
    config = {"device": "d", "detector": "tf", "recognizer": "tf", "video": "v"}
    truth = pd.DataFrame(
        [(f, "ben", 0, 0, 100, 100, True) for f in range(6)]
        + [(f, "madonna", 300, 0, 100, 100, True) for f in range(6)],  # a stranger
        columns=["frame", "identity", "x", "y", "w", "h", "detectable"],
    ).assign(video="v", resolution="HD")
    ben_frame = [UNKNOWN, "jerry", "ben", "jerry", "ben", "ben"]
    ben_track = [UNKNOWN, "jerry", "ben", "ben", "ben", "ben"]  # 2 switches, right from frame 2
    stranger = [UNKNOWN, UNKNOWN, UNKNOWN, "elton", UNKNOWN, "elton"]  # 3 switches, ends wrong
    faces = pd.DataFrame(
        [(f, 0, 0, 100, 100, ben_frame[f], 0, ben_track[f], f == 5) for f in range(6)]
        + [(f, 300, 0, 100, 100, stranger[f], 1, stranger[f], False) for f in range(6)],
        columns=COLUMNS,
    ).assign(**config, resolution="HD")
    frames = pd.DataFrame({"frame": range(6)}).assign(**config, resolution="HD")
    keys = [*config, "resolution"]
    row = run_accuracy(frames, faces, truth, {"ben", "jerry", "elton"}, keys=keys).iloc[0]
    assert row.identification_accuracy == pytest.approx(7 / 12)  # each face's own label
    assert row.identification_accuracy_track == pytest.approx(8 / 12)  # its track's label
    assert (row.n_tracks, row.tracks_correct, row.track_accuracy) == (2, 1, 0.5)
    assert row.switches_per_track == pytest.approx(5 / 2)
    assert row.mean_frames_to_first_correct == pytest.approx((2 + 0) / 2)
    assert row.settled_saved_share == pytest.approx(1 / 12)
    untracked = run_accuracy(
        frames,
        faces.drop(columns=["track_id", "track_identity", "track_settled"]),
        truth,
        {"ben", "jerry", "elton"},
        keys=keys,
    ).iloc[0]
    assert untracked.identification_accuracy == pytest.approx(7 / 12)
    assert np.isnan(untracked.track_accuracy) and untracked.n_tracks == 0
