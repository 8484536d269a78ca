"""Synthetic benchmark runs in the real on-disk schema, for tests and the scale benchmark.

Writes ``results/runs/<device>/<detector>__<recognizer>/<video>_<res>/rep<r>/`` (frames.csv,
faces.csv, run.json, as :mod:`facebench.harness.benchmark_run` writes them) and the ground truth
``resources/videos/<video>/<res>.groundtruth.csv`` under a root folder. Faces move in four
lanes that never overlap; detections are the ground-truth boxes jittered, some missed, plus false
positives; times scale with pixels, faces and the device's and frameworks' speed. No image is made.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from facebench.harness.frame_loop import DETECT_STAGE_COLUMNS
from facebench.recognition.boxes import MIN_FACE_PX
from facebench.videos import RESOLUTIONS
from facebench.videos.groundtruth import groundtruth_csv

SYNTHETIC_FPS = 25.0  # every synthetic video's frame rate (video time of its frames)

PEOPLE = ("ben_afflek", "elton_john", "jerry_seinfeld", "madonna", "mindy_kaling")
ENROLLED = frozenset(PEOPLE[:4])
MASTER_WIDTH, MASTER_HEIGHT = 1920, 1080
DETECT_S_PER_MPIX = {"tf": 0.08, "tflite": 0.07, "onnx": 0.06, "openvino": 0.05, "tensorrt": 0.012}
EMBED_S_PER_FACE = {
    "tf": 0.03,
    "tflite": 0.025,
    "tflite-int8": 0.015,
    "onnx": 0.02,
    "openvino": 0.018,
    "tensorrt": 0.01,
    "tensorrt-fp16": 0.006,
}
FALSE_POSITIVES_PER_FRAME = {"tensorrt": 0.3}  # others: 0.02
NOT_PRESENT = "not measured: no sensor on this synthetic device"


@dataclass(frozen=True)
class Device:
    """A synthetic host: class, configurations, speed (time multiplier) and sensors."""

    name: str
    device_class: str
    pairs: Sequence[tuple[str, str]]
    speed: float = 1.0
    gpu: bool = False  # GPU memory and power measured
    os: str = "Debian GNU/Linux 12 (bookworm)"
    cpu_model: str = "Synthetic CPU"
    gpu_name: str = ""


def _groundtruth(n_frames: int, rng: np.random.Generator) -> pd.DataFrame:
    """Master (1920x1080) ground truth: up to four faces per frame, one per lane."""
    frame = np.repeat(np.arange(n_frames), len(PEOPLE) - 1)
    lane = np.tile(np.arange(len(PEOPLE) - 1), n_frames)
    present = rng.random(len(frame)) < 0.7
    phase = rng.uniform(0, 2 * np.pi, len(PEOPLE))
    side = 40 + 240 * (0.5 + 0.5 * np.sin(frame / 40 + phase[lane]))
    lane_w = MASTER_WIDTH / (len(PEOPLE) - 1)
    cx = lane_w * (lane + 0.5) + 0.3 * (lane_w - side) * np.sin(frame / 25 + phase[lane + 1])
    cy = MASTER_HEIGHT / 2 + 0.3 * (MASTER_HEIGHT - side) * np.cos(frame / 30 + phase[lane])
    identity = np.array(PEOPLE)[(lane + frame // 97) % len(PEOPLE)]
    return pd.DataFrame(
        {
            "frame": frame,
            "identity": identity,
            "x": cx - side / 2,
            "y": cy - side / 2,
            "w": side * 0.8,
            "h": side,
        }
    )[present]


def _at_resolution(master: pd.DataFrame, n_frames: int, resolution: str) -> pd.DataFrame:
    """Ground truth fitted to ``resolution`` (16:9 scaled, 3:2 padded), empty frames kept."""
    width, height = RESOLUTIONS[resolution]
    scale = min(width / MASTER_WIDTH, height / MASTER_HEIGHT)
    pad_y = (height - MASTER_HEIGHT * scale) / 2
    truth = master.assign(
        x=master["x"] * scale,
        y=master["y"] * scale + pad_y,
        w=master["w"] * scale,
        h=master["h"] * scale,
    )
    truth["min_side_px"] = truth[["w", "h"]].min(axis=1)
    truth["detectable"] = truth["min_side_px"] >= MIN_FACE_PX
    empty = np.setdiff1d(np.arange(n_frames), truth["frame"].unique())
    return pd.concat([truth, pd.DataFrame({"frame": empty})]).sort_values("frame", kind="stable")


def _detections(
    truth: pd.DataFrame,
    n_frames: int,
    size: tuple[int, int],
    detector: str,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """faces.csv rows: jittered, partly missed ground truth plus random false positives."""
    faces = truth.dropna(subset=["identity"])
    seen = rng.random(len(faces)) < np.where(faces["detectable"].astype(bool), 0.95, 0.4)
    faces = faces[seen]
    jitter = rng.normal(0, 0.04, (len(faces), 4)) * faces[["w", "h", "w", "h"]].to_numpy()
    right = rng.random(len(faces)) < 0.9
    expected = np.where(faces["identity"].isin(ENROLLED), faces["identity"], "unknown")
    identity = np.where(right, expected, rng.choice([*sorted(ENROLLED), "unknown"], len(faces)))
    n_false = rng.poisson(FALSE_POSITIVES_PER_FRAME.get(detector, 0.02) * n_frames)
    false_side = rng.uniform(20, 80, n_false)
    found = pd.DataFrame(
        {
            "frame": np.concatenate([faces["frame"], rng.integers(0, n_frames, n_false)]),
            "x": np.concatenate([faces["x"] + jitter[:, 0], rng.uniform(0, size[0] - 80, n_false)]),
            "y": np.concatenate([faces["y"] + jitter[:, 1], rng.uniform(0, size[1] - 80, n_false)]),
            "w": np.concatenate([faces["w"] + jitter[:, 2], false_side]),
            "h": np.concatenate([faces["h"] + jitter[:, 3], false_side * 1.2]),
            "identity": np.concatenate([identity, np.full(n_false, "unknown")]),
        }
    )
    found["score"] = rng.uniform(0.9, 1.0, len(found))
    found["distance"] = rng.uniform(0.5, 1.4, len(found))
    anyone = rng.choice(sorted(ENROLLED), len(found))
    found["nearest"] = np.where(found["identity"] == "unknown", anyone, found["identity"])
    found[["w", "h"]] = found[["w", "h"]].clip(lower=1)
    return found.sort_values("frame", kind="stable")[
        ["frame", "x", "y", "w", "h", "score", "identity", "distance", "nearest"]
    ]


def _frames(
    n_faces: np.ndarray,
    size: tuple[int, int],
    device: Device,
    detector: str,
    recognizer: str,
    warmup_frames: int,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """frames.csv rows: phase times from pixels, faces and speeds, with sensor columns."""
    n = len(n_faces)
    mpix = size[0] * size[1] / 1e6

    def noisy(mean: np.ndarray | float) -> np.ndarray:
        return mean * device.speed * rng.lognormal(0, 0.15, n)

    t = {
        "t_read_s": noisy(0.002 * mpix),
        "t_detect_s": noisy(DETECT_S_PER_MPIX[detector] * mpix + 0.005),
        "t_align_s": noisy(0.0005 * n_faces),
        "t_embed_s": noisy(EMBED_S_PER_FACE[recognizer] * n_faces),
        "t_identify_s": noisy(0.0001 * n_faces),
    }
    t["t_detect_s"][:warmup_frames] *= 3
    unattributed = noisy(0.0002)
    total = sum(t.values()) + unattributed
    stages = t["t_detect_s"][:, None] * rng.dirichlet([1, 4, 2, 1], n)
    frames = pd.DataFrame(
        {
            "frame": np.arange(n),
            "is_warmup": np.arange(n) < warmup_frames,
            **t,
            "t_total_s": total,
            "t_unattributed_s": unattributed,
            "n_faces": n_faces,
        }
    )
    for i, column in enumerate(DETECT_STAGE_COLUMNS):
        frames[column] = stages[:, i]
    frames["rss_mb"] = 600 + 300 * (recognizer == "tf") + rng.normal(0, 5, n).cumsum().clip(0)
    frames["cpu_percent"] = rng.uniform(90, 200, n)
    gpu = np.where(device.gpu, 1.0, np.nan)
    power = (3 if device.device_class == "edge" else 60) * (1 + 0.4 * (detector == "tensorrt"))
    frames["gpu_mem_used_mb"] = gpu * (2000 + 1500 * (detector == "tf") + rng.normal(0, 20, n))
    frames["gpu_mem_total_mb"] = gpu * 8192
    frames["power_w"] = gpu * power * rng.lognormal(0, 0.2, n)
    frames["energy_j"] = frames["power_w"] * total
    frames["cpu_power_w"] = np.nan
    frames["cpu_energy_j"] = np.nan
    return frames


def _run_json(
    device: Device,
    detector: str,
    recognizer: str,
    video: str,
    resolution: str,
    warmup_frames: int,
    frames: pd.DataFrame,
) -> dict:
    gpu_sensor = "synthetic GPU sensor" if device.gpu else NOT_PRESENT
    sensors = {
        q: gpu_sensor for q in ("gpu_mem_used_mb", "gpu_mem_total_mb", "power_w", "energy_j")
    }
    sensors |= {
        "rss_mb": "process RSS (synthetic)",
        "cpu_percent": "synthetic",
        "cpu_power_w": NOT_PRESENT,
        "cpu_energy_j": NOT_PRESENT,
    }
    return {
        "config": {
            "device": device.name,
            "detector": detector,
            "recognizer": recognizer,
            "video": f"resources/videos/{video}/{resolution}.mp4",
            "warmup_frames": warmup_frames,
            "detector_threads": 2,
            "recognizer_threads": 2,
            "batching": "per_face",
            "alignment": "crop",
            "reader": "opencv",
        },
        "host": device.name,
        "os": device.os,
        "cpu_model": device.cpu_model,
        "gpus": [{"name": device.gpu_name}] if device.gpu else f"not present: {NOT_PRESENT}",
        "packages": {},
        "model_sha256": {},
        "git_commit": "synthetic",
        "started_utc": "2026-01-01T00:00:00+00:00",
        "finished_utc": "2026-01-01T00:01:00+00:00",
        "warmup_frames": warmup_frames,
        "video_fps": SYNTHETIC_FPS,
        "cold_start": {"model_load_s": 1.0, "first_frame_s": float(frames["t_total_s"].iloc[0])},
        "sensors": sensors,
        "summary": {"frames": len(frames), "measured_frames": int((~frames["is_warmup"]).sum())},
    }


def write_dataset(
    root: Path,
    devices: Sequence[Device],
    video_frames: dict[str, int],
    resolutions: Sequence[str] = tuple(RESOLUTIONS),
    repeats: int = 1,
    warmup_frames: int = 10,
    seed: int = 0,
) -> dict[str, str]:
    """Write runs and ground truth under ``root``; return the ``{device: class}`` mapping."""
    rng = np.random.default_rng(seed)
    root = Path(root)
    for video, n_frames in video_frames.items():
        master = _groundtruth(n_frames, rng)
        for resolution in resolutions:
            truth = _at_resolution(master, n_frames, resolution)
            path = groundtruth_csv(root / "resources" / "videos", video, resolution)
            path.parent.mkdir(parents=True, exist_ok=True)
            truth.to_csv(path, index=False, float_format="%.1f")
            for device in devices:
                for detector, recognizer in device.pairs:
                    for repeat in range(1, repeats + 1):
                        run_dir = (
                            root
                            / "results"
                            / "runs"
                            / device.name
                            / f"{detector}__{recognizer}"
                            / f"{video}_{resolution}"
                            / f"rep{repeat}"
                        )
                        _write_run(
                            run_dir,
                            truth,
                            n_frames,
                            RESOLUTIONS[resolution],
                            device,
                            detector,
                            recognizer,
                            warmup_frames,
                            rng,
                        )
    return {device.name: device.device_class for device in devices}


def _write_run(
    run_dir: Path,
    truth: pd.DataFrame,
    n_frames: int,
    size: tuple[int, int],
    device: Device,
    detector: str,
    recognizer: str,
    warmup_frames: int,
    rng: np.random.Generator,
) -> None:
    faces = _detections(truth, n_frames, size, detector, rng)
    n_faces = np.bincount(faces["frame"].to_numpy(np.int64), minlength=n_frames)
    frames = _frames(n_faces, size, device, detector, recognizer, warmup_frames, rng)
    run_dir.mkdir(parents=True, exist_ok=True)
    frames.to_csv(run_dir / "frames.csv", index=False, float_format="%.9g")
    faces.to_csv(run_dir / "faces.csv", index=False, float_format="%.6g")
    video, _, resolution = run_dir.parent.name.rpartition("_")
    meta = _run_json(device, detector, recognizer, video, resolution, warmup_frames, frames)
    # A stable run id from the run's data (drawing it would change the random stream).
    meta["run_id"] = hashlib.md5((run_dir / "frames.csv").read_bytes()).hexdigest()
    (run_dir / "run.json").write_text(json.dumps(meta, indent=2))
