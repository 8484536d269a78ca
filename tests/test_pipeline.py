"""The runner reads and times each frame; the pipeline times the phases of the frame it is
given. Stand-in backends: no model files, no workflow."""

from __future__ import annotations

import time

import numpy as np

from facebench.backends.base import Detections, l2_normalize
from facebench.harness.frame_loop import FRAME_TIME_COLUMNS, run_frames
from facebench.recognition.gallery import Gallery
from facebench.recognition.pipeline import PHASES, FacePipeline

READ_S = 0.02


class OneFaceDetector:
    def detect(self, rgb: np.ndarray, stages: dict | None = None) -> Detections:
        box = np.array([[8, 8, 40, 40]], np.float32)
        return Detections(box, np.array([0.99], np.float32), np.full((1, 5, 2), 20, np.float32))


class ConstantRecognizer:
    def embed(self, faces: np.ndarray) -> np.ndarray:
        return l2_normalize(np.ones((len(faces), 128), np.float32))


def slow_frames(count: int):
    """``count`` frames, each taking READ_S to 'decode'."""
    for _ in range(count):
        time.sleep(READ_S)
        yield np.zeros((64, 64, 3), np.uint8)


def pipeline() -> FacePipeline:
    gallery = Gallery(np.array(["a"]), l2_normalize(np.ones((1, 128))), 0.5)
    return FacePipeline(OneFaceDetector(), ConstantRecognizer(), gallery)


def test_pipeline_takes_one_frame_and_times_its_phases():
    result = pipeline().process(np.zeros((64, 64, 3), np.uint8))
    assert list(result.phase_s()) == [f"t_{phase}_s" for phase in PHASES]
    assert "read" not in PHASES and all(t >= 0 for t in result.phase_s().values())
    assert list(result.identities) == ["a"]


def test_runner_times_the_read_and_each_frame_from_read_to_read():
    log = run_frames(slow_frames(4), pipeline(), warmup_frames=1, progress_every=0)
    frames = log.frames
    assert list(frames.columns[:10]) == [
        "frame",
        "is_warmup",
        *FRAME_TIME_COLUMNS,
        "t_total_s",
        "t_unattributed_s",
        "n_faces",
    ]
    assert FRAME_TIME_COLUMNS[0] == "t_read_s" and len(frames) == 4
    assert list(frames.is_warmup) == [True, False, False, False]
    assert (frames.t_read_s >= READ_S * 0.9).all()
    assert (frames.t_unattributed_s >= 0).all() and (frames.n_faces == 1).all()
    # each frame ends where the next one's read starts
    np.testing.assert_array_equal(log.bounds_ns[1:, 0], log.bounds_ns[:-1, 1])
    np.testing.assert_allclose(frames.t_total_s, np.diff(log.bounds_ns, axis=1)[:, 0] / 1e9)
    assert list(log.faces.identity) == ["a"] * 4


def test_runner_with_no_frames_logs_nothing():
    log = run_frames(iter([]), pipeline(), warmup_frames=0, progress_every=0)
    assert len(log.frames) == 0 and len(log.faces) == 0 and log.bounds_ns.shape == (0, 2)
