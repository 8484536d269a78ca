"""Every detector/embedder backend by name: what it needs, whether it runs here, how to load it."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facebench.backends.base import CallableNets, Embedder
from facebench.errors import FacebenchError
from facebench.faces import l2_normalize
from facebench.models.layout import FACENET, MTCNN_NETS, model_file


@dataclass(frozen=True)
class BackendSpec:
    """A framework at one precision, e.g. ``tflite-int8``."""

    name: str
    framework: str
    precision: str
    python_modules: tuple[str, ...]  # any one of them importable is enough
    needs_gpu: bool = False


EMBEDDERS = {
    spec.name: spec
    for spec in (
        BackendSpec("tf", "tf", "fp32", ("tensorflow",)),
        BackendSpec("tflite", "tflite", "fp32", ("ai_edge_litert", "tflite_runtime")),
        BackendSpec("tflite-int8", "tflite", "int8", ("ai_edge_litert", "tflite_runtime")),
        BackendSpec("onnx", "onnx", "fp32", ("onnxruntime",)),
        BackendSpec("openvino", "openvino", "fp32", ("openvino",)),
        BackendSpec("tensorrt", "tensorrt", "fp32", ("tensorrt",), needs_gpu=True),
        BackendSpec("tensorrt-fp16", "tensorrt", "fp16", ("tensorrt",), needs_gpu=True),
    )
}
DETECTORS = {name: EMBEDDERS[name] for name in ("tf", "tflite", "onnx", "openvino", "tensorrt")}


def cuda_gpu_reason() -> str | None:
    """None when an NVIDIA GPU answers ``nvidia-smi -L``, else why not."""
    if shutil.which("nvidia-smi") is None:
        return "no NVIDIA GPU (nvidia-smi not found)"
    result = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True)
    if result.returncode != 0 or "GPU" not in result.stdout:
        return f"no NVIDIA GPU (nvidia-smi -L: {result.stderr.strip() or result.stdout.strip()})"
    return None


def unavailable_reason(spec: BackendSpec) -> str | None:
    """None when ``spec`` can run on this host, else a one-line reason."""
    if not any(importlib.util.find_spec(m) for m in spec.python_modules):
        return f"python package {' or '.join(spec.python_modules)} not installed"
    if spec.needs_gpu and (reason := cuda_gpu_reason()):
        return reason
    if spec.framework == "tensorrt":
        return "TensorRT runtime backend not implemented yet (engines are built; needs a GPU host)"
    return None


def _spec(table: dict[str, BackendSpec], name: str, role: str) -> BackendSpec:
    if name not in table:
        raise FacebenchError(f"unknown {role} backend {name!r}; known: {', '.join(table)}")
    spec = table[name]
    if reason := unavailable_reason(spec):
        raise FacebenchError(f"{role} backend {name!r} cannot run here: {reason}")
    return spec


def _existing(path: Path) -> Path:
    if not path.exists():
        raise FacebenchError(f"{path}: model file missing (run the workflow's conversion rules)")
    return path


class NormalizedEmbedder:
    """Wraps a framework embedder so every backend returns L2-normalised embeddings."""

    def __init__(self, inner: Embedder, spec: BackendSpec, model_path: Path) -> None:
        self.inner, self.spec, self.model_path = inner, spec, model_path
        self.info = {**inner.info, "backend": spec.name, "model": str(model_path)}

    def embed(self, faces: np.ndarray) -> np.ndarray:
        return l2_normalize(self.inner.embed(faces))


def load_embedder(name: str, models_dir: Path, threads: int) -> NormalizedEmbedder:
    """FaceNet embedder ``name`` (see EMBEDDERS) from the converted models in ``models_dir``."""
    spec = _spec(EMBEDDERS, name, "embedder")
    path = _existing(model_file(models_dir, spec.framework, FACENET, spec.precision))
    if spec.framework == "tf":
        from facebench.backends.tf import TfEmbedder

        inner = TfEmbedder(path, threads)
    elif spec.framework == "tflite":
        from facebench.backends.tflite import TfliteEmbedder

        inner = TfliteEmbedder(path, threads, spec.precision)
    elif spec.framework == "onnx":
        from facebench.backends.onnx import OnnxEmbedder

        inner = OnnxEmbedder(path, threads)
    else:
        from facebench.backends.openvino import OpenvinoEmbedder

        inner = OpenvinoEmbedder(path, threads)
    return NormalizedEmbedder(inner, spec, path)


def load_mtcnn_nets(name: str, models_dir: Path, threads: int):
    """The three MTCNN nets of detector backend ``name`` (see DETECTORS)."""
    spec = _spec(DETECTORS, name, "detector")
    paths = [
        _existing(model_file(models_dir, spec.framework, n, spec.precision)) for n in MTCNN_NETS
    ]
    if spec.framework == "tf":
        from facebench.backends.tf import configure_threads
        from facebench.convert import load_keras
        from facebench.models.mtcnn_nets import KerasMtcnnNets

        configure_threads(threads)
        return KerasMtcnnNets({n: load_keras(p) for n, p in zip(MTCNN_NETS, paths, strict=True)})
    if spec.framework == "tflite":
        from facebench.backends.tflite import TfliteModel as Model

        models = [Model(p, threads, spec.precision) for p in paths]
    elif spec.framework == "onnx":
        from facebench.backends.onnx import OrtModel as Model

        models = [Model(p, threads) for p in paths]
    else:
        from facebench.backends.openvino import OpenvinoModel as Model

        models = [Model(p, threads) for p in paths]
    return CallableNets(*models, info=models[0].info)


def load_detector(name: str, models_dir: Path, threads: int, params=None):
    """MTCNN detector: the shared numpy stages driving backend ``name``'s nets."""
    from facebench.mtcnn import Mtcnn, MtcnnParams

    nets = load_mtcnn_nets(name, models_dir, threads)
    detector = Mtcnn(nets, params or MtcnnParams())
    detector.info = {**nets.info, "backend": name}
    return detector


def availability() -> list[dict]:
    """One row per (role, backend): whether it runs here and, if not, why."""
    rows = []
    for role, table in (("detector", DETECTORS), ("embedder", EMBEDDERS)):
        for spec in table.values():
            reason = unavailable_reason(spec)
            rows.append(
                {
                    "role": role,
                    "backend": spec.name,
                    "available": reason is None,
                    "reason": reason or "",
                }
            )
    return rows
