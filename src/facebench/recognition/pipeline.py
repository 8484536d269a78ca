"""One decoded frame through detect -> align -> embed -> identify, each phase timed.

The pipeline knows nothing of inputs or measurement files: it takes a frame, returns phase
times (monotonic ``perf_counter_ns``) and what it found; the runner (``runner.py``) reads the
frames, times the read and logs everything, so how frames arrive is the runner's setting.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from facebench.backends.base import Detections
from facebench.models.layout import FACENET_EMBEDDING_SIZE
from facebench.recognition.faces import extract_faces, prewhiten
from facebench.recognition.gallery import TOO_SMALL, Gallery

PHASES = ("detect", "align", "embed", "identify")
BATCHING = ("per_face", "per_frame")


@dataclass(frozen=True)
class FrameResult:
    """What one frame produced, and the clock at each phase boundary (ns)."""

    boundaries_ns: tuple[int, ...]  # len(PHASES) + 1 perf_counter_ns readings
    detections: Detections
    identities: np.ndarray  # (N,) name, "unknown" or "too_small"
    distances: np.ndarray  # (N,) L2 to the nearest enrolled face (NaN when too small)
    nearest: np.ndarray  # (N,) the nearest enrolled person, threshold not applied ("" if small)
    embeddings: np.ndarray  # (M, 128) of the M faces not too small, in order
    detect_stages_s: dict[str, float]  # MTCNN sub-stages (pyramid, pnet, rnet, onet)

    def phase_s(self) -> dict[str, float]:
        """Seconds per phase, ``t_<phase>_s``."""
        ns = np.diff(self.boundaries_ns)
        return {f"t_{phase}_s": float(d) / 1e9 for phase, d in zip(PHASES, ns, strict=True)}


class FacePipeline:
    """MTCNN detector + FaceNet recognizer + gallery; faces embedded one by one (batch 1, as
    the paper) or all faces of a frame as one batch."""

    def __init__(
        self,
        detector,
        recognizer,
        gallery: Gallery,
        alignment: str = "crop",
        batching: str = "per_face",
    ) -> None:
        if batching not in BATCHING:
            raise ValueError(f"batching {batching!r} not in {BATCHING}")
        self.detector, self.recognizer, self.gallery = detector, recognizer, gallery
        self.alignment, self.batching = alignment, batching

    def _embed(self, faces: np.ndarray) -> np.ndarray:
        if not len(faces):
            return np.zeros((0, FACENET_EMBEDDING_SIZE), np.float32)
        if self.batching == "per_frame" or len(faces) == 1:
            return self.recognizer.embed(faces)
        return np.concatenate([self.recognizer.embed(faces[i : i + 1]) for i in range(len(faces))])

    def recognize(self, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Identities, distances and embeddings of (N, 160, 160, 3) uint8 faces cropped
        elsewhere (the hybrid strategy's server half), untimed."""
        embeddings = self._embed(prewhiten(faces))
        return (*self.gallery.identify(embeddings), embeddings)

    def process(self, rgb: np.ndarray) -> FrameResult:
        """Run every phase on one decoded (H, W, 3) uint8 RGB frame."""
        clock = time.perf_counter_ns
        t_start = clock()
        stages: dict[str, float] = {}
        found = self.detector.detect(rgb, stages)
        t_detect = clock()
        big = self.gallery.big_enough(found.boxes)
        margin = self.gallery.crop_margin
        faces = prewhiten(
            extract_faces(rgb, found.boxes[big], found.landmarks[big], self.alignment, margin)
        )
        t_align = clock()
        embeddings = self._embed(faces)
        t_embed = clock()
        nearest = np.full(len(found), "", dtype=object)
        distances = np.full(len(found), np.nan)
        nearest[big], distances[big] = self.gallery.match(embeddings)
        identities = np.where(big, self.gallery.accept(nearest, distances), TOO_SMALL)
        t_identify = clock()
        return FrameResult(
            (t_start, t_detect, t_align, t_embed, t_identify),
            found,
            identities,
            distances,
            nearest,
            embeddings,
            stages,
        )
