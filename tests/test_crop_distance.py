"""The crop-distance figure's two crops and its drawing (no models needed)."""

from __future__ import annotations

import cv2
import numpy as np
import pandas as pd
from helpers import svg_text

from facebench.analysis.openset.crop_distance import before_and_after, crop_fixed_px, draw
from facebench.recognition.faces import crop_with_margin


def test_the_paper_crop_adds_44_px_and_clips_the_proportional_one_does_not():
    frame = np.random.default_rng(2).integers(0, 255, (100, 200, 3)).astype(np.uint8)

    def resized(region: np.ndarray) -> np.ndarray:
        return cv2.resize(region, (160, 160), interpolation=cv2.INTER_LINEAR)

    box = np.array([60.0, 30.0, 100.0, 60.0])
    np.testing.assert_array_equal(crop_fixed_px(frame, box, 44), resized(frame[8:82, 38:122]))
    edge = np.array([-30.0, -10.0, 50.0, 60.0])
    np.testing.assert_array_equal(crop_fixed_px(frame, edge, 44), resized(frame[0:82, 0:72]))
    paper, ours = before_and_after(0.4)
    np.testing.assert_array_equal(paper.cut(frame, box), crop_fixed_px(frame, box, 44))
    np.testing.assert_array_equal(ours.cut(frame, box), crop_with_margin(frame, box, 0.4))
    assert ours.label == "0.4 x box side"


def test_figure_counts_faces_and_people(tmp_path):
    distances = pd.DataFrame(
        {
            "crop": ["44 px (paper)"] * 3 + ["0.4 x box side"] * 3,
            "identity": ["a", "a", "b"] * 2,
            "face_h_px": [20.0, 80.0, 200.0] * 2,
            "distance": [1.3, 1.0, 0.8, 1.2, 0.6, 0.3],
        }
    )
    draw(distances, tmp_path / "f.svg", 1.0)
    text = svg_text(tmp_path / "f.svg")
    assert "3 video faces of 2 people" in text and "threshold" in text
