"""TFLite backend, run by LiteRT (``ai-edge-litert``) or the older ``tflite-runtime``."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def interpreter_class() -> type:
    """LiteRT's Interpreter, falling back to tflite-runtime's."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        from tflite_runtime.interpreter import Interpreter
    return Interpreter


class TfliteModel:
    """One .tflite model; resizes its input to each new batch/shape (kept per shape)."""

    def __init__(self, path: Path, threads: int, precision: str) -> None:
        self._path, self._threads = str(path), threads
        self._by_shape: dict[tuple[int, ...], object] = {}
        interpreter = interpreter_class()(model_path=self._path, num_threads=threads)
        # Keras export names outputs output_0, output_1, ... in the model's order.
        outputs = interpreter.get_signature_runner().get_output_details()
        self._output_indices = [outputs[name]["index"] for name in sorted(outputs)]
        self._input_index = interpreter.get_input_details()[0]["index"]
        dims = interpreter.get_input_details()[0]["shape_signature"][1:]
        self.input_shape = tuple(None if d < 0 else int(d) for d in dims)
        self.info = {
            "framework": "litert",
            "module": interpreter_class().__module__,
            "precision": precision,
            "threads": threads,
        }

    def _interpreter_for(self, shape: tuple[int, ...]):
        if shape in self._by_shape:
            return self._by_shape[shape]
        interpreter = interpreter_class()(model_path=self._path, num_threads=self._threads)
        interpreter.resize_tensor_input(self._input_index, shape)
        interpreter.allocate_tensors()
        if len(self._by_shape) >= 32:  # bounded: a video has few distinct pyramid shapes
            self._by_shape.pop(next(iter(self._by_shape)))
        self._by_shape[shape] = interpreter
        return interpreter

    def __call__(self, x: np.ndarray) -> list[np.ndarray]:
        interpreter = self._interpreter_for(tuple(x.shape))
        interpreter.set_tensor(self._input_index, np.ascontiguousarray(x, np.float32))
        interpreter.invoke()
        return [interpreter.get_tensor(index) for index in self._output_indices]
