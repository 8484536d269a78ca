"""Synthetic videos: deterministic, truthful ground truth, transcodes that keep every frame and
line up with the scaled boxes, interchangeable readers, and clear errors on bad input."""

from __future__ import annotations

import itertools
import re
import subprocess
from collections import deque
from fractions import Fraction
from pathlib import Path

import av
import imageio_ffmpeg
import numpy as np
import pandas as pd
import pytest
from conftest import snakemake, user_table_config

from facebench.errors import FacebenchError
from facebench.recognition.boxes import iou_matrix
from facebench.recognition.detector import load_detector
from facebench.recognition.photos import list_photos
from facebench.videos import generate
from facebench.videos.generate import FaceSprite, render_master, sprites_from_photos
from facebench.videos.groundtruth import (
    GROUNDTRUTH_COLUMNS,
    complete_groundtruth,
    read_groundtruth,
    validate_groundtruth,
    write_groundtruth,
)
from facebench.videos.reader import open_reader, open_video_stream
from facebench.videos.transcode import (
    check_resolutions,
    fit_transform,
    probe_video,
    scale_groundtruth,
    transcode,
)

FPS = 10
DURATION_S = 3.0
FRAME_COUNT = 30
SEED = 7
SIZES = {  # name: width, height, fit
    "480": (720, 480, "pad"),
    "480crop": (720, 480, "crop"),
    "HD": (1280, 720, "pad"),
    "FHD": (1920, 1080, "pad"),
}


@pytest.fixture(scope="module")
def detector(models_dir):
    return load_detector("onnx", models_dir, threads=2)


@pytest.fixture(scope="module")
def sprites(faces_dir, detector) -> list[FaceSprite]:
    photos = [p for p in list_photos(faces_dir, max_per_person=2) if p.split == "val"]
    return sprites_from_photos(photos, detector)


def _render(sprites: list[FaceSprite], directory: Path, seed: int) -> tuple[Path, Path]:
    """A short master with many short segments (2-4 frames each), so every face count shows."""
    video, groundtruth = directory / "master.mp4", directory / "groundtruth.csv"
    render_master(
        sprites, video, groundtruth, FPS, DURATION_S, seed, segment_s=(0.2, 0.4), preset="fast"
    )
    return video, groundtruth


@pytest.fixture(scope="module")
def master(sprites, tmp_path_factory) -> tuple[Path, Path]:
    return _render(sprites, tmp_path_factory.mktemp("master"), SEED)


@pytest.fixture(scope="module")
def transcoded(master, tmp_path_factory) -> dict[str, tuple[Path, Path]]:
    """Each size's video and its scaled ground truth."""
    directory = tmp_path_factory.mktemp("transcoded")
    video, groundtruth_csv = master
    groundtruth = read_groundtruth(groundtruth_csv)
    outputs = {}
    for name, (width, height, fit) in SIZES.items():
        out = directory / f"{name}.mp4"
        transform = transcode(video, out, width, height, fit, crf=23)
        scaled_csv = directory / f"{name}.groundtruth.csv"
        write_groundtruth(scale_groundtruth(groundtruth, transform, width, height), scaled_csv)
        outputs[name] = (out, scaled_csv)
    return outputs


def _first_and_last(video: Path) -> tuple[np.ndarray, np.ndarray]:
    with open_reader(video, "pyav") as reader:
        frames = iter(reader)
        first = next(frames)
        rest = deque(frames, maxlen=1)  # only the last frame stays in memory
    return first, rest[0] if rest else first


def _corner_boxes(groundtruth) -> np.ndarray:
    boxes = groundtruth[["x", "y", "w", "h"]].to_numpy(np.float64)
    boxes[:, 2:] += boxes[:, :2]
    return boxes


def test_sprites_are_labelled_faces_with_context(sprites):
    assert len(sprites) == 10 and {s.identity for s in sprites} == {
        "ben_afflek",
        "elton_john",
        "jerry_seinfeld",
        "madonna",
        "mindy_kaling",
    }
    for sprite in sprites:
        height, width = sprite.image.shape[:2]
        face_w, face_h = sprite.face_box[2:] - sprite.face_box[:2]
        assert width > 2 * face_w and height > 2.5 * face_h  # hair, neck and sides around it
    with pytest.raises(FacebenchError, match="too close to the edge"):
        FaceSprite("x", np.zeros((100, 100, 3), np.uint8), np.array([0.0, 0.0, 90.0, 90.0]))


def test_same_seed_same_video_other_seed_differs(sprites, master, tmp_path):
    video, groundtruth = master
    again_video, again_groundtruth = _render(sprites, tmp_path / "again", SEED)
    assert again_groundtruth.read_bytes() == groundtruth.read_bytes()
    for frame, again_frame in zip(
        _first_and_last(video), _first_and_last(again_video), strict=True
    ):
        np.testing.assert_array_equal(frame, again_frame)
    _, other_groundtruth = _render(sprites, tmp_path / "other", SEED + 1)
    assert other_groundtruth.read_bytes() != groundtruth.read_bytes()


def test_groundtruth_schedule_sizes_and_bounds(sprites, master):
    _, groundtruth_csv = master
    groundtruth = read_groundtruth(groundtruth_csv)
    validate_groundtruth(groundtruth, FRAME_COUNT, groundtruth_csv)
    faces = groundtruth[groundtruth["identity"] != ""]
    empty = groundtruth[groundtruth["identity"] == ""]
    faces_per_frame = faces.groupby("frame").size().reindex(range(FRAME_COUNT), fill_value=0)
    assert faces_per_frame.max() >= 5 and faces_per_frame.max() <= 6
    # frames without a face are explicit: one row, empty box, never beside a face row
    assert len(empty) == (faces_per_frame == 0).sum() > 0
    assert empty["frame"].is_unique and not set(empty["frame"]) & set(faces["frame"])
    assert empty[["x", "y", "w", "h", "min_side_px"]].isna().all().all()
    assert not empty["detectable"].any()
    assert faces["h"].min() < 60 and faces["h"].max() > 200  # ~40 to ~300 px at 1080p
    assert (faces["x"] >= 0).all() and (faces["y"] >= 0).all()
    right, bottom = faces["x"] + faces["w"], faces["y"] + faces["h"]
    assert (right <= 1920 + 1e-9).all() and (bottom <= 1080 + 1e-9).all()
    assert (faces["detectable"] == (faces["min_side_px"] >= 20)).all()
    assert set(faces["identity"]) <= {s.identity for s in sprites}


def test_transcodes_keep_every_frame(master, transcoded):
    probes = {name: probe_video(video) for name, (video, _) in transcoded.items()}
    for name, (width, height, _) in SIZES.items():
        probe = probes[name]
        assert (probe["width"], probe["height"], probe["codec"]) == (width, height, "h264")
        assert probe["frame_count"] == FRAME_COUNT and probe["fps"] == FPS
        assert probe["duration_s"] == DURATION_S and probe["bitrate_bps"] > 0
    check_resolutions(probes)
    probes["HD"] = {**probes["HD"], "frame_count": FRAME_COUNT - 1}
    with pytest.raises(FacebenchError, match=r"frame_count differs.*480.*HD"):
        check_resolutions(probes)


def test_fit_transform_and_box_scaling_numbers():
    assert fit_transform(1920, 1080, 1280, 720, "pad") == (2 / 3, 2 / 3, 0.0, 0.0)
    pad = fit_transform(1920, 1080, 720, 480, "pad")
    crop = fit_transform(1920, 1080, 720, 480, "crop")
    assert pad == (0.375, 404 / 1080, 0.0, 38.0)  # 720x404 picture, even bars of 38 and 38 px
    assert crop == (854 / 1920, 480 / 1080, -66.0, 0.0)  # 854x480 picture, 66 px cut left
    groundtruth = complete_groundtruth(
        pd.DataFrame(
            [(0, "a", 960, 540, 100, 100), (0, "b", 100, 100, 200, 200), (1, "c", 0, 0, 100, 80)],
            columns=["frame", "identity", "x", "y", "w", "h"],
        ),
        range(3),
    )
    padded = scale_groundtruth(groundtruth, pad, 720, 480)
    assert padded.loc[0, ["x", "y", "w", "h"]].tolist() == [360.0, 240.0, 37.5, 37.4]
    cropped = scale_groundtruth(groundtruth, crop, 720, 480, min_detectable_px=60)
    assert cropped.loc[0, ["x", "y", "w", "h", "detectable"]].tolist() == [
        361.0,
        240.0,
        44.5,
        44.4,
        False,
    ]  # min side 44.4 px < 60 px
    assert cropped.loc[1, ["x", "y", "w", "h", "detectable"]].tolist() == [
        0.0,
        44.4,
        67.4,
        88.9,
        True,
    ]  # cut at the left edge
    assert cropped["identity"].tolist() == ["a", "b", "", ""]  # "c" cropped away: frame 1 empty
    with pytest.raises(FacebenchError, match="unknown fit 'stretch'"):
        fit_transform(1920, 1080, 720, 480, "stretch")


def test_user_groundtruth_with_only_boxes_is_moved(tmp_path):
    """A user's ground truth has frame,identity,x,y,w,h only (README, videos schema): moving it
    derives min_side_px and detectable from the config's min_detectable_px."""
    user_csv = tmp_path / "user.groundtruth.csv"
    user_csv.write_text("frame,identity,x,y,w,h\n0,ann,100,50,40,60\n0,bob,10,10,8,30\n1,,,,,\n")
    groundtruth = read_groundtruth(user_csv)
    validate_groundtruth(groundtruth, 2, user_csv)
    moved = scale_groundtruth(groundtruth, fit_transform(640, 360, 320, 180, "pad"), 320, 180, 10)
    out_csv = tmp_path / "HD.groundtruth.csv"
    write_groundtruth(moved, out_csv)
    written = read_groundtruth(out_csv)
    assert tuple(written.columns) == GROUNDTRUTH_COLUMNS
    assert written["identity"].tolist() == ["ann", "bob", ""]
    assert written.loc[0, ["x", "y", "w", "h", "min_side_px"]].tolist() == [50, 25, 20, 30, 20]
    assert written["detectable"].tolist() == [True, False, False]  # bob: 4 px < 10 px


@pytest.mark.parametrize("name", ["480", "480crop"])
def test_faces_line_up_with_scaled_groundtruth(detector, transcoded, name):
    """The detector finds each detectable face where the scaled ground truth says, and nothing
    on the background."""
    video, groundtruth_csv = transcoded[name]
    groundtruth = read_groundtruth(groundtruth_csv)
    detectable = groundtruth[groundtruth["detectable"]]
    busiest = set(detectable.groupby("frame").size().nlargest(3).index)
    no_face = set(groundtruth.loc[groundtruth["identity"] == "", "frame"][:2])
    best_iou, background_hits = [], 0
    with open_reader(video) as reader:
        for index, frame in enumerate(reader):
            if index in busiest:
                found = detector.detect(frame).boxes
                expected = _corner_boxes(detectable[detectable["frame"] == index])
                best_iou += iou_matrix(expected, found).max(axis=1).tolist()
            elif index in no_face:
                background_hits += len(detector.detect(frame))
    assert len(best_iou) >= 10
    assert np.mean(np.array(best_iou) >= 0.5) >= 0.9 and np.median(best_iou) >= 0.75
    assert background_hits == 0


def test_readers_agree(transcoded):
    video, _ = transcoded["480"]
    frames = {}
    for kind in ("opencv", "pyav"):
        with open_reader(video, kind) as reader:
            assert (reader.fps, reader.frame_count) == (FPS, FRAME_COUNT)
            frames[kind] = np.stack(list(reader)).astype(np.int16)
    assert frames["opencv"].shape == frames["pyav"].shape == (FRAME_COUNT, 480, 720, 3)
    assert np.abs(frames["opencv"] - frames["pyav"]).mean() < 1.0
    with pytest.raises(FacebenchError, match=rf"{video.name}: unknown frame reader 'gst'"):
        open_reader(video, "gst")


def _bad_video(kind: str, master_video: Path, directory: Path) -> Path:
    """A broken video file of ``kind``, made from the master."""
    path = directory / f"{kind}.mp4"
    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    if kind == "truncated":
        data = master_video.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif kind == "zero_frames":
        lavfi = ["-f", "lavfi", "-i", "color=size=64x64:rate=10"]
        subprocess.run([ffmpeg, "-loglevel", "error", *lavfi, "-frames:v", "0", path], check=True)
    elif kind == "samples_missing":  # index up front, picture data cut off
        faststart = directory / "faststart.mp4"
        copy = ["-c", "copy", "-movflags", "+faststart"]
        subprocess.run(
            [ffmpeg, "-loglevel", "error", "-i", master_video, *copy, faststart], check=True
        )
        data = faststart.read_bytes()
        path.write_bytes(data[: data.index(b"mdat") + 4])
    else:
        path.write_text("frame,identity\n")
    return path


@pytest.mark.parametrize(
    ("kind", "problem"),
    [
        ("truncated", "not a readable video"),
        ("zero_frames", "no video stream"),
        ("samples_missing", "cannot decode frame 0 of 30"),
        ("not_a_video", "not a readable video"),
    ],
)
def test_bad_videos_raise_naming_the_file(master, tmp_path, kind, problem):
    path = _bad_video(kind, master[0], tmp_path)
    with pytest.raises(FacebenchError, match=rf"{path.name}: {problem}"):
        probe_video(path)
    if kind != "samples_missing":  # readers open it; the probe's decode count catches it
        for reader_kind in ("opencv", "pyav"):
            with pytest.raises(FacebenchError, match=path.name):
                open_reader(path, reader_kind)


def test_groundtruth_not_matching_the_video_raises(master):
    _, path = master
    groundtruth = read_groundtruth(path)
    with pytest.raises(FacebenchError, match=rf"{path.name}: frame indices outside.*\[29\]"):
        validate_groundtruth(groundtruth, FRAME_COUNT - 1, path)
    with pytest.raises(FacebenchError, match=rf"{path.name}: 1 of 30 frames have no row"):
        validate_groundtruth(groundtruth[groundtruth["frame"] != 5], FRAME_COUNT, path)
    with pytest.raises(FacebenchError, match=rf"{path.name}: ground truth lacks columns h"):
        validate_groundtruth(groundtruth.drop(columns="h"), FRAME_COUNT, path)
    with pytest.raises(FacebenchError, match=rf"{path.name}: .*frame indices are not all"):
        validate_groundtruth(groundtruth.assign(frame=0.5), FRAME_COUNT, path)
    with pytest.raises(FacebenchError, match=rf"{path.name}: face rows need a box"):
        validate_groundtruth(groundtruth.assign(x=np.nan), FRAME_COUNT, path)


def test_failed_transcode_leaves_nothing(master, tmp_path):
    out = tmp_path / "out" / "480.mp4"
    not_a_video = _bad_video("not_a_video", master[0], tmp_path)
    with pytest.raises(FacebenchError, match=not_a_video.name):
        transcode(not_a_video, out, 720, 480)
    fake_ffmpeg = tmp_path / "ffmpeg"  # writes half a file, notes where, then fails
    written = tmp_path / "written.txt"
    script = f'for last; do :; done\necho half > "$last"\necho "$last" > {written}\nexit 1\n'
    fake_ffmpeg.write_text(f"#!/bin/sh\n{script}")
    fake_ffmpeg.chmod(0o755)
    with pytest.raises(FacebenchError, match=rf"{out.name}: ffmpeg failed"):
        transcode(master[0], out, 720, 480, ffmpeg=str(fake_ffmpeg))
    assert Path(written.read_text().strip()).parent == out.parent
    assert list(out.parent.iterdir()) == []


def test_failed_render_leaves_nothing(sprites, tmp_path, monkeypatch):
    render_frames = generate._frames

    def frames_then_crash(*args):
        yield from itertools.islice(render_frames(*args), 2)
        raise RuntimeError("renderer crashed")

    monkeypatch.setattr(generate, "_frames", frames_then_crash)
    with pytest.raises(RuntimeError, match="crashed"):
        _render(sprites, tmp_path, SEED)
    assert not any(tmp_path.iterdir())


def _test_pattern(path: Path, fps: int, frames: int) -> Path:
    """A small H.264 MP4 of ffmpeg's test pattern with its index up front (``+faststart``)."""
    source = ["-f", "lavfi", "-i", f"testsrc=size=160x120:rate={fps}", "-frames:v", str(frames)]
    encode = ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-movflags", "+faststart"]
    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    subprocess.run([ffmpeg, "-loglevel", "error", *source, *encode, path], check=True)
    return path


@pytest.fixture
def cut_short(tmp_path) -> Path:
    """The first 60 % of a 60-frame faststart MP4: it opens (the index says 60 frames), and
    decoding stops part way."""
    data = _test_pattern(tmp_path / "whole.mp4", 10, 60).read_bytes()
    path = tmp_path / "cut_short.mp4"
    path.write_bytes(data[: len(data) * 6 // 10])
    return path


def _failed_frame(error: pytest.ExceptionInfo, path: Path) -> int:
    """The frame number in a one-line 'PATH: cannot decode frame N of 60 (...)' error."""
    message = str(error.value)
    assert "\n" not in message
    match = re.fullmatch(
        rf"{re.escape(str(path))}: cannot decode frame (\d+) of 60 \(.+\)", message
    )
    assert match, message
    return int(match[1])


@pytest.mark.parametrize("kind", ["opencv", "pyav"])
def test_readers_fail_on_a_video_cut_short(cut_short, kind):
    frames = []
    with open_reader(cut_short, kind) as reader, pytest.raises(FacebenchError) as error:
        assert (reader.fps, reader.frame_count) == (FPS, 60)
        frames.extend(reader)
    assert 0 < _failed_frame(error, cut_short) == len(frames) < 60


def test_transcode_and_probe_fail_on_a_video_cut_short(cut_short, tmp_path):
    out = tmp_path / "out" / "480.mp4"
    with pytest.raises(FacebenchError) as error:
        transcode(cut_short, out, 720, 480)
    assert 0 < _failed_frame(error, cut_short) < 60 and "ffmpeg wrote" in str(error.value)
    assert list(out.parent.iterdir()) == []  # nothing half-written
    with pytest.raises(FacebenchError) as error:
        probe_video(cut_short)
    assert 0 < _failed_frame(error, cut_short) < 60


def test_fps_override_is_carried_by_the_transcode(tmp_path):
    """A video written at 10 fps, said to be 25: every frame kept, the outputs are 25 fps."""
    source = _test_pattern(tmp_path / "ten.mp4", 10, 20)
    assert probe_video(source)["fps"] == 10
    assert probe_video(source, fps=25)["fps"] == 25
    out = tmp_path / "HD.mp4"
    transform = transcode(source, out, 320, 180, fps=25, frame_count=20)
    assert transform == fit_transform(160, 120, 320, 180, "pad")  # boxes move as before
    probe = probe_video(out)
    assert (probe["fps"], probe["frame_count"], probe["duration_s"]) == (25, 20, 0.8)
    for kind in ("opencv", "pyav"):
        with open_reader(out, kind) as reader:
            assert (reader.fps, reader.frame_count, sum(1 for _ in reader)) == (25, 20, 20)


@pytest.mark.parametrize("fps", ["0", "-25"])
def test_user_table_rejects_a_bad_fps(tmp_path, fps):
    video = _test_pattern(tmp_path / "clip.mp4", 10, 5)
    table = tmp_path / "videos.tsv"
    table.write_text(f"name\tpath\tgroundtruth\tfps\nmine\t{video}\t\t{fps}\n")
    result = snakemake(tmp_path, user_table_config(tmp_path, table), "--dry-run", timeout_s=300)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    expected = f"{table}: mine: fps: {fps} is less than or equal to the minimum of 0"
    assert expected in output.splitlines(), output[-2000:]


def _ffmpeg(*args: str | Path) -> None:
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", *args], check=True)


def test_rotated_video_is_a_one_line_error(tmp_path):
    """A phone video stored sideways with a display matrix: OpenCV turns it, PyAV and the
    ground truth do not, so it is refused rather than read two ways."""
    rotated = tmp_path / "rotated.mp4"
    flat = _test_pattern(tmp_path / "flat.mp4", 10, 5)
    _ffmpeg("-display_rotation", "90", "-i", flat, "-c", "copy", rotated)
    with pytest.raises(FacebenchError) as error:
        probe_video(rotated)
    assert str(error.value) == (
        f"{rotated}: rotated 90 degrees by its display matrix (readers and ground truth would "
        "disagree on up): re-encode it upright first (ffmpeg -i IN OUT applies the rotation)"
    )


def test_variable_frame_rate_needs_an_fps(tmp_path):
    """Ten frames 0.1 s apart, then ten 0.05 s apart: an error unless an fps restamps them."""
    vfr = tmp_path / "vfr.mp4"
    with av.open(str(vfr), "w") as container:  # frames stamped by hand, in 1/20 s
        stream = container.add_stream("libx264", rate=20)
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        for index, pts in enumerate([*range(0, 20, 2), *range(20, 30)]):
            frame = av.VideoFrame.from_ndarray(np.full((120, 160, 3), index * 10, np.uint8))
            frame.pts, frame.time_base = pts, Fraction(1, 20)
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    with pytest.raises(FacebenchError) as error:
        probe_video(vfr)
    assert str(error.value) == (
        f"{vfr}: variable frame rate (frames 0.05 to 0.1 s apart): give its fps in the video "
        "table (every frame restamped at that rate) or re-encode it at one rate"
    )
    assert probe_video(vfr, fps=20)["frame_count"] == 20
    out = tmp_path / "480.mp4"
    transcode(vfr, out, 160, 120, fps=20, frame_count=20)
    assert (probe_video(out)["fps"], probe_video(out)["frame_count"]) == (20, 20)


@pytest.mark.parametrize(
    ("name", "encode"),
    [
        ("yuv444.mp4", ["-c:v", "libx264", "-pix_fmt", "yuv444p"]),
        ("rgb.mkv", ["-c:v", "ffv1", "-pix_fmt", "bgr0"]),  # RGB, frame count not in the index
    ],
)
def test_non_yuv420_video_is_transcoded_to_yuv420_frame_for_frame(tmp_path, name, encode):
    source = tmp_path / name
    _ffmpeg("-f", "lavfi", "-i", "testsrc=size=160x120:rate=10", "-frames:v", "12", *encode, source)
    probe = probe_video(source)
    assert (probe["fps"], probe["frame_count"]) == (10, 12)
    out = tmp_path / "480.mp4"
    assert transcode(source, out, 160, 120, frame_count=12) == (1.0, 1.0, 0.0, 0.0)
    container, stream = open_video_stream(out)
    with container:
        assert (stream.codec_context.pix_fmt, stream.frames) == ("yuv420p", 12)
    with open_reader(source, "pyav") as a, open_reader(out, "pyav") as b:
        original, transcoded = (np.stack(list(r)).astype(np.int16) for r in (a, b))
    # chroma halved and crf 23 on a sharp test pattern: a few levels on average, not a shift
    assert original.shape == transcoded.shape == (12, 120, 160, 3)
    assert np.abs(original - transcoded).mean() < 8
