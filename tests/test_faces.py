"""Face preparation, box geometry and atomic writes (no models needed)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from facebench.backends.base import l2_normalize
from facebench.fileio import atomic_path
from facebench.recognition.boxes import iou_matrix, match_boxes
from facebench.recognition.faces import (
    SIMILARITY_TEMPLATE,
    crop_with_margin,
    extract_faces,
    prewhiten,
    similarity_fallbacks,
    similarity_matrix,
)


def test_prewhiten_standardises_each_face():
    faces = np.random.default_rng(1).integers(0, 255, (3, 160, 160, 3)).astype(np.uint8)
    out = prewhiten(faces)
    np.testing.assert_allclose(out.mean(axis=(1, 2, 3)), 0, atol=1e-4)
    np.testing.assert_allclose(out.std(axis=(1, 2, 3)), 1, atol=1e-3)
    flat = prewhiten(np.full((1, 160, 160, 3), 7, np.uint8))  # std floored, no division by 0
    assert np.isfinite(flat).all() and np.abs(flat).max() == 0


def test_crop_margin_is_a_share_of_the_box_and_pads_at_the_border():
    frame = np.random.default_rng(2).integers(0, 255, (100, 200, 3)).astype(np.uint8)

    def resized(region: np.ndarray) -> np.ndarray:
        return cv2.resize(region, (160, 160), interpolation=cv2.INTER_LINEAR)

    # 40x30 box, margin 0.4: 8 px each side horizontally, 6 px vertically
    inside = crop_with_margin(frame, np.array([60.0, 30.0, 100.0, 60.0]), 0.4)
    np.testing.assert_array_equal(inside, resized(frame[24:66, 52:108]))
    # twice the box, twice the margin in pixels: the face fills the same share of the input
    big = crop_with_margin(frame, np.array([40.0, 20.0, 120.0, 80.0]), 0.4)
    np.testing.assert_array_equal(big, resized(frame[8:92, 24:136]))
    # at the border the frame is padded by its edge pixels, not clipped and stretched
    border = crop_with_margin(frame, np.array([-10.0, 10.0, 40.0, 60.0]), 0.4)
    padded = cv2.copyMakeBorder(frame, 0, 0, 20, 0, cv2.BORDER_REPLICATE)[0:70, 0:70]
    np.testing.assert_array_equal(border, resized(padded))
    assert not np.array_equal(border, resized(frame[0:70, 0:50]))  # what clipping gives
    outside = crop_with_margin(frame, np.array([500.0, 500.0, 600.0, 600.0]), 0.4)
    assert outside.shape == (160, 160, 3) and outside.max() == 0


def test_extract_faces_passes_the_margin_on():
    frame = np.random.default_rng(4).integers(0, 255, (120, 120, 3)).astype(np.uint8)
    box = np.array([[40.0, 40.0, 80.0, 80.0]])
    for margin in (0.0, 0.4, 1.0):
        faces = extract_faces(frame, box, np.zeros((1, 5, 2)), "crop", margin)
        np.testing.assert_array_equal(faces[0], crop_with_margin(frame, box[0], margin))
    assert not np.array_equal(
        extract_faces(frame, box, np.zeros((1, 5, 2)), "crop", 0.0),
        extract_faces(frame, box, np.zeros((1, 5, 2)), "crop", 1.0),
    )


def test_similarity_alignment_puts_landmarks_on_template():
    frame = np.zeros((300, 300, 3), np.uint8)
    # landmarks of a face rotated by 12 degrees, scaled by 0.8 and shifted: a similarity image
    # of the template, so alignment must put them back on it
    angle = np.deg2rad(12)
    rotation = 0.8 * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    points = (SIMILARITY_TEMPLATE @ rotation.T + [70, 60]).round().astype(np.float32)
    for x, y in points.astype(int):
        frame[y - 1 : y + 2, x - 1 : x + 2] = 255
    matrix = similarity_matrix(points)
    moved = points @ matrix[:, :2].T + matrix[:, 2]
    np.testing.assert_allclose(moved, SIMILARITY_TEMPLATE, atol=3.0)
    before = similarity_fallbacks()
    faces = extract_faces(frame, np.zeros((1, 4)), points[None], "similarity")
    assert similarity_fallbacks() == before  # aligned, not cropped
    assert faces.shape == (1, 160, 160, 3)
    for x, y in SIMILARITY_TEMPLATE.round().astype(int):  # each dot drawn where its point lands
        assert faces[0, y - 3 : y + 4, x - 3 : x + 4].max() > 100, (x, y)
    with pytest.raises(ValueError, match="alignment"):
        extract_faces(frame, np.zeros((1, 4)), points[None], "affine3d")


def test_similarity_falls_back_to_a_crop_and_counts_it():
    frame = np.random.default_rng(3).integers(0, 255, (300, 300, 3)).astype(np.uint8)
    same_point = np.full((5, 2), 150.0, np.float32)  # no transform fits five equal points
    before = similarity_fallbacks()
    faces = extract_faces(frame, np.zeros((1, 4)), same_point[None], "similarity")
    assert similarity_fallbacks() == before + 1
    box = np.array([150.0, 150.0, 150.0, 150.0])
    np.testing.assert_array_equal(faces[0], crop_with_margin(frame, box))


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
