"""Every backend that runs here agrees with the TensorFlow reference; the rest say why not."""

from __future__ import annotations

import numpy as np
import pytest

from facebench.backends.registry import (
    DETECTORS,
    EMBEDDERS,
    availability,
    load_detector,
    load_embedder,
    unavailable_reason,
)
from facebench.boxes import match_boxes
from facebench.errors import FacebenchError
from facebench.faces import largest_face, prewhiten
from facebench.photos import list_photos, read_rgb

RUNNABLE_EMBEDDERS = [n for n, s in EMBEDDERS.items() if unavailable_reason(s) is None]
RUNNABLE_DETECTORS = [n for n, s in DETECTORS.items() if unavailable_reason(s) is None]
MIN_COSINE = {"fp32": 0.9999, "fp16": 0.99, "int8": 0.99}


@pytest.fixture(scope="module")
def photos(faces_dir):
    return [p for p in list_photos(faces_dir, max_per_person=1) if p.split == "val"]


@pytest.fixture(scope="module")
def tf_detector(models_dir):
    return load_detector("tf", models_dir, threads=2)


@pytest.fixture(scope="module")
def real_faces(photos, tf_detector):
    """Prewhitened 160x160 crops of the largest face of each val photo (kept in memory only)."""
    faces = [largest_face(tf_detector, read_rgb(photo.path), "crop") for photo in photos]
    return prewhiten(np.concatenate(faces))


@pytest.fixture(scope="module")
def reference_embeddings(models_dir, real_faces):
    return load_embedder("tf", models_dir, threads=2).embed(real_faces)


@pytest.mark.parametrize("name", RUNNABLE_EMBEDDERS)
def test_embedder_parity(name, models_dir, real_faces, reference_embeddings):
    embeddings = load_embedder(name, models_dir, threads=2).embed(real_faces)
    assert embeddings.shape == (len(real_faces), 128)
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-5)
    cosine = (embeddings * reference_embeddings).sum(axis=1)
    print(name, "min cosine", cosine.min())
    assert cosine.min() >= MIN_COSINE[EMBEDDERS[name].precision]


@pytest.mark.parametrize("name", RUNNABLE_DETECTORS)
def test_detector_parity(name, models_dir, photos, tf_detector):
    detector = load_detector(name, models_dir, threads=2)
    for photo in photos:
        rgb = read_rgb(photo.path)
        ours, ref = detector.detect(rgb), tf_detector.detect(rgb)
        assert len(ours) == len(ref), photo.key
        assert ours.landmarks.shape == (len(ours), 5, 2)
        assert all(iou >= 0.99 for _, _, iou in match_boxes(ref.boxes, ours.boxes)), photo.key


def test_batch_of_eight_matches_batch_of_one(models_dir, real_faces):
    embedder = load_embedder("onnx", models_dir, threads=2)
    batch = embedder.embed(real_faces[:8])
    single = np.concatenate([embedder.embed(real_faces[i : i + 1]) for i in range(len(batch))])
    np.testing.assert_allclose(batch, single, atol=1e-5)


def test_unavailable_backends_carry_a_reason():
    rows = availability()
    assert {r["backend"] for r in rows} >= {"tf", "tflite", "onnx", "openvino", "tensorrt"}
    for row in rows:
        assert row["available"] == (row["reason"] == "")
    if unavailable_reason(EMBEDDERS["tensorrt"]):
        with pytest.raises(FacebenchError, match="'tensorrt' cannot run here: "):
            load_embedder("tensorrt", "resources/models", threads=1)


def test_unknown_backend_and_missing_model_are_one_line_errors(tmp_path):
    with pytest.raises(FacebenchError, match="unknown embedder backend 'caffe'"):
        load_embedder("caffe", tmp_path, threads=1)
    with pytest.raises(FacebenchError, match=r"onnx/facenet\.onnx: model file missing"):
        load_embedder("onnx", tmp_path, threads=1)
