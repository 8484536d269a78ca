"""Denser generated videos: a video's ``face_counts: [fewest, most]`` bounds its face-count
schedule and sets its mean, the config schema checks the option, and config/dense.yaml's
video3 averages about the paper's 3.3 faces per frame."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import yaml
from conftest import REPO_ROOT, shipped_config
from snakemake.exceptions import WorkflowError
from snakemake.utils import update_config, validate

from facebench.errors import FacebenchError
from facebench.videos.generate import (
    MARGIN_BOTTOM,
    MARGIN_SIDE,
    MARGIN_TOP,
    SEGMENT_S,
    FaceSprite,
    Segment,
    face_count_schedule,
    render_master,
)
from facebench.videos.groundtruth import read_groundtruth

CONFIG_SCHEMA = str(REPO_ROOT / "src" / "facebench" / "schemas" / "config.schema.yaml")
PAPER_VIDEO3_FACES = (3.2, 3.4)  # the paper's videos: 3.3 detected faces per frame (Table 6)


def _load(name: str) -> dict:
    return yaml.safe_load((REPO_ROOT / "config" / name).read_text())


def _mean_faces(segments: list[Segment]) -> float:
    """Faces per frame over the schedule, each segment weighted by its frames."""
    frames = np.array([s.stop - s.start for s in segments])
    return float(np.average([s.face_count for s in segments], weights=frames))


def _schedule(seed: int, face_counts: tuple[int, int], seconds: float = 3600, fps: int = 30):
    rng = np.random.default_rng(seed)
    return face_count_schedule(rng, round(seconds * fps), fps, face_counts, SEGMENT_S)


@pytest.mark.parametrize("face_counts", [(0, 6), (1, 6), (2, 5), (3, 3), (0, 0)])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_schedule_stays_in_its_range_and_shows_every_count(face_counts, seed):
    fewest, most = face_counts
    segments = _schedule(seed, face_counts, seconds=120)
    assert {s.face_count for s in segments} == set(range(fewest, most + 1))
    assert [s.start for s in segments[1:]] == [s.stop for s in segments[:-1]]


@pytest.mark.parametrize("face_counts", [(0, 6), (1, 6), (2, 5), (2, 6)])
def test_schedule_mean_is_about_the_range_midpoint(face_counts):
    """An hour of segments: the frame-weighted mean is the midpoint to within 0.3 faces."""
    for seed in (1, 2, 3):
        assert _mean_faces(_schedule(seed, face_counts)) == pytest.approx(
            sum(face_counts) / 2, abs=0.3
        )


@pytest.mark.parametrize("face_counts", [(3, 2), (-1, 4), (-2, -1)])
def test_schedule_refuses_a_bad_range(face_counts):
    with pytest.raises(FacebenchError, match="fewest <= most"):
        _schedule(1, face_counts, seconds=10)


def _sprites(count: int = 6) -> list[FaceSprite]:
    """Plain grey sprites with a 80x100 face framed like sprites_from_photos frames a photo's."""
    face_w, face_h = 80.0, 100.0
    left, top = MARGIN_SIDE * face_w, MARGIN_TOP * face_h
    box = np.array([left, top, left + face_w, top + face_h])
    width = round((1 + 2 * MARGIN_SIDE) * face_w)
    height = round((1 + MARGIN_TOP + MARGIN_BOTTOM) * face_h)
    return [
        FaceSprite(f"p{i}", np.full((height, width, 3), 128, np.uint8), box) for i in range(count)
    ]


def test_render_master_places_the_range_in_every_frame(tmp_path):
    """A short render with 2 to 3 faces at a time: every frame of its ground truth has 2 or 3."""
    video, truth = tmp_path / "master.mp4", tmp_path / "groundtruth.csv"
    render_master(
        _sprites(),
        video,
        truth,
        fps=10,
        duration_s=2.0,
        seed=5,
        width=640,
        height=360,
        face_counts=(2, 3),
        face_height_px=(40.0, 80.0),
        segment_s=(0.3, 0.6),
        preset="ultrafast",
    )
    groundtruth = read_groundtruth(truth)
    per_frame = groundtruth[groundtruth.identity != ""].groupby("frame").size()
    assert len(per_frame) == 20 and set(per_frame) == {2, 3}


def test_render_master_refuses_a_bad_range_before_writing(tmp_path):
    video, truth = tmp_path / "master.mp4", tmp_path / "groundtruth.csv"
    with pytest.raises(FacebenchError, match="fewest <= most"):
        render_master(_sprites(), video, truth, 10, 1.0, 1, face_counts=(4, 2))
    assert not list(tmp_path.iterdir())


def _with_video3(spec: dict) -> dict:
    config = shipped_config("ci.yaml")
    config["videos"]["generated"]["video3"] = {"fps": 30, "duration_s": 1, "seed": 3, **spec}
    return config


def test_schema_accepts_a_face_count_range():
    validate(_with_video3({"face_counts": [1, 6]}), CONFIG_SCHEMA)
    validate(_with_video3({}), CONFIG_SCHEMA)  # optional: 0 to videos.max_faces


@pytest.mark.parametrize("face_counts", [[-1, 6], [1], [1, 2, 3], [1.5, 6], "1-6"])
def test_schema_rejects_a_malformed_range(face_counts):
    with pytest.raises(WorkflowError):
        validate(_with_video3({"face_counts": face_counts}), CONFIG_SCHEMA)


def test_dense_video3_is_denser_and_averages_about_the_papers_faces_per_frame():
    """config/dense.yaml's video3, added to config/paper.yaml as Snakemake merges config files
    (valid, not in the default config), averages 3.2 to 3.4 faces per frame; render_master
    draws this same schedule first from the video's seed."""
    paper = shipped_config("paper.yaml")
    update_config(paper, _load("dense.yaml"))
    validate(copy.deepcopy(paper), CONFIG_SCHEMA)
    assert set(paper["videos"]["generated"]) == {"video1", "video2", "video3"}
    assert "video3" not in _load("config.yaml")["videos"]["generated"]
    spec = paper["videos"]["generated"]["video3"]
    schedule = _schedule(spec["seed"], tuple(spec["face_counts"]), spec["duration_s"], spec["fps"])
    low, high = PAPER_VIDEO3_FACES
    assert low <= _mean_faces(schedule) <= high
    video1 = paper["videos"]["generated"]["video1"]
    default = (0, paper["videos"]["max_faces"])
    assert (
        _mean_faces(_schedule(video1["seed"], default, video1["duration_s"], video1["fps"])) < low
    )
