"""The master video at each benchmark resolution (real ffmpeg), its probe, and its ground truth.

One transform (``fit_transform``) both builds the ffmpeg filter and moves the ground-truth boxes,
so boxes and pixels cannot disagree.
"""

from __future__ import annotations

import subprocess
from fractions import Fraction
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pandas as pd

from facebench.errors import FacebenchError
from facebench.fileio import atomic_path, sha256_file
from facebench.recognition.boxes import MIN_FACE_PX
from facebench.videos.groundtruth import complete_groundtruth
from facebench.videos.reader import (
    decode_failure,
    decoded_frames,
    open_video_stream,
    stream_fps,
)

FITS = ("pad", "crop")
MIN_VISIBLE_PX = 1.0  # a face cropped to a thinner sliver than this has left the frame
Transform = tuple[float, float, float, float]  # scale_x, scale_y, offset_x, offset_y


def probe_video(path: Path, fps: float | None = None) -> dict:
    """Codec, size, fps, decoded frame count, bitrate, duration and sha256 of a video file;
    ``fps`` replaces the container's frame rate (the user's override). Frames that cannot be
    decoded to the end, a rotated video, and a variable frame rate without ``fps`` raise
    FacebenchError naming the file."""
    path = Path(path)
    container, stream = open_video_stream(path)
    with container:
        frames = [(f.pts, f.rotation) for f in decoded_frames(container, stream, path)]
        if frames and frames[0][1]:
            raise FacebenchError(
                f"{path}: rotated {frames[0][1]} degrees by its display matrix (readers and "
                "ground truth would disagree on up): re-encode it upright first "
                "(ffmpeg -i IN OUT applies the rotation)"
            )
        if not fps and len(frames) > 2:
            _check_constant_rate(path, [pts for pts, _ in frames], stream.time_base)
        fps = fps or stream_fps(stream, path)
        frame_count = len(frames)
        info = {
            "codec": stream.codec_context.name,
            "width": stream.codec_context.width,
            "height": stream.codec_context.height,
            "bitrate_bps": int(stream.bit_rate or container.bit_rate or 0),
        }
    if frame_count == 0:
        raise FacebenchError(f"{path}: no decodable frames")
    return {
        "path": str(path),
        **info,
        "fps": fps,
        "frame_count": frame_count,
        "duration_s": frame_count / fps,
        "sha256": sha256_file(path),
    }


def _check_constant_rate(path: Path, pts: list[int | None], time_base: Fraction) -> None:
    """FacebenchError unless the frames' timestamps ``pts`` are evenly spaced: to within a tick
    of ``time_base`` (a rate the timescale cannot divide alternates by one) or 1 %."""
    if None in pts:
        return  # a stream without timestamps has only its stated rate
    intervals = np.diff(np.array(pts, dtype=np.int64))
    spread = int(intervals.max() - intervals.min())
    if spread > max(1, 0.01 * np.median(intervals)):
        low, high = (float(v * time_base) for v in (intervals.min(), intervals.max()))
        raise FacebenchError(
            f"{path}: variable frame rate (frames {low:.4g} to {high:.4g} s apart): give its fps "
            "in the video table (every frame restamped at that rate) or re-encode it at one rate"
        )


def check_resolutions(probes: dict[str, dict]) -> None:
    """All versions of one video (probe_video results by resolution name) have the same frame
    count and fps, else FacebenchError listing each file's value."""
    for key in ("frame_count", "fps"):
        values = {probe["path"]: probe[key] for probe in probes.values()}
        if len(set(values.values())) > 1:
            listing = ", ".join(f"{path}: {value}" for path, value in values.items())
            raise FacebenchError(f"{key} differs between resolutions ({listing})")


def _even(value: float) -> int:
    """The nearest even integer >= 2 (yuv420p wants even sizes and offsets)."""
    return max(2, 2 * round(value / 2))


def fit_transform(src_w: int, src_h: int, dst_w: int, dst_h: int, fit: str) -> Transform:
    """(scale_x, scale_y, offset_x, offset_y) taking source pixels to destination pixels.

    ``pad`` scales the whole source into the destination (black bars, every face kept); ``crop``
    fills the destination and cuts the overhang. Scaled sizes and offsets are even, so the two
    scales may differ by a fraction of a percent; they are exact for the pixels ffmpeg makes.
    """
    if fit not in FITS:
        raise FacebenchError(f"unknown fit {fit!r}; known: {', '.join(FITS)}")
    scale = (min if fit == "pad" else max)(dst_w / src_w, dst_h / src_h)
    scaled_w, scaled_h = _even(src_w * scale), _even(src_h * scale)
    offset_x = 2 * int((dst_w - scaled_w) / 4)  # halved, rounded towards zero to even
    offset_y = 2 * int((dst_h - scaled_h) / 4)
    return scaled_w / src_w, scaled_h / src_h, float(offset_x), float(offset_y)


def _ffmpeg_filter(
    src_w: int, src_h: int, dst_w: int, dst_h: int, transform: Transform, fit: str
) -> str:
    """The ``-vf`` chain doing ``transform``: scale, then pad (offsets >= 0) or crop (<= 0)."""
    scale_x, scale_y, offset_x, offset_y = transform
    scaled = f"scale={round(src_w * scale_x)}:{round(src_h * scale_y)}:flags=bicubic,setsar=1"
    if fit == "pad":
        return f"{scaled},pad={dst_w}:{dst_h}:{offset_x:.0f}:{offset_y:.0f}:color=black"
    return f"{scaled},crop={dst_w}:{dst_h}:{-offset_x:.0f}:{-offset_y:.0f}"


def _ffmpeg_command(
    ffmpeg: str, master_mp4: Path, out: Path, vf: str, crf: int, fps: float | None
) -> list[str]:
    """ffmpeg re-encoding ``master_mp4``'s first video stream through ``vf`` to H.264 yuv420p,
    every frame kept; ``fps`` (an input option) restamps the frames at that constant rate."""
    rate = ["-r", str(fps)] if fps else []
    return [
        *(ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-y"),
        *(*rate, "-i", str(master_mp4), "-map", "0:v:0", "-vf", vf, "-fps_mode", "passthrough"),
        *("-c:v", "libx264", "-pix_fmt", "yuv420p", "-crf", str(crf), str(out)),
    ]


def _run_ffmpeg(command: list[str], master_mp4: Path, out_mp4: Path) -> None:
    """Run ``command``; FacebenchError (one line, naming both files) if it fails."""
    try:
        result = subprocess.run(command, capture_output=True, text=True)
    except OSError as error:
        raise FacebenchError(f"{out_mp4}: cannot run ffmpeg ({error})") from error
    if result.returncode != 0:
        detail = (result.stderr.strip().splitlines() or ["no message"])[-1]
        raise FacebenchError(f"{out_mp4}: ffmpeg failed on {master_mp4} ({detail})")


def _check_written(master_mp4: Path, out_mp4: Path, written: Path, expected: int) -> None:
    """FacebenchError unless ``written`` (ffmpeg's output) has ``expected`` frames (0: unknown,
    unchecked): fewer name the first frame of ``master_mp4`` that did not come through."""
    container, stream = open_video_stream(written)
    with container:
        count = stream.frames
    if expected and count < expected:
        raise decode_failure(master_mp4, count, expected, f"ffmpeg wrote {count} frames")
    if expected and count > expected:
        raise FacebenchError(f"{out_mp4}: ffmpeg wrote {count} frames, {master_mp4} has {expected}")


def transcode(
    master_mp4: Path,
    out_mp4: Path,
    width: int,
    height: int,
    fit: str = "pad",
    crf: int = 23,
    ffmpeg: str | None = None,
    fps: float | None = None,
    frame_count: int | None = None,
) -> Transform:
    """Re-encode ``master_mp4`` to width x height H.264 yuv420p at ``crf``, same frames and fps
    (``fps``: this rate instead of the container's), with ffmpeg (imageio-ffmpeg's unless a path
    is given). The output must have ``frame_count`` frames (default: as many as the source's
    container states), else FacebenchError and no output. Returns the box transform used."""
    master_mp4, out_mp4 = Path(master_mp4), Path(out_mp4)
    container, stream = open_video_stream(master_mp4)
    with container:
        src_w, src_h = stream.codec_context.width, stream.codec_context.height
        expected = frame_count or stream.frames
    transform = fit_transform(src_w, src_h, width, height, fit)
    vf = _ffmpeg_filter(src_w, src_h, width, height, transform, fit)
    with atomic_path(out_mp4) as tmp:
        exe = ffmpeg or imageio_ffmpeg.get_ffmpeg_exe()
        _run_ffmpeg(_ffmpeg_command(exe, master_mp4, tmp, vf, crf, fps), master_mp4, out_mp4)
        _check_written(master_mp4, out_mp4, tmp, expected)
    return transform


def scale_groundtruth(
    groundtruth: pd.DataFrame,
    transform: Transform,
    dst_w: int,
    dst_h: int,
    min_detectable_px: float = MIN_FACE_PX,
) -> pd.DataFrame:
    """The ground truth in the transcoded video's pixels: boxes moved by ``transform`` and
    clipped to the frame (faces with under 1 px left are dropped, leaving a frame's explicit
    empty row if none is left); min_side_px and detectable derived anew (a user's ground truth
    may lack them)."""
    scale_x, scale_y, offset_x, offset_y = transform
    faces = groundtruth[groundtruth["identity"] != ""]
    x1 = np.clip(faces["x"] * scale_x + offset_x, 0, dst_w)
    y1 = np.clip(faces["y"] * scale_y + offset_y, 0, dst_h)
    x2 = np.clip((faces["x"] + faces["w"]) * scale_x + offset_x, 0, dst_w)
    y2 = np.clip((faces["y"] + faces["h"]) * scale_y + offset_y, 0, dst_h)
    moved = faces[["frame", "identity"]].assign(x=x1, y=y1, w=x2 - x1, h=y2 - y1)
    visible = moved[(moved["w"] >= MIN_VISIBLE_PX) & (moved["h"] >= MIN_VISIBLE_PX)]
    return complete_groundtruth(visible, groundtruth["frame"].unique(), min_detectable_px)
