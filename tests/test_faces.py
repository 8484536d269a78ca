"""Face preparation, box geometry and atomic writes (no models needed)."""

from __future__ import annotations

import numpy as np
import pytest

from facebench.boxes import iou_matrix, match_boxes
from facebench.faces import crop_with_margin, extract_faces, l2_normalize, prewhiten
from facebench.fileio import atomic_path


def test_prewhiten_standardises_each_face():
    faces = np.random.default_rng(1).integers(0, 255, (3, 160, 160, 3)).astype(np.uint8)
    out = prewhiten(faces)
    np.testing.assert_allclose(out.mean(axis=(1, 2, 3)), 0, atol=1e-4)
    np.testing.assert_allclose(out.std(axis=(1, 2, 3)), 1, atol=1e-3)
    flat = prewhiten(np.full((1, 160, 160, 3), 7, np.uint8))  # std floored, no division by 0
    assert np.isfinite(flat).all() and np.abs(flat).max() == 0


def test_crop_clips_to_frame_and_resizes():
    frame = np.arange(100 * 200 * 3, dtype=np.uint32).reshape(100, 200, 3).astype(np.uint8)
    face = crop_with_margin(frame, np.array([-30.0, -10.0, 50.0, 60.0]))
    assert face.shape == (160, 160, 3)
    outside = crop_with_margin(frame, np.array([500.0, 500.0, 600.0, 600.0]))
    assert outside.shape == (160, 160, 3) and outside.max() == 0


def test_similarity_alignment_puts_landmarks_on_template():
    frame = np.zeros((300, 300, 3), np.uint8)
    points = np.array([[100, 120], [160, 120], [130, 150], [105, 180], [155, 180]], np.float32)
    for x, y in points.astype(int):
        frame[y - 1 : y + 2, x - 1 : x + 2] = 255
    faces = extract_faces(frame, np.zeros((1, 4)), points[None], "similarity")
    assert faces.shape == (1, 160, 160, 3) and faces.max() == 255
    with pytest.raises(ValueError, match="alignment"):
        extract_faces(frame, np.zeros((1, 4)), points[None], "affine3d")


def test_l2_normalize_and_iou_matching():
    rows = l2_normalize(np.array([[3.0, 4.0], [0.0, 0.0]]))
    np.testing.assert_allclose(rows, [[0.6, 0.8], [0.0, 0.0]])
    a = np.array([[0, 0, 10, 10], [20, 20, 30, 30]], float)
    b = np.array([[21, 21, 31, 31], [0, 0, 10, 5]], float)
    np.testing.assert_allclose(iou_matrix(a, a).diagonal(), 1.0)
    pairs = match_boxes(a, b)
    assert [(i, j) for i, j, _ in pairs] == [(1, 0), (0, 1)]
    assert [iou for _, _, iou in pairs] == pytest.approx([81 / 119, 0.5])


def test_atomic_path_keeps_old_output_on_failure(tmp_path):
    final = tmp_path / "table.csv"
    final.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(final) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert final.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["table.csv"]
    with atomic_path(final) as tmp:
        tmp.write_text("new")
    assert final.read_text() == "new"
