"""`facebench bench` values tied to what they claim: GFLOP from the model, reader init timed."""

from __future__ import annotations

import math

import pytest

from facebench.harness.bench import FACENET_GFLOP, _looping_reader, onnx_gflop
from facebench.videos.reader import READERS


def test_facenet_gflop_constant_matches_the_onnx_graph(models_dir):
    assert onnx_gflop(models_dir / "onnx" / "facenet.onnx") == pytest.approx(
        FACENET_GFLOP, rel=0.01
    )


@pytest.mark.parametrize("kind", list(READERS))
def test_reader_init_is_timed(workflow_dir, kind):
    next_frame, init_s = _looping_reader(workflow_dir / "resources/videos/video1/480.mp4", kind)
    assert math.isfinite(init_s) and init_s > 0
    assert next_frame().ndim == 3
