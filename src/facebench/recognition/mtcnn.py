"""MTCNN's stages in numpy, shared by every framework: only the three nets differ.

Boxes travel as one (N, 4) float64 array of x1, y1, x2, y2 in input pixels; the nets see
normalised float32 RGB, ``(x - 127.5) / 128``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Literal

import cv2
import numpy as np

from facebench.backends.base import Detections, MtcnnNets
from facebench.errors import FacebenchError
from facebench.models.layout import MTCNN_NETS, ONET_INPUT_PX, RNET_INPUT_PX
from facebench.recognition.boxes import MIN_FACE_PX, box_overlaps

PNET_CELL_PX = 12  # P-Net's receptive field: one output cell looks at a 12x12 window
PNET_STRIDE_PX = 2
STAGES = ("pyramid", *MTCNN_NETS)
# each frame's work (Detections.work): P-Net inputs, boxes into R-Net and into O-Net (faces out
# is the number of detections)
WORK_COUNTS = ("n_pyramid_levels", "n_rnet_in", "n_onet_in")
_NMS_ROWS_PER_BLOCK = 256  # fast NMS compares at most 256 x N boxes at a time


@dataclass(frozen=True)
class MtcnnParams:
    """Detection settings; the defaults reproduce the `mtcnn` 1.0.0 package.

    Where the original MTCNN (kpzhang93's MATLAB, davidsandberg's ``detect_face.py``) differs:
    O-Net threshold 0.7; ``pyramid="original"`` (level count from ``min_side * 12 / min_face``,
    which mtcnn 1.0 leaves out, and levels ``ceil`` rather than truncated in size);
    ``nms_mode="greedy"`` (mtcnn 1.0's matrix "fast" NMS drops a box when any higher-scored box
    overlaps it, even one that was itself dropped); ``regress_before_nms=False`` (P-Net and R-Net
    boxes refined after their NMS). Not parameterised: the original keeps P-Net scores >= the
    threshold (here >), rounds boxes with ``np.fix`` after stages 1 and 2, measures areas as
    ``(x2 - x1 + 1) * (y2 - y1 + 1)`` in NMS, and crops integer boxes padded with black, resized
    by area; here (as in mtcnn 1.0) crops are sampled bilinearly like
    ``tf.image.crop_and_resize`` with mid-grey outside the image.
    """

    min_face_px: float = MIN_FACE_PX
    scale_factor: float = 0.709
    thresholds: tuple[float, float, float] = (0.6, 0.7, 0.8)  # face probability, P/R/O-Net
    # IoU limits: P-Net per level, P-Net across levels, R-Net, O-Net (O-Net's: over min area)
    nms_thresholds: tuple[float, float, float, float] = (0.5, 0.7, 0.7, 0.7)
    nms_mode: Literal["fast", "greedy"] = "fast"
    pyramid: Literal["mtcnn1", "original"] = "mtcnn1"
    regress_before_nms: bool = True
    # "each": every level area-resized from the normalised frame (mtcnn 1.0). "halving" (the
    # fast preset): from the smallest 2x2-averaged uint8 copy of the frame at least 1.5x the
    # level's size, normalised per level; R-/O-Net crops are cut from the uint8 frame, so the
    # full frame is never converted to float (1080p: pyramid ~85 -> ~27 ms).
    pyramid_resize: Literal["each", "halving"] = "each"


@dataclass(frozen=True)
class _Level:
    """One pyramid level: the resized normalised image and its scale (level px / input px)."""

    image: np.ndarray
    scale: float


def pyramid_sizes(
    height_px: int, width_px: int, params: MtcnnParams
) -> list[tuple[float, int, int]]:
    """(scale, height_px, width_px) of each P-Net input level, largest first."""
    min_side_px = min(height_px, width_px)
    first_scale = PNET_CELL_PX / params.min_face_px
    if params.pyramid == "mtcnn1":
        count = round(-(np.log(min_side_px / PNET_CELL_PX) / np.log(params.scale_factor) + 1))
        scales = first_scale * params.scale_factor ** np.arange(max(count, 0))
        sizes = (np.asarray([height_px, width_px]) * scales[:, None]).astype(int)
    else:
        scales_list: list[float] = []
        while min_side_px * first_scale * params.scale_factor ** len(scales_list) >= PNET_CELL_PX:
            scales_list.append(first_scale * params.scale_factor ** len(scales_list))
        scales = np.asarray(scales_list)
        sizes = np.ceil(np.asarray([height_px, width_px]) * scales[:, None]).astype(int)
    return [
        (float(scale), int(h), int(w))
        for scale, (h, w) in zip(scales, sizes, strict=True)
        if min(h, w) >= PNET_CELL_PX
    ]


def normalise(rgb: np.ndarray) -> np.ndarray:
    """RGB (uint8, or float crops of it) -> float32 ``(x - 127.5) / 128``, the nets' range."""
    image = rgb.astype(np.float32)  # in place from here: temporaries of a 1080p frame
    image -= np.float32(127.5)  # cost more in page faults than the arithmetic (67 vs 10 ms)
    image *= np.float32(1 / 128)
    return image


def _halved_sources(image: np.ndarray, sizes: list[tuple[float, int, int]]) -> list[np.ndarray]:
    """For each level, the smallest 2x2-averaged copy of ``image`` at least 1.5x its size."""
    sources, source = [], image
    for _, h, w in sizes:
        while 2 * (source.shape[0] // 2) >= 3 * h and 2 * (source.shape[1] // 2) >= 3 * w:
            halved_px = (source.shape[1] // 2, source.shape[0] // 2)
            source = cv2.resize(source, halved_px, interpolation=cv2.INTER_AREA)
        sources.append(source)
    return sources


def _pyramid(image: np.ndarray, params: MtcnnParams, pool: ThreadPoolExecutor) -> list[_Level]:
    """Area-resized levels of the frame as :meth:`Mtcnn.detect` holds it (normalised, or uint8
    for halving): cv2's INTER_AREA matches tf.image.resize(method="area"), which mtcnn 1.0
    uses, to ~1e-5 when shrinking (not when enlarging, i.e. min_face_px < 12). cv2's area
    resize is ~2 ns per source pixel and barely parallel: halving reads the full frame for
    the first two levels only and resizes the levels on the pool's threads."""
    sizes = pyramid_sizes(*image.shape[:2], params)
    if params.pyramid_resize == "each":
        return [
            _Level(cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA), scale)
            for scale, h, w in sizes
        ]

    def level(source: np.ndarray, size: tuple[float, int, int]) -> _Level:
        scale, h, w = size
        return _Level(normalise(cv2.resize(source, (w, h), interpolation=cv2.INTER_AREA)), scale)

    return list(pool.map(level, _halved_sources(image, sizes), sizes))


def _fast_nms_suppressed(
    boxes: np.ndarray, rank: np.ndarray, threshold: float, overlap: Literal["union", "min"]
) -> np.ndarray:
    """Which boxes overlap some better-ranked box by more than `threshold`.

    Boxes are swept in x1 order so each block of rows is compared only with the boxes that
    start before the block's right edge: the work follows the overlapping pairs, not N x N.
    """
    by_x = np.argsort(boxes[:, 0], kind="stable")
    swept, swept_rank = boxes[by_x], rank[by_x]
    reach = np.searchsorted(swept[:, 0], swept[:, 2])  # boxes starting left of each right edge
    suppressed = np.zeros(len(boxes), dtype=bool)
    for start in range(0, len(boxes), _NMS_ROWS_PER_BLOCK):
        stop = min(start + _NMS_ROWS_PER_BLOCK, len(boxes))
        end = max(int(reach[start:stop].max()), stop)
        hit = box_overlaps(swept[start:stop], swept[start:end], overlap) > threshold
        hit &= np.arange(start, end)[None, :] > np.arange(start, stop)[:, None]  # pairs once
        column_worse = swept_rank[None, start:end] > swept_rank[start:stop, None]
        suppressed[start:end] |= (hit & column_worse).any(axis=0)
        suppressed[start:stop] |= (hit & ~column_worse).any(axis=1)
    return suppressed[np.argsort(by_x)]


def nms(
    boxes: np.ndarray,
    scores: np.ndarray,
    threshold: float,
    overlap: Literal["union", "min"] = "union",
    mode: Literal["fast", "greedy"] = "greedy",
) -> np.ndarray:
    """Indices of the boxes kept, best score first; a box goes when its overlap > `threshold`.

    greedy: with a kept, higher-scored box. fast (mtcnn 1.0): with any higher-scored box.
    """
    order = np.argsort(scores)[::-1]  # mtcnn 1.0's order; it decides ties (saturated 1.0s)
    if mode == "fast":
        rank = np.empty(len(order), dtype=np.intp)
        rank[order] = np.arange(len(order))
        return order[~_fast_nms_suppressed(boxes, rank, threshold, overlap)[order]]
    ranked = boxes[order]
    kept = []
    remaining = np.arange(len(order))
    while remaining.size:
        best, remaining = remaining[0], remaining[1:]
        kept.append(best)
        overlaps = box_overlaps(ranked[best : best + 1], ranked[remaining], overlap)[0]
        remaining = remaining[overlaps <= threshold]
    return order[np.asarray(kept, dtype=int)]


def square(boxes: np.ndarray) -> np.ndarray:
    """Boxes grown to squares of their longer side about the same centre."""
    sizes = boxes[:, 2:] - boxes[:, :2]
    side = sizes.max(axis=1, keepdims=True)
    top_left = boxes[:, :2] + (sizes - side) / 2
    return np.hstack([top_left, top_left + side])


def regress(boxes: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Apply R-/O-Net box offsets, given in units of the box size ``x2 - x1 + 1``."""
    sizes = boxes[:, 2:] - boxes[:, :2] + 1
    return boxes + offsets * np.tile(sizes, 2)


def _sample_coords(
    low: np.ndarray, high: np.ndarray, size_px: int, steps: np.ndarray
) -> np.ndarray:
    """Where crop_and_resize samples: box ends scaled by (n - 1) / n, on pixel centres."""
    return (low[:, None] + (high - low)[:, None] * steps[None, :]) * ((size_px - 1) / size_px)


def _lerp(start: np.ndarray, stop: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """``start + (stop - start) * weight``, computed in place in `stop`."""
    stop -= start
    stop *= weight
    stop += start
    return stop


def crop_resize(image: np.ndarray, boxes: np.ndarray, size_px: int) -> np.ndarray:
    """(N, size, size, C) bilinear crops of `boxes`, 0 outside the image, as in mtcnn 1.0.

    Reproduces ``tf.image.crop_and_resize`` with boxes normalised by the image size. A uint8
    image gives normalised crops (the same, to float rounding: both steps are linear).
    """
    height_px, width_px, channels = image.shape
    steps = np.arange(size_px) / (size_px - 1)
    ys = _sample_coords(boxes[:, 1], boxes[:, 3], height_px, steps)
    xs = _sample_coords(boxes[:, 0], boxes[:, 2], width_px, steps)
    y0, x0 = np.floor(ys), np.floor(xs)
    rows = [
        np.clip(y0 + d, 0, height_px - 1).astype(np.intp)[:, :, None] * width_px for d in (0, 1)
    ]
    cols = [np.clip(x0 + d, 0, width_px - 1).astype(np.intp)[:, None, :] for d in (0, 1)]
    pixels = image.reshape(-1, channels)
    corners = [
        [np.take(pixels, row + col, axis=0).astype(np.float32, copy=False) for col in cols]
        for row in rows
    ]
    fx = (xs - x0).astype(np.float32)[:, None, :, None]
    fy = (ys - y0).astype(np.float32)[:, :, None, None]
    top, bottom = (_lerp(left, right, fx) for left, right in corners)
    crops = _lerp(top, bottom, fy)
    if image.dtype == np.uint8:
        crops = normalise(crops)
    inside_y = (ys >= 0) & (ys <= height_px - 1)
    inside_x = (xs >= 0) & (xs <= width_px - 1)
    crops[~(inside_y[:, :, None] & inside_x[:, None, :])] = 0
    return crops


@contextmanager
def _timed(timings: dict[str, float] | None, stage: str) -> Iterator[None]:
    """Add the block's wall time to ``timings[stage]`` (seconds) when timings is given."""
    start_s = time.perf_counter()
    try:
        yield
    finally:
        if timings is not None:
            timings[stage] = timings.get(stage, 0.0) + time.perf_counter() - start_s


def _empty(work: dict[str, int]) -> Detections:
    return Detections(
        boxes=np.zeros((0, 4), np.float32),
        scores=np.zeros(0, np.float32),
        landmarks=np.zeros((0, 5, 2), np.float32),
        work=work,
    )


class Mtcnn:
    """The three-stage MTCNN detector over any framework's :class:`MtcnnNets`."""

    def __init__(
        self, nets: MtcnnNets, params: MtcnnParams = MtcnnParams(), threads: int = 1
    ) -> None:
        self.nets = nets
        self.params = params
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="mtcnn-pyramid")

    def _pnet_level(self, level: _Level) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Proposals of one level after its NMS: boxes (input px), scores, P-Net offsets."""
        offsets_map, probability = self.nets.pnet(level.image[None])
        face_map = probability[0, :, :, 1]
        ys, xs = np.nonzero(face_map > self.params.thresholds[0])
        scores = face_map[ys, xs].astype(np.float64)
        offsets = offsets_map[0, ys, xs].astype(np.float64)
        cells = np.stack([xs, ys, xs, ys], axis=1) * PNET_STRIDE_PX
        windows = cells + np.asarray([1, 1, PNET_CELL_PX, PNET_CELL_PX])
        if self.params.regress_before_nms:
            windows = windows + offsets * (PNET_CELL_PX - 1)
        boxes = windows / level.scale
        keep = nms(boxes, scores, self.params.nms_thresholds[0], mode=self.params.nms_mode)
        return boxes[keep], scores[keep], offsets[keep]

    def _propose(self, levels: list[_Level]) -> np.ndarray:
        """Stage 1: P-Net over every level, NMS per level and across levels, squared boxes."""
        proposals = [self._pnet_level(level) for level in levels]
        boxes, scores, offsets = (np.concatenate(parts) for parts in zip(*proposals, strict=True))
        keep = nms(boxes, scores, self.params.nms_thresholds[1], mode=self.params.nms_mode)
        boxes, offsets = boxes[keep], offsets[keep]
        if not self.params.regress_before_nms:
            boxes = boxes + offsets * np.tile(boxes[:, 2:] - boxes[:, :2], 2)
        return square(boxes)

    def _refine(self, image: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        """Stage 2: R-Net scores and offsets, threshold, NMS, squared boxes."""
        offsets, probability = self.nets.rnet(crop_resize(image, boxes, RNET_INPUT_PX))
        scores = probability[:, 1].astype(np.float64)
        passed = scores > self.params.thresholds[1]
        boxes, scores, offsets = boxes[passed], scores[passed], offsets[passed]
        if self.params.regress_before_nms:
            boxes = regress(boxes, offsets)
        keep = nms(boxes, scores, self.params.nms_thresholds[2], mode=self.params.nms_mode)
        boxes, offsets = boxes[keep], offsets[keep]
        if not self.params.regress_before_nms:
            boxes = regress(boxes, offsets)
        return square(boxes)

    def _output(self, image: np.ndarray, boxes: np.ndarray) -> Detections:
        """Stage 3: O-Net scores, offsets and landmarks, threshold, NMS over the smaller area."""
        offsets, landmarks, probability = self.nets.onet(crop_resize(image, boxes, ONET_INPUT_PX))
        scores = probability[:, 1].astype(np.float64)
        sizes = boxes[:, 2:] - boxes[:, :2] + 1
        points = np.stack([landmarks[:, :5], landmarks[:, 5:]], axis=-1) * sizes[:, None, :]
        points += boxes[:, None, :2] - 1
        passed = scores > self.params.thresholds[2]
        boxes = regress(boxes[passed], offsets[passed])
        scores, points = scores[passed], points[passed]
        keep = nms(boxes, scores, self.params.nms_thresholds[3], "min", self.params.nms_mode)
        return Detections(
            boxes=boxes[keep].astype(np.float32),
            scores=scores[keep].astype(np.float32),
            landmarks=points[keep].astype(np.float32),
        )

    def detect(self, rgb: np.ndarray, timings: dict[str, float] | None = None) -> Detections:
        """Faces in one HxWx3 uint8 RGB frame, with the work done (WORK_COUNTS) in their
        ``work``; adds seconds per stage to `timings` if given."""
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise FacebenchError(
                f"MTCNN input: expected HxWx3 uint8 RGB, got {rgb.shape} {rgb.dtype}"
            )
        if timings is not None:
            for stage in STAGES:
                timings.setdefault(stage, 0.0)
        with _timed(timings, "pyramid"):
            image = normalise(rgb) if self.params.pyramid_resize == "each" else rgb
            levels = _pyramid(image, self.params, self._pool)
        work = dict.fromkeys(WORK_COUNTS, 0) | {"n_pyramid_levels": len(levels)}
        with _timed(timings, "pnet"):
            boxes = self._propose(levels) if levels else np.zeros((0, 4))
        work["n_rnet_in"] = len(boxes)
        if not len(boxes):
            return _empty(work)
        with _timed(timings, "rnet"):
            boxes = self._refine(image, boxes)
        work["n_onet_in"] = len(boxes)
        if not len(boxes):
            return _empty(work)
        with _timed(timings, "onet"):
            return replace(self._output(image, boxes), work=work)
