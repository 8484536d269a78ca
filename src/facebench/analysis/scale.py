"""Scale benchmark: the analysis on a synthetic data set the size of the paper's.

The paper ran 49 (platform, detector, recognizer) configurations on 6 inputs: 294 runs and over
600 K frame rows. ``main()`` writes that many runs in the real schema (video 1: 130 s at 20 FPS,
video 2: 78 s at 30 FPS, three resolutions each) to a temporary folder, then times aggregation,
parquet, accuracy, tables, claims and every figure, and prints the seconds of each step and the
process's peak resident memory. Target: under 60 s and 4 GB on two cores.

    python -m facebench.analysis.scale --paper-table6 resources/paper/table6_reconstructed.csv
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq

from facebench.analysis import stages
from facebench.analysis.aggregate import RUN_GLOB
from facebench.analysis.synthetic import ENROLLED, Device, write_dataset
from facebench.harness.latency import peak_rss_mb

PAPER_VIDEO_FRAMES = {"video1": 130 * 20, "video2": 78 * 30}
ALL_PAIRS = [(d, r) for d in ("tf", "tensorrt") for r in ("tf", "tensorrt", "tflite")]
NO_TF_TRT = [p for p in ALL_PAIRS if p != ("tf", "tensorrt")]
TURING_CPU = "Intel(R) Core(TM) i7"


def paper_devices() -> list[Device]:
    """The paper's 9 platforms and 49 configurations (Table 6), with made-up speeds."""
    ub16, ub18 = "Ubuntu 16.04.7 LTS", "Ubuntu 18.04.6 LTS"
    return [
        Device(
            "jetson-nano",
            "edge",
            [p for p in ALL_PAIRS if p[0] == "tensorrt"],
            6.0,
            True,
            ub18,
            "ARM A57",
            "Maxwell",
        ),
        Device("jetson-nx", "edge", ALL_PAIRS, 3.0, True, ub18, "Carmel", "Volta"),
        Device("jetson-tx2", "edge", NO_TF_TRT, 3.5, True, ub18, "ARM A57", "Pascal"),
        Device("jetson-agx", "edge", ALL_PAIRS, 2.2, True, ub18, "Carmel", "Volta"),
        Device("gtx1080", "cloud", NO_TF_TRT, 0.6, True, ub18, "Intel(R) Xeon(R)", "GTX 1080"),
        Device("rtx8000", "cloud", ALL_PAIRS, 0.9, True, ub18, "Intel(R) Xeon(R)", "RTX 8000"),
        Device("rtx2070", "cloud", ALL_PAIRS, 0.45, True, ub16, "AMD Ryzen", "RTX 2070"),
        Device("rtx2080ti-ub18", "cloud", ALL_PAIRS, 0.55, True, ub18, TURING_CPU, "RTX 2080 Ti"),
        Device("rtx2080ti-ub16", "cloud", ALL_PAIRS, 0.4, True, ub16, TURING_CPU, "RTX 2080 Ti"),
    ]


def analyse(root: Path, device_class: dict[str, str], paper_table6: Path) -> dict[str, float]:
    """Every analysis stage on the runs under ``root``, as the workflow runs them; seconds per
    stage."""
    return stages.analyse(
        sorted((root / "results" / "runs").glob(RUN_GLOB)),
        device_class,
        root / "resources" / "videos",
        ENROLLED,
        paper_table6,
        ("rtx2080ti-ub16", "rtx2080ti-ub18"),
        root / "out",
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--keep", type=Path, help="write the data set here and keep it")
    parser.add_argument(
        "--paper-table6", type=Path, required=True, help="the paper's table6_reconstructed.csv"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or Path(tmp)
        start = time.perf_counter()
        device_class = write_dataset(root, paper_devices(), PAPER_VIDEO_FRAMES)
        n_runs = sum(len(d.pairs) for d in paper_devices()) * len(PAPER_VIDEO_FRAMES) * 3
        print(
            f"generated {n_runs} runs in {time.perf_counter() - start:.1f} s "
            f"(peak RSS so far {peak_rss_mb():.0f} MB)"
        )
        log = analyse(root, device_class, args.paper_table6)
        rows, face_rows = (
            pq.read_metadata(root / "out" / "aggregate" / f"{name}.parquet").num_rows
            for name in ("frames", "faces")
        )
    print(f"{rows:,} frame rows, {face_rows:,} face rows")
    for name, seconds in log.items():
        print(f"  {name:<16} {seconds:6.1f} s")
    print(f"total {sum(log.values()):.1f} s, peak RSS {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
