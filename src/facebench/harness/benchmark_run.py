"""One benchmark run: a (device, detector, recognizer, video) configuration, every frame
logged to frames.csv / faces.csv with the run's metadata in run.json."""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from facebench.backends.registry import DETECTORS, RECOGNIZERS, load_recognizer
from facebench.errors import FacebenchError
from facebench.fileio import atomic_dir, kill_point, sweep_stale_temps, write_json
from facebench.harness.frame_loop import run_frames
from facebench.harness.percentiles import min_frames, shortfalls
from facebench.harness.run_metadata import busy_warning, collect_run_metadata, host_load
from facebench.models.layout import FACENET, MTCNN_NETS, model_file
from facebench.recognition.detector import load_detector
from facebench.recognition.faces import similarity_fallbacks
from facebench.recognition.gallery import Gallery
from facebench.recognition.mtcnn import MtcnnParams
from facebench.recognition.pipeline import FacePipeline
from facebench.recognition.tracks import with_tracks
from facebench.schemas import validate_records, validate_table
from facebench.sensors import Sampler, default_sensors, per_frame, sensor_report
from facebench.sensors.conditions import run_conditions
from facebench.videos.reader import open_reader


@dataclass(frozen=True)
class RunConfig:
    """Everything that defines one run (recorded verbatim in run.json)."""

    device: str
    detector: str
    recognizer: str
    video: Path
    models_dir: Path
    gallery: Path
    warmup_frames: int = 10
    detector_threads: int = os.cpu_count() or 1
    recognizer_threads: int = os.cpu_count() or 1
    batching: str = "per_face"
    pyramid_resize: str = "each"  # MtcnnParams.pyramid_resize
    alignment: str = "crop"
    reader: str = "opencv"
    sampler_period_s: float = 0.010  # sensors sampled every 10 ms (Srivastava et al.)


def model_files(models_dir: Path, detector: str, recognizer: str, gallery: Path) -> dict[str, Path]:
    """Every file a run's results depend on, by role (their checksums go into run.json)."""
    det, rec = DETECTORS[detector], RECOGNIZERS[recognizer]
    files = {
        f"detector/{n}": model_file(models_dir, det.framework, n, det.precision) for n in MTCNN_NETS
    }
    files["recognizer/facenet"] = model_file(models_dir, rec.framework, FACENET, rec.precision)
    files["gallery"] = gallery
    return files


RUN_OUTPUTS = ("faces.csv", "frames.csv", "run.json")
PERCENTILES = (50, 90, 99)
RUN_CONFIDENCE = 0.95  # a run does not read the config's statistics: its default confidence


def _check_out_dir(out_dir: Path) -> None:
    """Refuse to replace a directory that holds anything but a run's outputs (or the
    temporaries of an older, killed write), and sweep this run's stale temporaries."""
    if out_dir.is_dir():
        foreign = sorted(
            p.name
            for p in out_dir.iterdir()
            if p.name not in RUN_OUTPUTS and not (p.name.startswith(".") and ".tmp-" in p.name)
        )
        if foreign:
            raise FacebenchError(
                f"{out_dir}: not a run directory (holds {', '.join(foreign[:3])}); "
                "choose an empty or new --out"
            )
    elif out_dir.exists():
        raise FacebenchError(f"{out_dir}: exists and is not a directory")
    sweep_stale_temps(out_dir)


def _write_outputs(out_dir: Path, frames: pd.DataFrame, faces: pd.DataFrame, meta: dict) -> None:
    """frames.csv, faces.csv and run.json written into a temporary directory that becomes
    ``out_dir`` with one rename: the run appears whole or not at all (also when killed)."""
    with atomic_dir(out_dir) as tmp:
        frames.to_csv(tmp / "frames.csv", index=False, float_format="%.9g")
        kill_point("run-frames-written")
        faces.to_csv(tmp / "faces.csv", index=False, float_format="%.6g")
        write_json(tmp / "run.json", meta)


def summarize(frames: pd.DataFrame) -> dict:
    """FPS and phase percentiles over measured (non-warm-up) frames; a percentile too few frames
    state (:mod:`facebench.harness.percentiles`) is null and ``percentile_note`` says why."""
    measured = frames[~frames.is_warmup]
    summary = {"frames": len(frames), "measured_frames": len(measured)}
    if not len(measured):
        return summary
    total, n = measured.t_total_s, len(measured)
    summary["fps"] = float(n / total.sum())
    stated = [p for p in PERCENTILES if n >= min_frames(p, RUN_CONFIDENCE)]
    for column in ("t_total_s", "t_read_s", "t_detect_s", "t_embed_s", "t_unattributed_s"):
        q = dict(zip(PERCENTILES, np.percentile(measured[column], PERCENTILES), strict=True))
        summary[column] = {f"p{p}": q[p] if p in stated else None for p in PERCENTILES}
        summary[column]["mean"] = measured[column].mean()
    summary["percentile_note"] = "; ".join(shortfalls(PERCENTILES, n, RUN_CONFIDENCE))
    summary["unattributed_share_p50"] = float((measured.t_unattributed_s / total).median())
    summary["faces_per_frame"] = float(measured.n_faces.mean())
    return summary


def run_benchmark(config: RunConfig, out_dir: Path, progress_every: int = 50) -> dict:
    """Load, run every frame with the sensor sampler on, write the three outputs; print
    ``<n> frames`` to stderr every ``progress_every`` frames (0: never)."""
    for path in (config.video, config.gallery):
        if not Path(path).is_file():
            raise FacebenchError(f"{path}: no such file")
    _check_out_dir(Path(out_dir))
    run_id = uuid.uuid4().hex  # tells this run apart wherever its tree is copied to
    started = datetime.now(UTC).isoformat()
    if busy_at_start := busy_warning():
        print(f"warning: {busy_at_start}", file=sys.stderr)
    load_before = host_load()
    t0 = time.perf_counter()
    detector = load_detector(
        config.detector,
        config.models_dir,
        config.detector_threads,
        MtcnnParams(pyramid_resize=config.pyramid_resize),
    )
    recognizer = load_recognizer(config.recognizer, config.models_dir, config.recognizer_threads)
    gallery = Gallery.load(config.gallery, config.recognizer)
    load_s = time.perf_counter() - t0
    pipeline = FacePipeline(detector, recognizer, gallery, config.alignment, config.batching)
    sensors = default_sensors()
    fallbacks_before = similarity_fallbacks()
    with (
        open_reader(config.video, config.reader) as reader,
        Sampler(sensors, config.sampler_period_s) as s,
    ):
        log = run_frames(reader, pipeline, config.warmup_frames, progress_every)
    if not len(log.frames):
        raise FacebenchError(f"{config.video}: no frame could be read")
    # tracks and their labels after the timed loop, causally in frame order: what is timed
    # stays the per-frame pipeline
    faces = with_tracks(log.faces, log.embeddings, reader.fps, gallery)
    sensed = per_frame(s.samples(), log.bounds_ns)
    frames = pd.concat([log.frames, sensed.drop(columns="n_samples")], axis=1)
    summary = summarize(frames)
    meta = collect_run_metadata(
        model_files(config.models_dir, config.detector, config.recognizer, config.gallery)
    )
    meta.update(
        run_id=run_id,
        config={k: str(v) if isinstance(v, Path) else v for k, v in vars(config).items()},
        started_utc=started,
        finished_utc=datetime.now(UTC).isoformat(),
        host_load_at_start=load_before,
        busy_warning_at_start=busy_at_start,
        detector_backend=detector.info,
        recognizer_backend=recognizer.info,
        video_fps=reader.fps,
        warmup_frames=config.warmup_frames,
        cold_start={"model_load_s": load_s, "first_frame_s": float(frames.t_total_s.iloc[0])},
        sensors=sensor_report(sensors),
        sensor_methods=sensed.attrs["method"],
        conditions=run_conditions(s.samples(), sensors),
        sampler={
            "period_s": config.sampler_period_s,
            "thread_cpu_s": s.thread_cpu_s,
            "elapsed_s": s.elapsed_s,
            "read_errors": s.read_errors,
        },
        gallery_threshold_l2=gallery.threshold_l2,
        similarity_fallbacks=similarity_fallbacks() - fallbacks_before,
        crop_margin=gallery.crop_margin,
        summary=summary,
    )
    validate_table(frames, "frames", f"{out_dir}/frames.csv")
    validate_table(faces, "faces", f"{out_dir}/faces.csv")
    validate_records([json.loads(json.dumps(meta, default=str))], "run", f"{out_dir}/run.json")
    _write_outputs(out_dir, frames, faces, meta)
    return summary
