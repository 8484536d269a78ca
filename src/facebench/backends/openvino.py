"""OpenVINO backend (CPU plugin); records the inference precision that actually ran.

The CPU plugin silently defaults to bf16 on CPUs with BF16/AMX support; fp32 is asked for
explicitly so results are comparable across hosts."""

from __future__ import annotations

from pathlib import Path

import numpy as np


class OpenvinoModel:
    """One compiled OpenVINO IR model; returns all outputs as numpy arrays. ``precision`` is
    the file's; ``info`` records the one the plugin actually runs."""

    def __init__(self, path: Path, threads: int, precision: str) -> None:
        import openvino as ov

        core = ov.Core()
        self._compiled = core.compile_model(
            str(path),
            "CPU",
            {
                "INFERENCE_NUM_THREADS": threads,
                "PERFORMANCE_HINT": "LATENCY",
                "INFERENCE_PRECISION_HINT": "f32",
            },
        )
        self._request = self._compiled.create_infer_request()
        self.info = {
            "framework": "openvino",
            "version": ov.__version__,
            "device": "CPU",
            "precision": str(self._compiled.get_property("INFERENCE_PRECISION_HINT")),
        }

    def __call__(self, x: np.ndarray) -> list[np.ndarray]:
        result = self._request.infer({0: np.ascontiguousarray(x, dtype=np.float32)})
        return [np.asarray(result[output]) for output in self._compiled.outputs]
