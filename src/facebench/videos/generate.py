"""Deterministic synthetic test videos with ground truth, standing in for the paper's private ones.

Real faces (each val photo's detected face with its hair and neck) move and zoom over a defocused,
slowly panning mosaic of the same photos; the ground truth is where the compositing put each face.
"""

from __future__ import annotations

import itertools
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import imageio_ffmpeg
import numpy as np
import pandas as pd

from facebench.errors import FacebenchError
from facebench.fileio import atomic_path
from facebench.recognition.boxes import MIN_FACE_PX, box_overlaps, largest
from facebench.recognition.photos import Photo, read_rgb
from facebench.videos.groundtruth import BOX_COLUMNS, complete_groundtruth, write_groundtruth

MARGIN_SIDE = 0.6  # sprite context left and right of the face, in face widths
MARGIN_TOP = 0.7  # above the face (hair), in face heights
MARGIN_BOTTOM = 1.0  # below the face (neck), in face heights
FEATHER = 0.3  # a sprite fades out over the outer 30 % of its image's inscribed ellipse
MAX_HIDDEN_FRACTION = 0.3  # at most this share of a face box lies under sprites drawn above it
MAX_LAYOUT_ATTEMPTS = 200
CELL_FILL = 0.55  # a face is at most this share of its layout cell's height
KNOT_S = 2.0  # faces turn and zoom about every 2 s
SEGMENT_S = (3.0, 8.0)  # each face count lasts 3 to 8 s
PAN_KNOT_S = 8.0  # the background pan turns about every 8 s
PAN_MARGIN = 1.25  # the background canvas is 25 % larger than the frame, room to pan
BACKGROUND_DOWNSCALE = 8  # the mosaic is built at 1/8 size, blurred and enlarged: a deep defocus
MOSAIC_ROWS, MOSAIC_COLUMNS = 4, 6
PROGRESS_STEPS = 10


@dataclass(frozen=True, eq=False)
class FaceSprite:
    """A face with its context to composite: RGB ``image`` and the face's x1,y1,x2,y2 box in it.

    Compositing fades the image out towards its inscribed ellipse, so the face box must lie in
    the ellipse's opaque core; the ground truth is this box, moved and scaled.
    """

    identity: str
    image: np.ndarray
    face_box: np.ndarray

    def __post_init__(self) -> None:
        x1, y1, x2, y2 = self.face_box
        corners_x, corners_y = np.array([x1, x2, x1, x2]), np.array([y1, y1, y2, y2])
        height, width = self.image.shape[:2]
        if _ellipse_radius(corners_x, corners_y, 0, 0, width, height).max() > 1 - FEATHER:
            raise FacebenchError(f"sprite of {self.identity}: face box too close to the edge")


def _ellipse_radius(
    x: np.ndarray, y: np.ndarray, left: Any, top: Any, width: Any, height: Any
) -> np.ndarray:
    """Normalised radius of points (x, y) in the ellipse inscribed in a rectangle (1 = on it)."""
    return np.hypot((x - left - width / 2) / (width / 2), (y - top - height / 2) / (height / 2))


def _context_box(face_box: np.ndarray) -> np.ndarray:
    """Integer x1,y1,x2,y2 of the face plus its hair, neck and sides."""
    x1, y1, x2, y2 = face_box
    face_w, face_h = x2 - x1, y2 - y1
    return np.array(
        [
            np.floor(x1 - MARGIN_SIDE * face_w),
            np.floor(y1 - MARGIN_TOP * face_h),
            np.ceil(x2 + MARGIN_SIDE * face_w),
            np.ceil(y2 + MARGIN_BOTTOM * face_h),
        ]
    ).astype(int)


def _crop_replicated(rgb: np.ndarray, box: np.ndarray) -> np.ndarray:
    """rgb[y1:y2, x1:x2], edges replicated where the box leaves the image."""
    height, width = rgb.shape[:2]
    x1, y1, x2, y2 = box
    left, top = max(-x1, 0), max(-y1, 0)
    padded = cv2.copyMakeBorder(
        rgb, top, max(y2 - height, 0), left, max(x2 - width, 0), cv2.BORDER_REPLICATE
    )
    return padded[y1 + top : y2 + top, x1 + left : x2 + left].copy()


def sprites_from_photos(photos: Iterable[Photo], detector) -> list[FaceSprite]:
    """Each photo's largest detected face with a generous margin (hair, neck) as a sprite.

    Photos with no face, or with another face inside the margin, are skipped, so every face in
    a video is labelled. Ground-truth boxes are therefore the detector's box on the single,
    uncluttered photo, transformed by the compositing (scaled, moved), not a human annotation.
    """
    sprites = []
    for photo in photos:
        rgb = read_rgb(photo.path)
        boxes = detector.detect(rgb).boxes.astype(np.float64)
        if not len(boxes):
            continue
        main = largest(boxes)
        context = _context_box(boxes[main])
        others = np.delete(boxes, main, axis=0)
        if (box_overlaps(others, context[None].astype(np.float64), "min") > 0).any():
            continue
        face_box = boxes[main] - np.tile(context[:2], 2)
        sprites.append(FaceSprite(photo.person, _crop_replicated(rgb, context), face_box))
    return sprites


def _smooth_path(rng: np.random.Generator, t: np.ndarray, low: float, high: float) -> np.ndarray:
    """Values in [low, high] at knot positions ``t`` (0 = first knot, 1 = second, ...): a
    Catmull-Rom spline through random knots."""
    knot_count = int(t[-1]) + 2
    knots = rng.uniform(low, high, knot_count)
    padded = np.r_[knots[0], knots, knots[-1]]
    i = t.astype(int)
    u = t - i
    p0, p1, p2, p3 = padded[i], padded[i + 1], padded[i + 2], padded[i + 3]
    value = 0.5 * (
        2 * p1
        + (p2 - p0) * u
        + (2 * p0 - 5 * p1 + 4 * p2 - p3) * u**2
        + (3 * p1 - p0 - 3 * p2 + p3) * u**3
    )
    return np.clip(value, low, high)


@dataclass(frozen=True)
class Segment:
    """Frames [start, stop) showing ``face_count`` faces."""

    start: int
    stop: int
    face_count: int


def face_count_schedule(
    rng: np.random.Generator,
    frame_count: int,
    fps: float,
    face_counts: tuple[int, int],
    segment_s: tuple[float, float],
) -> list[Segment]:
    """Consecutive segments of random length in ``segment_s``; their face counts run through
    shuffled cycles of the (fewest, most) ``face_counts`` range, so every count in it recurs
    all along."""
    fewest, most = face_counts
    if not 0 <= fewest <= most:
        raise FacebenchError(f"face counts {face_counts}: need 0 <= fewest <= most")
    segments: list[Segment] = []
    cycle: list[int] = []
    start = 0
    while start < frame_count:
        cycle = cycle or (fewest + rng.permutation(most - fewest + 1)).tolist()
        stop = min(start + max(1, round(rng.uniform(*segment_s) * fps)), frame_count)
        segments.append(Segment(start, stop, cycle.pop()))
        start = stop
    return segments


@dataclass(frozen=True)
class _Track:
    """One sprite over one segment: per frame its top-left and size, and the face box (master
    px, x1,y1,x2,y2) it puts there."""

    sprite: int
    left_px: np.ndarray
    top_px: np.ndarray
    width_px: np.ndarray
    height_px: np.ndarray
    face_boxes: np.ndarray


def _layout_cells(
    rng: np.random.Generator, face_count: int, width: int, height: int
) -> list[tuple[float, float, float, float]]:
    """One grid cell (x1, y1, x2, y2) per face, 1 or 2 rows, cells assigned at random."""
    rows = 1 if face_count <= 3 else 2
    columns = -(-face_count // rows)
    cell_w, cell_h = width / columns, height / rows
    cells = [
        (c * cell_w, r * cell_h, (c + 1) * cell_w, (r + 1) * cell_h)
        for r in range(rows)
        for c in range(columns)
    ]
    return [cells[i] for i in rng.permutation(len(cells))[:face_count]]


def _plan_track(
    rng: np.random.Generator,
    sprite_index: int,
    sprite: FaceSprite,
    cell: tuple[float, float, float, float],
    frame_count: int,
    fps: float,
    frame_size: tuple[int, int],
    face_height_px: tuple[float, float],
) -> _Track:
    """A face wandering about its cell and zooming, its box always inside the frame."""
    width, height = frame_size
    x1, y1, x2, y2 = cell
    intervals = max(1, round(frame_count / (KNOT_S * fps)))  # at least two knots per segment
    t = np.linspace(0, intervals, frame_count, endpoint=False)
    low_px = face_height_px[0]
    high_px = max(low_px, min(face_height_px[1], CELL_FILL * (y2 - y1)))
    face_h_px = np.exp(_smooth_path(rng, t, np.log(low_px), np.log(high_px)))
    centre_x = _smooth_path(rng, t, x1 + 0.2 * (x2 - x1), x2 - 0.2 * (x2 - x1))
    centre_y = _smooth_path(rng, t, y1 + 0.2 * (y2 - y1), y2 - 0.2 * (y2 - y1))
    image_h, image_w = sprite.image.shape[:2]
    scale = face_h_px / (sprite.face_box[3] - sprite.face_box[1])
    width_px = np.maximum(np.round(image_w * scale), 1).astype(int)
    height_px = np.maximum(np.round(image_h * scale), 1).astype(int)
    face = sprite.face_box[None] * np.c_[width_px / image_w, height_px / image_h].repeat(2, 1)
    left = np.round(centre_x - (face[:, 0] + face[:, 2]) / 2)
    top = np.round(centre_y - (face[:, 1] + face[:, 3]) / 2)
    left = np.clip(left, np.ceil(-face[:, 0]), np.floor(width - face[:, 2])).astype(int)
    top = np.clip(top, np.ceil(-face[:, 1]), np.floor(height - face[:, 3])).astype(int)
    boxes = face + np.c_[left, top, left, top]
    return _Track(sprite_index, left, top, width_px, height_px, boxes)


def _hidden_fraction(tracks: list[_Track], grid_points: int = 5) -> np.ndarray:
    """(frames, faces): share of each face box under the opaque half of sprites drawn after it."""
    grid = (np.arange(grid_points) + 0.5) / grid_points
    hidden = []
    for i, track in enumerate(tracks):
        box = track.face_boxes
        x = box[:, 0, None, None] + grid[None, None, :] * (box[:, 2] - box[:, 0])[:, None, None]
        y = box[:, 1, None, None] + grid[None, :, None] * (box[:, 3] - box[:, 1])[:, None, None]
        covered = np.zeros((len(box), grid_points, grid_points), bool)
        for above in tracks[i + 1 :]:
            sprite_rect = [a[:, None, None] for a in _sprite_rects(above)]
            covered |= _ellipse_radius(x, y, *sprite_rect) <= 1 - FEATHER / 2
        hidden.append(covered.mean(axis=(1, 2)))
    return np.stack(hidden, axis=1)


def _sprite_rects(track: _Track) -> tuple[np.ndarray, ...]:
    return track.left_px, track.top_px, track.width_px, track.height_px


def _plan_segment(
    rng: np.random.Generator,
    segment: Segment,
    sprite_indices: np.ndarray,
    sprites: list[FaceSprite],
    fps: float,
    frame_size: tuple[int, int],
    face_height_px: tuple[float, float],
) -> list[_Track]:
    """The segment's faces, drawn smallest (farthest) first, re-drawn until none is hidden by
    more than MAX_HIDDEN_FRACTION in any frame."""
    frame_count = segment.stop - segment.start
    if not len(sprite_indices):
        return []
    for _ in range(MAX_LAYOUT_ATTEMPTS):
        cells = _layout_cells(rng, len(sprite_indices), *frame_size)
        tracks = [
            _plan_track(rng, i, sprites[i], cell, frame_count, fps, frame_size, face_height_px)
            for i, cell in zip(sprite_indices, cells, strict=True)
        ]
        tracks.sort(key=lambda t: (t.face_boxes[:, 3] - t.face_boxes[:, 1]).mean())
        if _hidden_fraction(tracks).max() <= MAX_HIDDEN_FRACTION:
            return tracks
    raise FacebenchError(
        f"cannot place {len(sprite_indices)} faces in {frame_size[0]}x{frame_size[1]} with at "
        f"most {MAX_HIDDEN_FRACTION:.0%} of each hidden"
    )


def _plan(
    rng: np.random.Generator,
    segments: list[Segment],
    sprites: list[FaceSprite],
    fps: float,
    frame_size: tuple[int, int],
    face_height_px: tuple[float, float],
) -> list[tuple[Segment, list[_Track]]]:
    """Each segment with its faces' tracks. Sprites are dealt least used first (ties at random),
    so every sprite appears before any appears again, and never twice in one segment."""
    uses = np.zeros(len(sprites), int)
    plan = []
    for segment in segments:
        chosen = np.lexsort((rng.random(len(uses)), uses))[: min(segment.face_count, len(uses))]
        uses[chosen] += 1
        tracks = _plan_segment(rng, segment, chosen, sprites, fps, frame_size, face_height_px)
        plan.append((segment, tracks))
    return plan


def _groundtruth(
    plan: list[tuple[Segment, list[_Track]]],
    sprites: list[FaceSprite],
    frame_count: int,
    min_detectable_px: float,
) -> pd.DataFrame:
    rows = [
        pd.DataFrame(
            {
                "frame": np.arange(segment.start, segment.stop),
                "identity": sprites[track.sprite].identity,
                "x": track.face_boxes[:, 0],
                "y": track.face_boxes[:, 1],
                "w": track.face_boxes[:, 2] - track.face_boxes[:, 0],
                "h": track.face_boxes[:, 3] - track.face_boxes[:, 1],
            }
        )
        for segment, tracks in plan
        for track in tracks
    ]
    faces = pd.concat(rows) if rows else pd.DataFrame(columns=["frame", "identity", *BOX_COLUMNS])
    return complete_groundtruth(faces, range(frame_count), min_detectable_px)


def _face_free_patch(sprite: FaceSprite) -> np.ndarray:
    """The largest strip of the sprite beside the face (above, below, left or right)."""
    x1, y1 = np.floor(sprite.face_box[:2]).astype(int)
    x2, y2 = np.ceil(sprite.face_box[2:]).astype(int)
    image = sprite.image
    strips = [image[:y1], image[y2:], image[:, :x1], image[:, x2:]]
    return max(strips, key=lambda strip: strip.shape[0] * strip.shape[1])


def _jittered_edges(rng: np.random.Generator, length: int, parts: int) -> np.ndarray:
    """Integer edges 0 = e0 < ... < e_parts = length of roughly equal, irregular parts."""
    edges = np.linspace(0, length, parts + 1)
    edges[1:-1] += rng.uniform(-0.3, 0.3, parts - 1) * length / parts
    return np.round(edges).astype(int)


def _background_canvas(
    rng: np.random.Generator, sprites: list[FaceSprite], width: int, height: int
) -> np.ndarray:
    """A defocused mosaic of face-free strips of the photos, flipped and colour-shifted, larger
    than the frame so that it can pan."""
    canvas_w, canvas_h = round(width * PAN_MARGIN), round(height * PAN_MARGIN)
    small_w, small_h = -(-canvas_w // BACKGROUND_DOWNSCALE), -(-canvas_h // BACKGROUND_DOWNSCALE)
    small = np.zeros((small_h, small_w, 3), np.float32)
    for top, bottom in itertools.pairwise(_jittered_edges(rng, small_h, MOSAIC_ROWS)):
        for left, right in itertools.pairwise(_jittered_edges(rng, small_w, MOSAIC_COLUMNS)):
            patch = _face_free_patch(sprites[rng.integers(len(sprites))])
            patch = patch[:, ::-1] if rng.random() < 0.5 else patch
            size = (int(right - left), int(bottom - top))
            tile = cv2.resize(patch, size, interpolation=cv2.INTER_AREA)
            gains, offsets = rng.uniform(0.6, 1.2, 3), rng.uniform(-25, 25, 3)
            small[top:bottom, left:right] = tile * gains + offsets
    small = cv2.GaussianBlur(small, (0, 0), 3.0)
    enlarged = cv2.resize(small, (canvas_w, canvas_h), interpolation=cv2.INTER_CUBIC)
    return np.clip(enlarged, 0, 255).astype(np.uint8)


def _pan_offsets_px(
    rng: np.random.Generator,
    canvas: np.ndarray,
    frame_count: int,
    fps: float,
    width: int,
    height: int,
) -> np.ndarray:
    """(frames, 2) top-left x, y of the frame in the canvas: a slow smooth drift."""
    t = np.arange(frame_count) / (PAN_KNOT_S * fps)
    return np.c_[
        _smooth_path(rng, t, 0, canvas.shape[1] - width),
        _smooth_path(rng, t, 0, canvas.shape[0] - height),
    ]


def _paste(
    frame: np.ndarray, rgba: np.ndarray, left: int, top: int, width: int, height: int
) -> None:
    """Alpha-blend the sprite (float RGBA, alpha 0..1) resized to width x height at left, top."""
    shrinking = width < rgba.shape[1]
    sprite = cv2.resize(
        rgba, (width, height), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    )
    x1, y1 = max(left, 0), max(top, 0)
    x2, y2 = min(left + width, frame.shape[1]), min(top + height, frame.shape[0])
    if x2 <= x1 or y2 <= y1:
        return
    part = sprite[y1 - top : y2 - top, x1 - left : x2 - left]
    region = frame[y1:y2, x1:x2].astype(np.float32)
    blended = region + (part[..., :3] - region) * part[..., 3:]
    frame[y1:y2, x1:x2] = np.clip(blended + 0.5, 0, 255).astype(np.uint8)


def _sprite_rgba(sprite: FaceSprite) -> np.ndarray:
    """The sprite as float32 RGBA, alpha fading out over the rim of its inscribed ellipse."""
    height, width = sprite.image.shape[:2]
    y, x = np.mgrid[0:height, 0:width] + 0.5
    radius = _ellipse_radius(x, y, 0, 0, width, height)
    alpha = np.clip((1 - radius) / FEATHER, 0, 1)
    return np.dstack([sprite.image.astype(np.float32), alpha.astype(np.float32)])


def _frames(
    plan: list[tuple[Segment, list[_Track]]],
    sprites: list[FaceSprite],
    canvas: np.ndarray,
    pan_px: np.ndarray,
    frame_size: tuple[int, int],
) -> Iterator[np.ndarray]:
    """The video's RGB frames: the panned background, then each segment's sprites in order."""
    rgba = [_sprite_rgba(sprite) for sprite in sprites]
    for segment, tracks in plan:
        for frame_index in range(segment.start, segment.stop):
            shift = np.array([[1, 0, -pan_px[frame_index, 0]], [0, 1, -pan_px[frame_index, 1]]])
            frame = cv2.warpAffine(canvas, shift, frame_size, flags=cv2.INTER_LINEAR)
            t = frame_index - segment.start
            for track in tracks:
                _paste(frame, rgba[track.sprite], *(int(a[t]) for a in _sprite_rects(track)))
            yield frame


def _encode(
    frames: Iterator[np.ndarray],
    path: Path,
    label: Path,
    frame_size: tuple[int, int],
    frame_count: int,
    fps: int,
    crf: int,
    preset: str,
) -> None:
    """H.264 yuv420p at ``crf`` with imageio-ffmpeg's ffmpeg; progress to stderr every ~10 %."""
    writer = imageio_ffmpeg.write_frames(
        str(path),
        frame_size,
        fps=fps,
        codec="libx264",
        pix_fmt_out="yuv420p",
        quality=None,
        macro_block_size=1,
        ffmpeg_log_level="error",
        output_params=["-crf", str(crf), "-preset", preset],
    )
    writer.send(None)
    step = max(1, frame_count // PROGRESS_STEPS)
    start_s = time.perf_counter()
    try:
        for done, frame in enumerate(frames, start=1):
            writer.send(np.ascontiguousarray(frame))
            if done % step == 0 or done == frame_count:
                rate = done / (time.perf_counter() - start_s)
                print(
                    f"{label}: {done}/{frame_count} frames ({100 * done / frame_count:.0f} %), "
                    f"{rate:.1f} frames/s",
                    file=sys.stderr,
                    flush=True,
                )
    except OSError as error:
        raise FacebenchError(f"{label}: ffmpeg failed ({error})") from error
    finally:
        writer.close()


def render_master(
    sprites: list[FaceSprite],
    out_mp4: Path,
    out_groundtruth_csv: Path,
    fps: int,
    duration_s: float,
    seed: int,
    width: int = 1920,
    height: int = 1080,
    quality_crf: int = 12,
    *,
    face_counts: tuple[int, int] = (0, 6),
    face_height_px: tuple[float, float] = (40.0, 300.0),
    segment_s: tuple[float, float] = SEGMENT_S,
    min_detectable_px: float = MIN_FACE_PX,
    preset: str = "medium",
) -> pd.DataFrame:
    """Render the master video and its ground truth (returned), everything drawn from ``seed``.

    The video runs through segments of ``face_counts`` (fewest, most) faces at a time; both
    files appear only on success.
    """
    out_mp4, out_groundtruth_csv = Path(out_mp4), Path(out_groundtruth_csv)
    frame_count = round(duration_s * fps)
    if not sprites:
        raise FacebenchError(f"{out_mp4}: no face sprites to render")
    if width % 2 or height % 2 or frame_count < 1:
        raise FacebenchError(f"{out_mp4}: need even width/height and >= 1 frame")
    rng = np.random.default_rng(seed)
    frame_size = (width, height)
    segments = face_count_schedule(rng, frame_count, fps, face_counts, segment_s)
    plan = _plan(rng, segments, sprites, fps, frame_size, face_height_px)
    groundtruth = _groundtruth(plan, sprites, frame_count, min_detectable_px)
    canvas = _background_canvas(rng, sprites, width, height)
    pan_px = _pan_offsets_px(rng, canvas, frame_count, fps, width, height)
    frames = _frames(plan, sprites, canvas, pan_px, frame_size)
    with atomic_path(out_groundtruth_csv) as csv_tmp, atomic_path(out_mp4) as mp4_tmp:
        write_groundtruth(groundtruth, csv_tmp)
        _encode(frames, mp4_tmp, out_mp4, frame_size, frame_count, fps, quality_crf, preset)
    return groundtruth
