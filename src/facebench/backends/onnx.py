"""ONNX Runtime backend (CPU execution provider unless a GPU provider is available)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


class OrtModel:
    """One ONNX model in an InferenceSession; returns all outputs as numpy arrays."""

    def __init__(self, path: Path, threads: int, precision: str) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Pool threads spin between the ops of one run (FaceNet batch 1: 14.6 -> 10.6 ms) but
        # stop when it returns: idle spinning steals the cores of the next pipeline stage
        # (2 cores, onnx/onnx: 102 -> 55 ms per HD frame without any spinning, and 9.7 -> 10.9
        # FPS over the six default inputs with spinning stopped at the end of each run).
        options.add_session_config_entry("session.intra_op.allow_spinning", "1")
        options.add_session_config_entry("session.force_spinning_stop", "1")
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self._input = self.session.get_inputs()[0].name
        dims = self.session.get_inputs()[0].shape[1:]
        self.input_shape = tuple(d if isinstance(d, int) else None for d in dims)
        self.info = {
            "framework": "onnxruntime",
            "version": ort.__version__,
            "providers": self.session.get_providers(),
            "precision": precision,
        }

    def __call__(self, x: np.ndarray) -> list[np.ndarray]:
        return self.session.run(None, {self._input: np.ascontiguousarray(x, dtype=np.float32)})
