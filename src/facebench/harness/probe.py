"""``facebench probe``: what a device can run, measured on it: host, CPU, memory, OS, which
frameworks import (and their versions), ONNX Runtime providers, OpenVINO devices, TensorRT and
CUDA GPUs, which sensors answer, and every backend's availability with its reason. The workflow
filters a device's run matrix by it (results/runs/<device>/capabilities.json)."""

from __future__ import annotations

import importlib
import platform
import shutil
import subprocess
from datetime import UTC, datetime
from importlib import metadata

import psutil

from facebench.backends.registry import availability, cuda_gpu_reason
from facebench.harness import run_metadata
from facebench.sensors import MIB, default_sensors, sensor_report
from facebench.sensors.conditions import L4T_RELEASE

# import name -> distribution names to read its version from (first installed wins)
FRAMEWORKS = {
    "tensorflow": ("tensorflow", "tensorflow-cpu", "tensorflow-aarch64"),
    "ai_edge_litert": ("ai-edge-litert",),
    "tflite_runtime": ("tflite-runtime",),
    "onnxruntime": ("onnxruntime", "onnxruntime-gpu"),
    "openvino": ("openvino",),
    "tensorrt": ("tensorrt",),
    "pynvml": ("nvidia-ml-py", "pynvml"),
    "jtop": ("jetson-stats",),
}
NOT_MEASURED = "not measured: "


def _version(module_name: str, module) -> str:
    for distribution in FRAMEWORKS.get(module_name, ()):
        try:
            return metadata.version(distribution)
        except metadata.PackageNotFoundError:
            continue
    return str(getattr(module, "__version__", "unknown"))


def _one_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[-1].strip()}" if lines else type(error).__name__


def frameworks() -> tuple[dict[str, dict], dict[str, object]]:
    """({module: {imports, version | reason}}, the imported modules): a framework counts only
    if it really imports here (a wheel that is installed but breaks on import does not)."""
    report, modules = {}, {}
    for name in FRAMEWORKS:
        try:
            module = importlib.import_module(name)
        except Exception as error:  # ImportError, or a broken install's own error
            report[name] = {"imports": False, "reason": _one_line(error)}
            continue
        modules[name] = module
        report[name] = {"imports": True, "version": _version(name, module)}
    return report, modules


def onnxruntime_providers(modules: dict) -> list[str] | str:
    if "onnxruntime" not in modules:
        return NOT_MEASURED + "onnxruntime does not import"
    return list(modules["onnxruntime"].get_available_providers())


def openvino_devices(modules: dict) -> list[str] | str:
    if "openvino" not in modules:
        return NOT_MEASURED + "openvino does not import"
    try:
        return list(modules["openvino"].Core().available_devices)
    except Exception as error:  # a runtime without any plugin raises its own error
        return NOT_MEASURED + f"openvino.Core(): {_one_line(error)}"


def tensorrt_version(modules: dict) -> str:
    if "tensorrt" not in modules:
        return "not installed: tensorrt does not import (JetPack, or pip install tensorrt)"
    return _version("tensorrt", modules["tensorrt"])


def cuda_gpus() -> tuple[list[dict[str, str]], str | None]:
    """(CUDA GPUs, None) from ``nvidia-smi -L``, NVML or a Jetson's integrated GPU, else
    ([], why none is seen)."""
    reason = cuda_gpu_reason()
    if reason is None:
        listing = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True)
        gpus = [
            {"name": line.split(":", 1)[1].split("(UUID")[0].strip(), "source": "nvidia-smi -L"}
            for line in listing.stdout.splitlines()
            if line.startswith("GPU ")
        ]
        if gpus:
            return gpus, None
    nvml = run_metadata.gpu_info()
    if isinstance(nvml, list) and nvml:
        return [{"name": gpu["name"], "source": "NVML"} for gpu in nvml], None
    l4t = run_metadata.read_first_line(L4T_RELEASE)
    if not l4t.startswith("not readable"):  # Jetson: no nvidia-smi, no NVML; the GPU is on-chip
        board = run_metadata.read_first_line(run_metadata.DEVICE_TREE_MODEL)
        return [{"name": f"integrated ({board})", "source": f"{L4T_RELEASE}"}], None
    return [], f"{reason or 'no NVIDIA GPU'}; NVML: {nvml}; no Jetson L4T release file"


def sensors() -> tuple[dict[str, str], dict[str, str]]:
    """({sensor: "answers" | "not measured: <reason>"}, {quantity: method | not measured})."""
    probes = default_sensors()
    answers = {
        sensor.name: "answers" if (reason := sensor.available()) is None else NOT_MEASURED + reason
        for sensor in probes
    }
    return answers, sensor_report(probes)


def disagreements(declared_gpu: str | None, gpus: list, gpu_reason: str | None) -> list[str]:
    """What the probe finds against the config's declaration of the device."""
    if declared_gpu and not gpus:
        return [f"declared gpu {declared_gpu!r}, but the probe finds no CUDA GPU: {gpu_reason}"]
    return []


def probe(device: str | None = None, declared_gpu: str | None = None) -> dict:
    """The capabilities of this host as ``device`` (see capabilities.schema.yaml)."""
    framework_report, modules = frameworks()
    gpus, gpu_reason = cuda_gpus()
    sensor_answers, quantities = sensors()
    return {
        "device": device,
        "probed_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "host": platform.node(),
        "cpu_model": run_metadata.cpu_model(),
        "board": run_metadata.read_first_line(run_metadata.DEVICE_TREE_MODEL),
        "cpu_logical_cores": psutil.cpu_count(logical=True),
        "cpu_physical_cores": psutil.cpu_count(logical=False),
        "memory_total_mb": psutil.virtual_memory().total / MIB,
        "os": run_metadata.os_name(),
        "kernel": platform.release(),
        "machine": platform.machine(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "frameworks": framework_report,
        "onnxruntime_providers": onnxruntime_providers(modules),
        "openvino_devices": openvino_devices(modules),
        "tensorrt": tensorrt_version(modules),
        "cuda_gpus": gpus,
        "cuda_gpus_reason": gpu_reason,
        "nvidia_smi": shutil.which("nvidia-smi") or "not found",
        "sensors": sensor_answers,
        "quantities": quantities,
        "backends": availability(),
        "declared_gpu": declared_gpu,
        "disagreements": disagreements(declared_gpu, gpus, gpu_reason),
    }
