"""`facebench bench`: per-face embedding and per-frame detection latency of every backend on
real images, beside two naive baselines (the `mtcnn` package, Keras ``model.predict``) and the
sgemm floor of this host (FaceNet's FLOPs at numpy's BLAS sgemm rate)."""

from __future__ import annotations

import gc
import os
import platform
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from facebench.backends.registry import (
    DETECTORS,
    RECOGNIZERS,
    load_recognizer,
    unavailable_reason,
)
from facebench.harness.latency import peak_rss_mb, time_calls, timed_init
from facebench.models.layout import FACENET, model_file
from facebench.recognition.boxes import match_boxes
from facebench.recognition.detector import load_detector
from facebench.recognition.faces import largest_face, prewhiten
from facebench.recognition.mtcnn import MtcnnParams
from facebench.recognition.photos import list_photos, photo_collage, read_rgb
from facebench.videos import RESOLUTIONS
from facebench.videos.reader import READERS, open_reader

FACENET_GFLOP = 2.834  # per face: 2 x multiply-adds of Conv/Gemm (onnx_gflop of facenet.onnx)
EMBED_BATCHES = (1, 8)
SGEMM_SIZE = 1024  # square float32 matrices: large enough for BLAS to reach its peak rate


def onnx_gflop(path: Path) -> float:
    """GFLOP of one inference (batch 1): 2 x multiply-adds of every Conv, Gemm and MatMul,
    with the shapes from ONNX shape inference."""
    import onnx

    model = onnx.load(str(path))
    for value in model.graph.input:
        dims = value.type.tensor_type.shape.dim
        if dims and not dims[0].dim_value:
            dims[0].dim_value = 1  # a symbolic batch
    graph = onnx.shape_inference.infer_shapes(model).graph
    shapes = {
        v.name: [d.dim_value for d in v.type.tensor_type.shape.dim]
        for v in (*graph.input, *graph.value_info, *graph.output)
    }
    shapes.update({t.name: list(t.dims) for t in graph.initializer})
    flop = 0
    for node in graph.node:
        if node.op_type == "Conv":  # per output element: C_in / groups x kH x kW
            flop += 2 * np.prod(shapes[node.output[0]]) * np.prod(shapes[node.input[1]][1:])
        elif node.op_type in ("Gemm", "MatMul"):
            a, trans_a = (
                shapes[node.input[0]],
                any(x.name == "transA" and x.i for x in node.attribute),
            )
            flop += 2 * np.prod(shapes[node.output[0]]) * (a[-2] if trans_a else a[-1])
    return float(flop) / 1e9


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def real_faces(faces_dir: Path, models_dir: Path, count: int, threads: int) -> np.ndarray:
    """``count`` prewhitened 160x160 faces cut from val photos by the TF-free ONNX detector
    when available, else the first runnable detector."""
    photos = [p for p in list_photos(faces_dir) if p.split == "val"]
    name = next(n for n in ("onnx", *DETECTORS) if unavailable_reason(DETECTORS[n]) is None)
    detector = load_detector(name, models_dir, threads)
    faces = []
    for photo in photos:
        face = largest_face(detector, read_rgb(photo.path), "crop")
        if face is not None:
            faces.append(face[0])
        if len(faces) == count:
            break
    return prewhiten(np.stack(faces))


def _row(kind: str, backend: str, size: str, latency, per_item: int = 1, **extra) -> dict:
    row = {"kind": kind, "backend": backend, "input": size, **latency.as_dict(), **extra}
    row["p50_ms_per_item"] = latency.p50_ms / per_item
    return row


def _bench_embed(
    label: str,
    embed: Callable,
    init_s: float,
    faces: np.ndarray,
    min_seconds: float,
    min_calls: int,
) -> list[dict]:
    """Latency of ``embed`` at each batch size, with achieved GFLOPS per face."""
    rows = []
    for batch in EMBED_BATCHES:
        x = faces[:batch]
        latency, _ = time_calls(lambda x=x: embed(x), init_s, min_seconds, min_calls)
        per_face_ms = latency.p50_ms / batch
        gflops = FACENET_GFLOP / (per_face_ms / 1e3)
        rows.append(_row("embed", label, f"batch{batch}", latency, batch, gflops=gflops))
        _log(
            f"embed {label:14s} batch {batch}: p50 {latency.p50_ms:8.2f} ms "
            f"({per_face_ms:.2f} ms/face, {gflops:.1f} GFLOPS)"
        )
    return rows


def _bench_detect(
    label: str,
    detect: Callable,
    init_s: float,
    frames: dict[str, np.ndarray],
    min_seconds: float,
    min_calls: int,
) -> list[dict]:
    """Latency of ``detect`` on each frame size, with the boxes (x1, y1, x2, y2) it found."""
    rows = []
    for size, frame in frames.items():
        latency, found = time_calls(lambda f=frame: detect(f), init_s, min_seconds, min_calls)
        boxes = _package_boxes(found) if isinstance(found, list) else found.boxes
        boxes = np.round(np.asarray(boxes, np.float64).reshape(-1, 4), 1).tolist()
        rows.append(_row("detect", label, size, latency, faces=len(boxes), boxes=boxes))
        _log(f"detect {label:14s} {size:4s}: p50 {latency.p50_ms:8.1f} ms, {len(boxes)} faces")
    return rows


def _package_boxes(found: list[dict]) -> np.ndarray:
    """The `mtcnn` package's ``box`` (x, y, width, height) of each face as x1, y1, x2, y2."""
    xywh = np.asarray([face["box"] for face in found], np.float64).reshape(-1, 4)
    return np.hstack([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]])


def bench_sgemm(min_seconds: float, min_calls: int) -> list[dict]:
    """numpy's float32 matrix product (its BLAS, all cores): the host's sgemm rate, of which
    FaceNet's FLOPs give the floor of one face's embedding time."""
    rng = np.random.default_rng(0)
    a, b = (rng.random((SGEMM_SIZE, SGEMM_SIZE), np.float32) for _ in range(2))
    latency, _ = time_calls(lambda: a @ b, 0.0, min_seconds, min_calls)
    gflops = 2 * SGEMM_SIZE**3 / (latency.p50_ms / 1e3) / 1e9
    floor_ms = FACENET_GFLOP / gflops * 1e3
    _log(f"sgemm {SGEMM_SIZE}^3: {gflops:.1f} GFLOPS, FaceNet floor {floor_ms:.2f} ms/face")
    return [_row("sgemm", "numpy", f"{SGEMM_SIZE}", latency, gflops=gflops, floor_ms=floor_ms)]


def bench_recognizers(names, models_dir, faces, threads, min_seconds, min_calls) -> list[dict]:
    rows = []
    for name in names:
        recognizer, init_s = timed_init(lambda n=name: load_recognizer(n, models_dir, threads))
        rows += _bench_embed(name, recognizer.embed, init_s, faces, min_seconds, min_calls)
        del recognizer  # one backend's model in memory at a time
        gc.collect()
    return rows


def bench_keras_predict(models_dir, faces, min_seconds, min_calls) -> list[dict]:
    """The naive baseline: the Keras FaceNet called with ``model.predict``."""
    from facebench.backends.tf import load_keras

    model, init_s = timed_init(lambda: load_keras(model_file(models_dir, "tf", FACENET)))
    predict = lambda x: model.predict(x, verbose=0)  # noqa: E731
    return _bench_embed("keras-predict", predict, init_s, faces, min_seconds, min_calls)


def bench_detectors(
    names, models_dir, frames, threads, min_seconds, min_calls, pyramids=("each",)
) -> list[dict]:
    """Each detector with each MTCNN pyramid (``name`` for mtcnn 1.0's, ``name/halving``)."""
    rows = []
    for name in names:
        for pyramid in pyramids:
            detector, init_s = timed_init(
                lambda n=name, p=pyramid: load_detector(
                    n, models_dir, threads, MtcnnParams(pyramid_resize=p)
                )
            )
            label = name if pyramid == "each" else f"{name}/{pyramid}"
            rows += _bench_detect(label, detector.detect, init_s, frames, min_seconds, min_calls)
            del detector
            gc.collect()
    return rows


def bench_mtcnn_package(frames, min_seconds, min_calls) -> list[dict]:
    """The naive baseline: ``mtcnn.MTCNN().detect_faces`` (TensorFlow eager)."""
    from mtcnn import MTCNN

    detector, init_s = timed_init(MTCNN)
    return _bench_detect(
        "mtcnn-package", detector.detect_faces, init_s, frames, min_seconds, min_calls
    )


def _looping_reader(path: Path, kind: str) -> tuple[Callable[[], np.ndarray], float]:
    """A call returning the video's next RGB frame, reopening it at the end (that reopen is
    inside one call: it shows in the tail percentiles, not the median), and the seconds the
    first open took (the reader's init: container probe and decoder set-up)."""
    reader, init_s = timed_init(lambda: open_reader(path, kind))
    state = {"reader": reader, "frames": iter(reader)}

    def next_frame() -> np.ndarray:
        frame = next(state["frames"], None)
        if frame is None:
            state["reader"].close()
            state["reader"] = open_reader(path, kind)
            state["frames"] = iter(state["reader"])
            frame = next(state["frames"])
        return frame

    return next_frame, init_s


def bench_readers(videos: dict[str, Path], min_seconds, min_calls) -> list[dict]:
    """Per-frame read (decode + RGB conversion) latency of each frame reader, with the time
    its open took as ``init_s``."""
    rows = []
    for kind in READERS:
        for size, path in videos.items():
            next_frame, init_s = _looping_reader(path, kind)
            latency, _ = time_calls(next_frame, init_s, min_seconds, min_calls)
            rows.append(_row("read", kind, size, latency))
            _log(f"read {kind:14s} {size:4s}: p50 {latency.p50_ms:8.2f} ms ({path})")
    return rows


def _detect_row(rows: list[dict], backend: str, size: str) -> dict:
    return next(
        r for r in rows if (r["kind"], r["backend"], r["input"]) == ("detect", backend, size)
    )


def box_agreement(rows: list[dict], backend: str, reference: str, size: str) -> dict:
    """``backend``'s boxes on the ``size`` frame matched one to one with ``reference``'s."""
    found, ref = (_detect_row(rows, name, size)["boxes"] for name in (backend, reference))
    ious = [iou for _, _, iou in match_boxes(np.asarray(found), np.asarray(ref)) if iou >= 0.5]
    return {
        "faces": len(found),
        "faces_reference": len(ref),
        "matched": len(ious),
        "mean_iou": float(np.mean(ious)) if ious else float("nan"),
        "min_iou": float(np.min(ious)) if ious else float("nan"),
    }


def speedups(rows: list[dict]) -> dict:
    """The targets: fastest detector vs the package at FHD (speed and boxes), recognizer vs
    Keras predict, fastest fp32 recognizer at batch 1 vs the sgemm floor."""
    fhd = [
        r
        for r in rows
        if r["kind"] == "detect" and r["input"] == "FHD" and r["backend"] != "mtcnn-package"
    ]
    best_det = min(fhd, key=lambda r: r["p50_ms"])
    one = [
        r
        for r in rows
        if r["kind"] == "embed" and r["input"] == "batch1" and r["backend"] != "keras-predict"
    ]
    best_rec = min(one, key=lambda r: r["p50_ms"])
    keras = next(
        r
        for r in rows
        if (r["kind"], r["backend"], r["input"]) == ("embed", "keras-predict", "batch1")
    )
    detect_x = _detect_row(rows, "mtcnn-package", "FHD")["p50_ms"] / best_det["p50_ms"]
    embed_x = keras["p50_ms"] / best_rec["p50_ms"]
    boxes = box_agreement(rows, best_det["backend"], "mtcnn-package", "FHD")
    targets = {
        "fastest_detector_fhd": best_det["backend"],
        "detector_speedup_vs_mtcnn_package": detect_x,
        "detector_target_3x_met": detect_x >= 3.0,
        "detector_target_10x_met": detect_x >= 10.0,
        **{f"detector_boxes_vs_mtcnn_package_{k}": v for k, v in boxes.items()},
        "fastest_recognizer_batch1": best_rec["backend"],
        "recognizer_speedup_vs_keras_predict": embed_x,
        "recognizer_target_1_5x_met": embed_x >= 1.5,
    }
    sgemm = [r for r in rows if r["kind"] == "sgemm"]
    fp32 = [r for r in one if RECOGNIZERS[r["backend"]].precision == "fp32"]
    if sgemm and fp32:
        best_fp32 = min(fp32, key=lambda r: r["p50_ms"])
        ratio = best_fp32["p50_ms"] / sgemm[0]["floor_ms"]
        targets |= {
            "fastest_fp32_recognizer_batch1": best_fp32["backend"],
            "fp32_batch1_over_sgemm_floor": ratio,
            "fp32_batch1_target_1_2x_met": ratio <= 1.2,
        }
    return targets


def run_bench(
    models_dir: Path,
    faces_dir: Path,
    threads: int,
    detectors: list[str],
    recognizers: list[str],
    min_seconds: float,
    min_calls: int,
    baselines: bool = True,
    videos_dir: Path | None = None,
    pyramids: tuple[str, ...] = ("each",),
) -> dict:
    """Every requested backend that runs here, plus baselines; skipped ones with their reason.
    Frame readers are timed on ``videos_dir/<first video>/<res>.mp4`` where those exist."""
    skipped = {
        f"{role}:{n}": reason
        for role, table, names in (
            ("detector", DETECTORS, detectors),
            ("recognizer", RECOGNIZERS, recognizers),
        )
        for n in names
        if (reason := unavailable_reason(table[n]))
    }
    for key, reason in skipped.items():
        _log(f"{key}: not measured: {reason}")
    runnable_det = [n for n in detectors if f"detector:{n}" not in skipped]
    runnable_rec = [n for n in recognizers if f"recognizer:{n}" not in skipped]
    photos = [p for p in list_photos(faces_dir) if p.split == "val"]
    frames = {size: photo_collage(photos[::3], w, h) for size, (w, h) in RESOLUTIONS.items()}
    faces = real_faces(faces_dir, models_dir, max(EMBED_BATCHES), threads)
    rows = bench_recognizers(runnable_rec, models_dir, faces, threads, min_seconds, min_calls)
    if threads == os.cpu_count():  # numpy's BLAS runs on every core
        rows += bench_sgemm(min_seconds, min_calls)
    else:
        skipped["sgemm"] = f"numpy's BLAS uses all {os.cpu_count()} cores, not {threads}"
    rows += bench_detectors(
        runnable_det, models_dir, frames, threads, min_seconds, min_calls, pyramids
    )
    videos = {}
    if videos_dir and (first := next(iter(sorted(Path(videos_dir).glob("*/"))), None)):
        videos = {
            size: first / f"{size}.mp4" for size in RESOLUTIONS if (first / f"{size}.mp4").exists()
        }
    rows += bench_readers(videos, min_seconds, min_calls)
    if baselines:
        rows += bench_keras_predict(models_dir, faces, min_seconds, min_calls)
        rows += bench_mtcnn_package(frames, min_seconds, min_calls)
    result = {
        "host": platform.node(),
        "cpu": platform.processor() or platform.machine(),
        "threads": threads,
        "rows": rows,
        "skipped": skipped,
        "peak_rss_mb": peak_rss_mb(),
    }
    if baselines and runnable_det and runnable_rec:
        result["targets"] = speedups(rows)
    return result
