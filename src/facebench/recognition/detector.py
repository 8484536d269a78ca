"""The MTCNN detector of a backend by name: the shared numpy stages driving that framework's
nets (see :data:`facebench.backends.registry.DETECTORS`)."""

from __future__ import annotations

from pathlib import Path

from facebench.backends.registry import load_mtcnn_nets
from facebench.recognition.mtcnn import Mtcnn, MtcnnParams


def load_detector(
    name: str, models_dir: Path, threads: int, params: MtcnnParams | None = None
) -> Mtcnn:
    """MTCNN detector: the shared numpy stages driving backend ``name``'s nets."""
    nets = load_mtcnn_nets(name, models_dir, threads)
    detector = Mtcnn(nets, params or MtcnnParams(), threads)
    detector.info = {**nets.info, "backend": name}
    return detector
