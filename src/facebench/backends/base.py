"""The small interfaces every framework implements: a loaded model file, run on a batch; the
MTCNN nets and the FaceNet recognizer built from such models."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class Detections:
    """Faces found in one frame, in the frame's pixel coordinates (boxes not clipped)."""

    boxes: np.ndarray  # (N, 4) float32: x1, y1, x2, y2
    scores: np.ndarray  # (N,) float32
    landmarks: np.ndarray  # (N, 5, 2) float32: (x, y) of eyes, nose, mouth corners
    # the detector's work on the frame (MTCNN: facebench.recognition.mtcnn.WORK_COUNTS);
    # empty: not reported
    work: dict[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.scores)


class MtcnnNets(Protocol):
    """The three MTCNN networks of one framework; inputs are normalised NHWC float32 RGB."""

    def pnet(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(1, H, W, 3) -> box regression (1, h, w, 4), face probability (1, h, w, 2)."""
        ...

    def rnet(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(N, 24, 24, 3) -> box regression (N, 4), face probability (N, 2)."""
        ...

    def onet(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(N, 48, 48, 3) -> box regression (N, 4), landmarks (N, 10), face probability (N, 2)."""
        ...


class Model(Protocol):
    """One model file loaded by one framework: a float32 batch in, every output as an array."""

    info: dict  # framework, version, precision that ran, ...
    input_shape: tuple[int | None, ...]  # one sample's input dims, None where free (H, W, C)

    def __call__(self, x: np.ndarray) -> list[np.ndarray]: ...


class Recognizer(Protocol):
    """FaceNet: prewhitened (N, 160, 160, 3) float32 faces -> (N, 128) L2-normalised embeddings."""

    def embed(self, faces: np.ndarray) -> np.ndarray: ...


def l2_normalize(embeddings: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm (a zero row stays zero)."""
    norms = np.linalg.norm(embeddings, axis=1, keepdims=True)
    return embeddings / np.maximum(norms, 1e-12)


class ModelRecognizer:
    """The Recognizer over any framework's FaceNet model: its one output, L2-normalised."""

    def __init__(self, model: Model, info: dict) -> None:
        self._model, self.info = model, info

    def embed(self, faces: np.ndarray) -> np.ndarray:
        return l2_normalize(self._model(faces)[0])


class CallableNets:
    """MtcnnNets from three callables that each return the net's outputs in Keras order."""

    def __init__(self, pnet, rnet, onet, info: dict) -> None:
        self._pnet, self._rnet, self._onet, self.info = pnet, rnet, onet, info

    def pnet(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        reg, prob = self._pnet(image)
        return reg, prob

    def rnet(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        reg, prob = self._rnet(crops)
        return reg, prob

    def onet(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        reg, landmarks, prob = self._onet(crops)
        return reg, landmarks, prob
