"""What the server and the edge both need: the pipeline, a clip in memory, JPEG encoding."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from facebench.backends.registry import load_detector, load_recognizer
from facebench.errors import FacebenchError
from facebench.gallery import Gallery
from facebench.pipeline import FacePipeline
from facebench.videos.reader import open_reader

MAX_CLIP_BYTES = 2 << 30  # a clip is held decoded in memory: refuse more than 2 GiB


def load_pipeline(
    models_dir: Path,
    gallery: Path,
    detector: str,
    recognizer: str,
    threads: int,
    alignment: str,
) -> FacePipeline:
    """The paper's pipeline (batch 1 per face) from converted models and a gallery."""
    return FacePipeline(
        load_detector(detector, models_dir, threads),
        load_recognizer(recognizer, models_dir, threads),
        Gallery.load(gallery),
        alignment,
    )


def read_clip(video: Path) -> tuple[list[np.ndarray], float]:
    """Every frame of ``video`` decoded (RGB uint8) and its frame rate: the camera replays
    frames from memory, so decoding the file is not part of what is measured."""
    frames: list[np.ndarray] = []
    with open_reader(video) as reader:
        for rgb in reader:
            frames.append(rgb)
            if len(frames) * rgb.nbytes > MAX_CLIP_BYTES:
                raise FacebenchError(f"{video}: more than {MAX_CLIP_BYTES >> 30} GiB decoded")
        fps = reader.fps
    if not frames:
        raise FacebenchError(f"{video}: no frame could be read")
    return frames, fps


def encode_jpeg(rgb: np.ndarray, quality: int) -> bytes:
    """JPEG bytes of an RGB image (OpenCV, 4:2:0, baseline)."""
    ok, data = cv2.imencode(
        ".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality]
    )
    if not ok:
        raise ValueError("JPEG encoding failed")
    return data.tobytes()
