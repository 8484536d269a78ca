"""What a benchmark run ran on: host, software versions, GPU, workflow commit, model checksums and
how busy the host was, so that every per-frame CSV can be traced to its conditions."""

from __future__ import annotations

import os
import platform
import subprocess
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import psutil

from facebench.errors import FacebenchError
from facebench.fileio import sha256_file
from facebench.sensors import MIB, load_nvml
from facebench.sensors.conditions import L4T_RELEASE

PACKAGES = (
    "tensorflow",
    "keras",
    "onnxruntime",
    "onnxruntime-gpu",
    "tensorrt",
    "ai-edge-litert",
    "openvino",
    "numpy",
    "opencv-python-headless",
    "mtcnn",
    "av",
    "snakemake",
    "psutil",
    "nvidia-ml-py",
)
ENV_VARS = ("OPENBLAS_CORETYPE", "OMP_NUM_THREADS")
CPUINFO = Path("/proc/cpuinfo")
GOVERNOR = Path("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor")
OS_RELEASE = Path("/etc/os-release")
DEVICE_TREE_MODEL = Path("/proc/device-tree/model")  # Jetson board name


def collect_run_metadata(model_files: dict[str, Path]) -> dict:
    """Host, software, GPU, git and model facts for one run."""
    return {
        "started_utc": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "host": platform.node(),
        "cpu_model": cpu_model(),
        "board": read_first_line(DEVICE_TREE_MODEL),
        "jetson_l4t": read_first_line(L4T_RELEASE),
        "cpu_logical_cores": psutil.cpu_count(logical=True),
        "cpu_physical_cores": psutil.cpu_count(logical=False),
        "cpu_governor": read_first_line(GOVERNOR),
        "memory_total_mb": psutil.virtual_memory().total / MIB,
        "os": os_name(),
        "kernel": platform.release(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "packages": package_versions(),
        "gpus": gpu_info(),
        "env": {name: os.environ.get(name, "unset") for name in ENV_VARS},
        **git_state(Path(__file__).resolve().parent),
        "model_sha256": model_checksums(model_files),
        "host_load": host_load(),
        "busy_warning": busy_warning(),
    }


def read_first_line(path: Path) -> str:
    """First line of a small text file (device-tree strings end in NUL), or why not."""
    try:
        return path.read_text().splitlines()[0].strip("\0 ")
    except OSError as error:
        return f"not readable: {path}: {error.strerror}"
    except IndexError:
        return f"not readable: {path} is empty"


def cpu_model() -> str:
    """``model name`` from /proc/cpuinfo (absent on some ARM kernels), else platform.processor()."""
    try:
        for line in CPUINFO.read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                return value.strip()
    except OSError:
        pass
    return platform.processor() or f"unknown: no 'model name' in {CPUINFO}"


def os_name() -> str:
    """PRETTY_NAME from /etc/os-release, else platform.platform()."""
    try:
        for line in OS_RELEASE.read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return platform.platform()


def package_versions() -> dict[str, str]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def gpu_info() -> list[dict[str, str]] | str:
    """Name and driver of every NVIDIA GPU, or ``"not present: <reason>"``."""
    nvml, reason = load_nvml()
    if nvml is None:
        return f"not present: {reason}"
    driver = nvml.nvmlSystemGetDriverVersion()
    gpus = []
    for index in range(nvml.nvmlDeviceGetCount()):
        handle = nvml.nvmlDeviceGetHandleByIndex(index)
        gpus.append({"index": str(index), "name": nvml.nvmlDeviceGetName(handle), "driver": driver})
    return gpus or "not present: NVML sees no device"


def _git(repo_dir: Path, *args: str) -> str:
    try:
        done = subprocess.run(
            ["git", "-C", str(repo_dir), *args], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise FacebenchError(f"git {args[0]}: {error}") from error
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines() or [f"exit status {done.returncode}"]
        raise FacebenchError(f"git {args[0]}: {lines[0]}")
    return done.stdout.strip()


def git_state(repo_dir: Path) -> dict[str, str | bool]:
    """Commit of the checkout holding ``repo_dir`` and whether tracked files differ from it."""
    try:
        commit = _git(repo_dir, "rev-parse", "HEAD")
        dirty = bool(_git(repo_dir, "status", "--porcelain", "--untracked-files=no"))
    except FacebenchError as error:
        return {"git_commit": f"unknown: {error}", "git_dirty": f"unknown: {error}"}
    return {"git_commit": commit, "git_dirty": dirty}


def model_checksums(model_files: dict[str, Path]) -> dict[str, str]:
    checksums = {}
    for name, path in model_files.items():
        if not Path(path).is_file():
            raise FacebenchError(f"{path}: model file {name!r} not found, cannot checksum it")
        checksums[name] = sha256_file(Path(path))
    return checksums


def host_load() -> dict[str, float]:
    """1-, 5- and 15-minute load averages."""
    load_1m, load_5m, load_15m = os.getloadavg()
    return {"load_1m": load_1m, "load_5m": load_5m, "load_15m": load_15m}


def busy_warning(threshold_percent: float = 25.0, window_s: float = 0.5) -> str | None:
    """A warning when other processes keep the CPUs busy, else None.

    Measured as system-wide CPU use over ``window_s`` while this process waits: the load
    average would count the previous benchmark run, which ended a moment ago."""
    busy_percent = psutil.cpu_percent(interval=window_s)
    if busy_percent <= threshold_percent:
        return None
    cores = psutil.cpu_count(logical=True) or 1
    return (
        f"host busy: {busy_percent:.0f} % of {cores} cores used by other processes over "
        f"{window_s} s (> {threshold_percent} %); timings may be inflated"
    )
