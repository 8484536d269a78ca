"""The accuracy set's frames: every source photo shown whole (its real surroundings, no faded
sprite), moving and zooming through a resolution's face-size range, with the degradations
cameras give (motion blur, lighting change, noise, compression); its ground truth is exact.

Frames are rendered in memory and never written: only what the detector and recognizer make
of them is stored (``accuracy_embed``). Each photo's appearance is one track.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np

DEGRADATIONS = ("motion_blur", "lighting", "noise", "compression")


@dataclass(frozen=True)
class SourceFace:
    """A photo and its one face's box (x1, y1, x2, y2, photo px): who, from where, and whether
    that person is enrolled (``role`` enrolled | stranger)."""

    person: str
    photo: str
    source: str
    role: str
    rgb: np.ndarray
    box: np.ndarray


@dataclass(frozen=True)
class RenderSettings:
    """How each photo is shown: frames per track, faces at a time, face height range as a
    share of the frame height, which degradations, and the random seed."""

    frames_per_track: int = 6
    faces_per_frame: int = 3
    face_height: tuple[float, float] = (40 / 1080, 300 / 1080)  # the timed videos' range
    degradations: tuple[str, ...] = DEGRADATIONS
    seed: int = 0


@dataclass(frozen=True)
class Placement:
    """One face in one frame: its track, source face and ground-truth box (frame px)."""

    track: str
    face: SourceFace
    box: np.ndarray


def face_heights(count: int, frame_height: int, share: tuple[float, float], rng) -> np.ndarray:
    """``count`` start heights (px) spread log-evenly over the range, in random order, so every
    size is shown whatever the number of photos."""
    low, high = (s * frame_height for s in share)
    quantiles = (np.arange(count) + rng.uniform(0, 1, count)) / max(count, 1)
    return rng.permutation(low * (high / low) ** quantiles)


def _tile(face: SourceFace, height_px: float, cell: tuple[int, int], shift: np.ndarray):
    """The photo scaled so its face is ``height_px`` tall, cut to the cell (w, h) around the
    face moved by ``shift`` (share of the cell); returns the tile and the face box in it."""
    scale = height_px / max(face.box[3] - face.box[1], 1.0)
    size = (max(1, round(face.rgb.shape[1] * scale)), max(1, round(face.rgb.shape[0] * scale)))
    photo = cv2.resize(face.rgb, size, interpolation=cv2.INTER_AREA)
    box = face.box * scale
    centre = (box[:2] + box[2:]) / 2 - shift * np.array(cell)
    x0 = int(np.clip(centre[0] - cell[0] / 2, 0, max(size[0] - cell[0], 0)))
    y0 = int(np.clip(centre[1] - cell[1] / 2, 0, max(size[1] - cell[1], 0)))
    tile = photo[y0 : y0 + cell[1], x0 : x0 + cell[0]]
    return tile, box - np.array([x0, y0, x0, y0])


def _background(rng, width: int, height: int) -> np.ndarray:
    """A smooth random colour field: no faces, some texture."""
    small = rng.uniform(40, 200, (4, 6, 3)).astype(np.float32)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC).astype(np.uint8)


def degrade(rgb: np.ndarray, degradations: tuple[str, ...], rng, speed_px: float) -> np.ndarray:
    """Motion blur along a random direction (length from the motion), a lighting change (gain
    and gamma), sensor noise and JPEG compression, each where listed."""
    out = rgb
    if "motion_blur" in degradations and speed_px >= 2:
        length = int(min(speed_px / 2, 9))  # exposure: half the frame interval
        kernel = np.zeros((length, length), np.float32)
        kernel[length // 2, :] = 1 / length
        rotation = cv2.getRotationMatrix2D(
            (length / 2 - 0.5, length / 2 - 0.5), rng.uniform(0, 180), 1
        )
        kernel = cv2.warpAffine(kernel, rotation, (length, length))
        out = cv2.filter2D(out, -1, kernel / max(kernel.sum(), 1e-6))
    if "lighting" in degradations:
        gain, gamma = rng.uniform(0.7, 1.3), rng.uniform(0.8, 1.25)
        out = np.clip(255 * (out / 255.0) ** gamma * gain, 0, 255).astype(np.uint8)
    if "noise" in degradations:
        noisy = out.astype(np.float32) + rng.normal(0, rng.uniform(2, 6), out.shape)
        out = np.clip(noisy, 0, 255).astype(np.uint8)
    if "compression" in degradations:
        ok, data = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(40, 85))])
        out = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if ok else out
    return out


def render(
    faces: list[SourceFace], frame_size: tuple[int, int], settings: RenderSettings, label: str
) -> Iterator[tuple[np.ndarray, list[Placement]]]:
    """Frames of ``frame_size`` (w, h) showing every face for ``frames_per_track`` frames,
    ``faces_per_frame`` side by side, each track drifting and zooming; with their placements.
    Track ids start with ``label`` (the resolution)."""
    rng = np.random.default_rng(settings.seed)
    width, height = frame_size
    heights = face_heights(len(faces), height, settings.face_height, rng)
    per_frame = max(1, settings.faces_per_frame)
    cell = (width // per_frame, height)
    for start in range(0, len(faces), per_frame):
        group = list(range(start, min(start + per_frame, len(faces))))
        zoom = {i: rng.uniform(0.8, 1.25) for i in group}
        path = {i: rng.uniform(-0.15, 0.15, (2, 2)) for i in group}  # start and end shift
        steps = max(settings.frames_per_track - 1, 1)
        for k in range(settings.frames_per_track):
            t = k / steps
            frame = _background(rng, width, height)
            placements = []
            for slot, i in enumerate(group):
                shift = path[i][0] + t * (path[i][1] - path[i][0])
                tile, box = _tile(faces[i], heights[i] * zoom[i] ** t, cell, shift)
                x0 = slot * cell[0] + (cell[0] - tile.shape[1]) // 2
                y0 = (height - tile.shape[0]) // 2
                frame[y0 : y0 + tile.shape[0], x0 : x0 + tile.shape[1]] = tile
                placements.append(
                    Placement(f"{label}/{start + slot}", faces[i], box + np.array([x0, y0, x0, y0]))
                )
            speed = float(np.abs(path[group[0]][1] - path[group[0]][0]).max() * cell[0] / steps)
            yield degrade(frame, settings.degradations, rng, speed), placements
