"""One frame through read -> detect -> align -> embed -> identify, each phase timed.

The pipeline knows nothing of measurement files: it returns phase times (monotonic
``perf_counter_ns``) and what it found; the runner (``runner.py``) logs them.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from facebench.backends.base import Detections
from facebench.faces import extract_faces, prewhiten
from facebench.gallery import Gallery

PHASES = ("read", "detect", "align", "embed", "identify")
BATCHING = ("per_face", "per_frame")


@dataclass(frozen=True)
class FrameResult:
    """What one frame produced, and the clock at each phase boundary (ns)."""

    boundaries_ns: tuple[int, ...]  # len(PHASES) + 1 perf_counter_ns readings
    detections: Detections
    identities: np.ndarray  # (N,) name or "unknown"
    distances: np.ndarray  # (N,) L2 to the nearest enrolled face
    detect_stages_s: dict[str, float]  # MTCNN sub-stages (pyramid, pnet, rnet, onet)

    def phase_s(self) -> dict[str, float]:
        """Seconds per phase, ``t_<phase>_s``, and the whole frame, ``t_total_s``."""
        ns = np.diff(self.boundaries_ns)
        times = {f"t_{phase}_s": float(d) / 1e9 for phase, d in zip(PHASES, ns, strict=True)}
        times["t_total_s"] = (self.boundaries_ns[-1] - self.boundaries_ns[0]) / 1e9
        return times


class FacePipeline:
    """MTCNN detector + FaceNet embedder + gallery; faces embedded one by one (batch 1, as
    the paper) or all faces of a frame as one batch."""

    def __init__(
        self,
        detector,
        embedder,
        gallery: Gallery,
        alignment: str = "crop",
        batching: str = "per_face",
    ) -> None:
        if batching not in BATCHING:
            raise ValueError(f"batching {batching!r} not in {BATCHING}")
        self.detector, self.embedder, self.gallery = detector, embedder, gallery
        self.alignment, self.batching = alignment, batching

    def _embed(self, faces: np.ndarray) -> np.ndarray:
        if self.batching == "per_frame" or len(faces) <= 1:
            return self.embedder.embed(faces) if len(faces) else np.zeros((0, 128), np.float32)
        return np.concatenate([self.embedder.embed(faces[i : i + 1]) for i in range(len(faces))])

    def process(self, frames: Iterator[np.ndarray]) -> FrameResult | None:
        """Read the next frame from ``frames`` and run every phase on it (None at the end)."""
        clock = time.perf_counter_ns
        t_start = clock()
        rgb = next(frames, None)
        if rgb is None:
            return None
        t_read = clock()
        stages: dict[str, float] = {}
        found = self.detector.detect(rgb, stages)
        t_detect = clock()
        faces = prewhiten(extract_faces(rgb, found.boxes, found.landmarks, self.alignment))
        t_align = clock()
        embeddings = self._embed(faces)
        t_embed = clock()
        identities, distances = self.gallery.identify(embeddings)
        t_identify = clock()
        return FrameResult(
            (t_start, t_read, t_detect, t_align, t_embed, t_identify),
            found,
            identities,
            distances,
            stages,
        )
