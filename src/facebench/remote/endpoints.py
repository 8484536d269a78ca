"""What the server, the edge and the load generator share: the pipeline and its command-line
flags, a clip in memory, JPEG encoding, and how a process ends on an error."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from facebench.backends.registry import load_recognizer
from facebench.errors import FacebenchError
from facebench.recognition.detector import load_detector
from facebench.recognition.gallery import Gallery
from facebench.recognition.pipeline import FacePipeline
from facebench.videos.reader import open_reader

MAX_CLIP_BYTES = 2 << 30  # a clip is held decoded in memory: refuse more than 2 GiB
PIPELINE_FLAGS = ("models_dir", "gallery", "detector", "recognizer")


class ServerGone(FacebenchError):
    """The server closed the connection or stopped answering."""


def add_pipeline_arguments(parser: argparse.ArgumentParser, threads: int) -> None:
    """--models-dir, --gallery, --detector, --recognizer (checked by ``missing_pipeline_flags``
    where a process needs them), --threads (default ``threads``) and --alignment."""
    parser.add_argument("--models-dir", type=Path)
    parser.add_argument("--gallery", type=Path)
    parser.add_argument("--detector")
    parser.add_argument("--recognizer")
    parser.add_argument("--threads", type=int, default=threads or os.cpu_count() or 1)
    parser.add_argument("--alignment", default="crop")


def missing_pipeline_flags(args: argparse.Namespace) -> list[str]:
    """The pipeline flags ``args`` lacks, as written on the command line."""
    return [f"--{flag.replace('_', '-')}" for flag in PIPELINE_FLAGS if not getattr(args, flag)]


def pipeline_from_args(args: argparse.Namespace) -> FacePipeline:
    """The pipeline the parsed pipeline flags name."""
    return load_pipeline(
        args.models_dir, args.gallery, args.detector, args.recognizer, args.threads, args.alignment
    )


def exit_on_error(name: str, main: Callable[[], object]) -> None:
    """Run ``main``; on an error one line ``<name>: <error>`` on stderr and exit 3 when the
    server went away, 2 on another facebench error."""
    try:
        main()
    except FacebenchError as error:
        print(f"{name}: {error}", file=sys.stderr)
        sys.exit(3 if isinstance(error, ServerGone) else 2)


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
        Gallery.load(gallery, recognizer),
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
