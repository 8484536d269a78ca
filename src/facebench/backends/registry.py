"""Every detector/recognizer backend by name: what it needs, whether it runs here, how to
load it. A framework's models are loaded by the class named in MODEL_CLASSES, imported only
then, so a framework that is not installed breaks nothing else."""

from __future__ import annotations

import importlib
import importlib.util
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from facebench.backends.base import CallableNets, Model, ModelRecognizer
from facebench.errors import FacebenchError
from facebench.models.layout import FACENET, INPUT_SHAPES, MTCNN_NETS, model_file


@dataclass(frozen=True)
class BackendSpec:
    """A framework at one precision, e.g. ``tflite-int8``."""

    name: str
    framework: str
    precision: str
    python_modules: tuple[str, ...]  # any one of them importable is enough
    needs_gpu: bool = False
    options: tuple[tuple[str, object], ...] = ()  # keyword arguments of the model class


RECOGNIZERS = {
    spec.name: spec
    for spec in (
        BackendSpec("tf", "tf", "fp32", ("tensorflow",)),
        BackendSpec("tflite", "tflite", "fp32", ("ai_edge_litert", "tflite_runtime")),
        BackendSpec("tflite-int8", "tflite", "int8", ("ai_edge_litert", "tflite_runtime")),
        BackendSpec("onnx", "onnx", "fp32", ("onnxruntime",)),
        BackendSpec("openvino", "openvino", "fp32", ("openvino",)),
        # the fast preset's: bf16 where the CPU has it, P-Net compiled per input shape
        BackendSpec(
            "openvino-bf16", "openvino", "bf16", ("openvino",), options=(("static_shapes", True),)
        ),
        BackendSpec("tensorrt", "tensorrt", "fp32", ("tensorrt",), needs_gpu=True),
        BackendSpec("tensorrt-fp16", "tensorrt", "fp16", ("tensorrt",), needs_gpu=True),
    )
}
DETECTORS = {
    name: RECOGNIZERS[name]
    for name in ("tf", "tflite", "onnx", "openvino", "openvino-bf16", "tensorrt")
}
# framework -> "module:class" of its Model, constructed as (path, threads, precision, **options)
MODEL_CLASSES = {
    "tf": "facebench.backends.tf:TfModel",
    "tflite": "facebench.backends.tflite:TfliteModel",
    "onnx": "facebench.backends.onnx:OrtModel",
    "openvino": "facebench.backends.openvino:OpenvinoModel",
}


def unknown_backends(config: dict) -> list[str]:
    """One line per detector/recognizer name of the (schema-valid) workflow ``config`` that is
    not in DETECTORS/RECOGNIZERS, naming its config key: the schema leaves names to this table."""
    named = [
        ("parity.detectors", DETECTORS, config["parity"]["detectors"]),
        ("parity.recognizers", RECOGNIZERS, config["parity"]["recognizers"]),
        ("gallery.detector", DETECTORS, [config["gallery"]["detector"]]),
        ("gallery.recognizers", RECOGNIZERS, config["gallery"]["recognizers"]),
    ]
    for device, spec in config["runs"]["devices"].items():
        named += [
            (f"runs.devices.{device}.detectors", DETECTORS, spec["detectors"]),
            (f"runs.devices.{device}.recognizers", RECOGNIZERS, spec["recognizers"]),
        ]
    return [
        f"{key}: unknown backend {name!r}; known: {', '.join(table)}"
        for key, table, names in named
        for name in names
        if name not in table
    ]


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
        install = (
            f"pip install 'facebench[{spec.framework}]'"
            if spec.framework in MODEL_CLASSES
            else "install NVIDIA TensorRT: JetPack, or pip install tensorrt"
        )
        return f"python package {' or '.join(spec.python_modules)} not installed ({install})"
    if spec.needs_gpu and (reason := cuda_gpu_reason()):
        return reason
    if spec.framework not in MODEL_CLASSES:  # tensorrt: its engines are built, not run yet
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


def _load_model(spec: BackendSpec, path: Path, threads: int, net: str) -> Model:
    """``path`` loaded by ``spec``'s framework; a file it cannot load, or the model of another
    net than ``net`` (its input shape tells), is a FacebenchError."""
    module, name = MODEL_CLASSES[spec.framework].split(":")
    model_class = getattr(importlib.import_module(module), name)
    try:
        model = model_class(path, threads, spec.precision, **dict(spec.options))
    except FacebenchError:
        raise
    except Exception as error:  # every framework has its own error types for a bad file
        # the last line: the cause, after any stack of "Exception from <source>:" lines
        reason = (str(error).strip().splitlines() or [type(error).__name__])[-1].strip()
        raise FacebenchError(f"{path}: not a valid {spec.framework} model ({reason})") from error
    if model.input_shape != INPUT_SHAPES[net]:
        raise FacebenchError(
            f"{path}: not a model of {net} (input {_dims(model.input_shape)} per sample, "
            f"expected {_dims(INPUT_SHAPES[net])})"
        )
    return model


def _dims(shape: tuple[int | None, ...]) -> str:
    return "x".join("?" if d is None else str(d) for d in shape)


def load_recognizer(name: str, models_dir: Path, threads: int) -> ModelRecognizer:
    """FaceNet recognizer ``name`` (see RECOGNIZERS) from the converted models in ``models_dir``."""
    spec = _spec(RECOGNIZERS, name, "recognizer")
    path = _existing(model_file(models_dir, spec.framework, FACENET, spec.precision))
    model = _load_model(spec, path, threads, FACENET)
    return ModelRecognizer(model, {**model.info, "backend": spec.name, "model": str(path)})


def load_mtcnn_nets(name: str, models_dir: Path, threads: int) -> CallableNets:
    """The three MTCNN nets of detector backend ``name`` (see DETECTORS)."""
    spec = _spec(DETECTORS, name, "detector")
    paths = [
        _existing(model_file(models_dir, spec.framework, n, spec.precision)) for n in MTCNN_NETS
    ]
    models = [_load_model(spec, p, threads, n) for p, n in zip(paths, MTCNN_NETS, strict=True)]
    return CallableNets(*models, info=models[0].info)


def availability() -> list[dict]:
    """One row per (role, backend): whether it runs here and, if not, why."""
    rows = []
    for role, table in (("detector", DETECTORS), ("recognizer", RECOGNIZERS)):
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
