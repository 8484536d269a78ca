"""MTCNN: nets rebuilt from the `mtcnn` package's weights, and stages that reproduce mtcnn 1.0."""

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import keras
import mtcnn
import numpy as np
import pytest
from mtcnn.stages import StageONet, StagePNet, StageRNet

import facebench.models.mtcnn_nets as mtcnn_nets
from facebench.backends.tf import KerasMtcnnNets
from facebench.errors import FacebenchError
from facebench.models.mtcnn_nets import build_mtcnn_nets, save_mtcnn_nets
from facebench.recognition.boxes import box_overlaps, match_boxes
from facebench.recognition.mtcnn import (
    RNET_INPUT_PX,
    STAGES,
    Mtcnn,
    MtcnnParams,
    _halved_sources,
    _pyramid,
    crop_resize,
    nms,
    normalise,
    pyramid_sizes,
)
from facebench.recognition.photos import read_rgb

MIN_IOU_WITH_PACKAGE = 0.95
NET_INPUTS = {"pnet": (1, 61, 97, 3), "rnet": (5, 24, 24, 3), "onet": (5, 48, 48, 3)}


@pytest.fixture(scope="session")
def keras_models() -> dict[str, keras.Model]:
    return build_mtcnn_nets()


@pytest.fixture(scope="session")
def detector(keras_models: dict[str, keras.Model]) -> Mtcnn:
    return Mtcnn(KerasMtcnnNets(keras_models))


def _photos(faces_dir: Path) -> list[Path]:
    photos = sorted(faces_dir.glob("*/*/*.jpg"))
    assert photos, f"no photos under {faces_dir}"
    return photos


def _matched_ious(reference: np.ndarray, ours: np.ndarray) -> list[float]:
    """IoU of each reference box with its one-to-one partner (0 for an unmatched box)."""
    matched = [iou for _, _, iou in match_boxes(reference, ours)]
    return matched + [0.0] * (len(reference) - len(matched))


@pytest.mark.parametrize("net", ["pnet", "rnet", "onet"])
def test_nets_equal_package_nets(keras_models: dict[str, keras.Model], net: str) -> None:
    package_net = {"pnet": StagePNet, "rnet": StageRNet, "onet": StageONet}[net]().model
    x = np.random.default_rng(0).uniform(-1, 1, NET_INPUTS[net]).astype(np.float32)
    ours = getattr(KerasMtcnnNets(keras_models), net)(x)
    assert len(ours) == len(package_net(x))
    for mine, theirs in zip(ours, package_net(x), strict=True):
        assert mine.shape == tuple(theirs.shape)
        np.testing.assert_allclose(mine, theirs.numpy(), atol=1e-5)


def test_missing_weight_names_the_net(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mtcnn_nets, "load_weights", lambda name: [])
    with pytest.raises(FacebenchError, match="mtcnn pnet: layer conv1"):
        build_mtcnn_nets()


# Keras's own weight serialisation calls np.array(..., copy=False) on numpy 2
@pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept:DeprecationWarning")
def test_saved_nets_load_without_unsafe_mode(
    keras_models: dict[str, keras.Model], tmp_path: Path
) -> None:
    paths = save_mtcnn_nets(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["onet.keras", "pnet.keras", "rnet.keras"]
    x = np.random.default_rng(1).uniform(-1, 1, NET_INPUTS["onet"]).astype(np.float32)
    loaded = keras.models.load_model(paths["onet"])
    for mine, saved in zip(keras_models["onet"](x), loaded(x), strict=True):
        np.testing.assert_array_equal(np.asarray(mine), np.asarray(saved))


def test_fast_nms_also_drops_boxes_hit_by_dropped_ones() -> None:
    boxes = np.array([[0, 0, 10, 10], [3, 0, 13, 10], [6, 0, 16, 10]], dtype=float)
    scores = np.array([0.9, 0.8, 0.7])
    assert nms(boxes, scores, 0.4, mode="greedy").tolist() == [0, 2]
    assert nms(boxes, scores, 0.4, mode="fast").tolist() == [0]


def test_fast_nms_sweep_equals_the_full_iou_matrix() -> None:
    rng = np.random.default_rng(2)
    corners = rng.uniform(0, 300, (600, 2))  # 600 boxes: more than one block of rows
    boxes = np.hstack([corners, corners + rng.uniform(-2, 60, (600, 2))]).round()
    scores = rng.random(600).round(1)  # tied scores, tied x1 and degenerate boxes
    order = np.argsort(scores)[::-1]
    for overlap in ("union", "min"):
        ious = box_overlaps(boxes[order], boxes[order], overlap)
        kept = order[~np.triu(ious > 0.5, k=1).any(axis=0)]
        assert nms(boxes, scores, 0.5, overlap, "fast").tolist() == kept.tolist()


def test_same_faces_as_package_on_every_photo(faces_dir: Path, detector: Mtcnn) -> None:
    """Default settings; the package's float boxes (output_type="numpy"), ours clipped like them."""
    package = mtcnn.MTCNN()
    failures, ious = [], []
    for path in _photos(faces_dir):
        rgb = read_rgb(path)
        height_px, width_px = rgb.shape[:2]
        reference = package.detect_faces(rgb, output_type="numpy", box_format="xyxy")[:, 1:5]
        ours = detector.detect(rgb).boxes.astype(np.float64)
        ours[:, 0::2] = ours[:, 0::2].clip(0, width_px - 1)
        ours[:, 1::2] = ours[:, 1::2].clip(0, height_px - 1)
        if len(ours) != len(reference):
            failures.append(f"{path.name}: {len(ours)} faces, package {len(reference)}")
            continue
        matched = _matched_ious(reference, ours)
        ious += matched
        if matched and min(matched) < MIN_IOU_WITH_PACKAGE:
            failures.append(f"{path.name}: IoU {min(matched):.3f}")
    print(f"{len(ious)} package faces matched, minimum IoU {min(ious):.6f}")
    assert not failures, "; ".join(failures)


def test_black_frame_has_no_faces(detector: Mtcnn) -> None:
    timings: dict[str, float] = {}
    found = detector.detect(np.zeros((480, 640, 3), np.uint8), timings)
    assert len(found) == 0
    assert found.boxes.shape == (0, 4) and found.boxes.dtype == np.float32
    assert found.scores.shape == (0,)
    assert found.landmarks.shape == (0, 5, 2)
    assert set(timings) == set(STAGES)


def test_pasted_photos_are_found_where_pasted(faces_dir: Path, detector: Mtcnn) -> None:
    canvas = np.full((1080, 1920, 3), 128, np.uint8)
    places_px = [(150, 100), (800, 500), (1500, 200)]  # (x, y) of each photo's top left
    expected = []
    for path in _photos(faces_dir):
        rgb, (x, y) = read_rgb(path), places_px[len(expected)]
        alone = detector.detect(rgb)
        if len(alone) == 1:
            canvas[y : y + rgb.shape[0], x : x + rgb.shape[1]] = rgb
            expected.append(alone.boxes[0] + np.array([x, y, x, y]))
        if len(expected) == len(places_px):
            break
    timings: dict[str, float] = {}
    found = detector.detect(canvas, timings)
    assert len(found) == len(places_px)
    assert min(_matched_ious(np.array(expected, float), found.boxes.astype(float))) >= 0.8
    assert found.landmarks.shape == (3, 5, 2)
    assert all(timings[stage] > 0 for stage in STAGES)


def test_crops_of_the_uint8_frame_are_the_normalised_frames_crops() -> None:
    """Bilinear sampling and normalisation are both linear: cutting R-/O-Net crops from the
    uint8 frame (the halving pyramid's way) gives the crops of the normalised frame, with the
    outside still 0 in normalised units (mid-grey)."""
    rgb = np.random.default_rng(3).integers(0, 256, (90, 120, 3), dtype=np.uint8)
    boxes = np.array([[10.3, 5.7, 50.2, 60.9], [-8.0, -4.0, 30.0, 40.0], [100, 70, 140, 95.5]])
    crops = crop_resize(rgb, boxes, RNET_INPUT_PX)
    assert crops.dtype == np.float32
    np.testing.assert_allclose(crops, crop_resize(normalise(rgb), boxes, RNET_INPUT_PX), atol=1e-5)
    assert (crops[1, 0, 0] == 0).all()  # a sample left of and above the frame


def test_halving_levels_come_from_copies_at_least_one_and_a_half_times_their_size() -> None:
    params = MtcnnParams(pyramid_resize="halving")
    sizes = pyramid_sizes(1080, 1920, params)
    sources = _halved_sources(np.zeros((1080, 1920, 3), np.uint8), sizes)
    for (_, h, w), source in zip(sizes, sources, strict=True):
        assert source.shape[0] >= 1.5 * h and source.shape[1] >= 1.5 * w
        assert source.shape[0] // 2 < 1.5 * h or source.shape[1] // 2 < 1.5 * w  # smallest
    assert sources[0].shape[:2] == (1080, 1920) and sources[-1].shape[0] < 1080 / 8
    with ThreadPoolExecutor(2) as pool:
        levels = _pyramid(np.zeros((1080, 1920, 3), np.uint8), params, pool)
    assert [lv.image.shape[:2] for lv in levels] == [(h, w) for _, h, w in sizes]
    assert all(lv.image.dtype == np.float32 for lv in levels)


def test_halving_finds_the_same_faces_as_the_default_pyramid(
    faces_dir: Path, detector: Mtcnn
) -> None:
    """Three photos pasted on a 1080p canvas: the same faces, boxes within a few pixels."""
    halving = Mtcnn(detector.nets, MtcnnParams(pyramid_resize="halving"), threads=2)
    canvas = np.full((1080, 1920, 3), 128, np.uint8)
    for (x, y), path in zip(
        [(150, 100), (800, 500), (1500, 200)], _photos(faces_dir), strict=False
    ):
        rgb = read_rgb(path)[:400, :400]
        canvas[y : y + rgb.shape[0], x : x + rgb.shape[1]] = rgb
    reference, found = detector.detect(canvas), halving.detect(canvas)
    assert len(found) == len(reference) > 0
    assert min(_matched_ious(reference.boxes.astype(float), found.boxes.astype(float))) >= 0.85
