"""The swappable frame reader: RGB uint8 frames from a video file, by OpenCV or PyAV.

OpenCV's ``VideoCapture`` is the paper's reader; PyAV is the cross-check. Both read one pass.
"""

from __future__ import annotations

import itertools
import os
from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path
from typing import Self

# OpenCV's FFmpeg quiet (read at its first capture): a failed read is one FacebenchError line.
# Set OPENCV_FFMPEG_LOGLEVEL (e.g. 16, errors) to see FFmpeg's own messages again.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
import av
import cv2
import numpy as np

from facebench.errors import FacebenchError


def open_video_stream(path: Path) -> tuple[av.container.InputContainer, av.VideoStream]:
    """A PyAV container and its first video stream; errors name the file."""
    path = Path(path)
    try:
        container = av.open(str(path))
    except (av.FFmpegError, OSError) as error:
        reason = getattr(error, "strerror", None) or error
        raise FacebenchError(f"{path}: not a readable video ({reason})") from error
    if not container.streams.video:
        container.close()
        raise FacebenchError(f"{path}: no video stream")
    return container, container.streams.video[0]


def stream_fps(stream: av.VideoStream, path: Path) -> float:
    """The stream's average frame rate; FacebenchError when the container does not say."""
    rate = stream.average_rate or stream.guessed_rate
    if not rate or rate <= 0:
        raise FacebenchError(f"{path}: unknown frame rate")
    return float(rate)


def decode_failure(path: Path, index: int, stated: int, reason: object) -> FacebenchError:
    """The one-line error for a video whose frame ``index`` (0-based) of ``stated`` (0:
    unknown) cannot be decoded."""
    of = f" of {stated}" if stated else ""
    return FacebenchError(f"{path}: cannot decode frame {index}{of} ({reason})")


def check_complete(path: Path, decoded: int, stated: int) -> None:
    """FacebenchError naming the first missing frame when the stream ended after ``decoded``
    frames, fewer than the ``stated`` count of its container."""
    if decoded < stated:
        raise decode_failure(
            path, decoded, stated, "decoding stops there: file truncated or corrupt"
        )


def decoded_frames(
    container: av.container.InputContainer, stream: av.VideoStream, path: Path
) -> Iterator[av.VideoFrame]:
    """The stream's frames, decoded with threads; a frame that cannot be decoded, or fewer
    frames than the container states, raises FacebenchError naming the file and the frame."""
    stream.thread_type = "AUTO"
    decoded = 0
    try:
        for frame in container.decode(stream):
            yield frame
            decoded += 1
    except av.FFmpegError as error:
        raise decode_failure(path, decoded, stream.frames, error) from error
    check_complete(path, decoded, stream.frames)


class FrameReader(ABC):
    """Frames of one video as HxWx3 uint8 RGB, one pass; ``fps`` and ``frame_count`` (as the
    container states it) known on open. A read that ends before ``frame_count`` frames raises
    FacebenchError naming the file and the frame. Use as a context manager or call ``close()``."""

    path: Path
    fps: float
    frame_count: int

    @abstractmethod
    def __iter__(self) -> Iterator[np.ndarray]: ...

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class OpenCvReader(FrameReader):
    """``cv2.VideoCapture`` (FFmpeg backend), converted from BGR to RGB."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._capture = cv2.VideoCapture(str(self.path), cv2.CAP_FFMPEG)
        if not self._capture.isOpened():
            raise FacebenchError(f"{self.path}: OpenCV cannot open the video")
        self.fps = float(self._capture.get(cv2.CAP_PROP_FPS))
        self.frame_count = int(self._capture.get(cv2.CAP_PROP_FRAME_COUNT))
        if self.fps <= 0:
            self.close()
            raise FacebenchError(f"{self.path}: unknown frame rate")

    def __iter__(self) -> Iterator[np.ndarray]:
        for decoded in itertools.count():
            ok, bgr = self._capture.read()
            if not ok:
                check_complete(self.path, decoded, self.frame_count)
                return
            yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

    def close(self) -> None:
        self._capture.release()


class PyAvReader(FrameReader):
    """PyAV (libav* directly), frames converted to rgb24 by libswscale."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._container, self._stream = open_video_stream(self.path)
        try:
            self.fps = stream_fps(self._stream, self.path)
        except FacebenchError:
            self.close()
            raise
        self.frame_count = self._stream.frames

    def __iter__(self) -> Iterator[np.ndarray]:
        for frame in decoded_frames(self._container, self._stream, self.path):
            yield frame.to_ndarray(format="rgb24")

    def close(self) -> None:
        self._container.close()


READERS: dict[str, type[FrameReader]] = {"opencv": OpenCvReader, "pyav": PyAvReader}


def open_reader(path: Path, kind: str = "opencv") -> FrameReader:
    """A FrameReader of ``kind`` (a key of READERS) for the video at ``path``."""
    if kind not in READERS:
        raise FacebenchError(f"{path}: unknown frame reader {kind!r}; known: {', '.join(READERS)}")
    return READERS[kind](path)
