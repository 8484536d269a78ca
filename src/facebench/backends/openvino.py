"""OpenVINO backend (CPU plugin); records the inference precision that actually ran.

The CPU plugin silently defaults to bf16 on CPUs with BF16/AMX support; fp32 is asked for
explicitly so results are comparable across hosts, bf16 only by the ``openvino-bf16`` backend
(a CPU without bf16 runs f32 then, and ``info["precision"]`` says so)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

_HINTS = {"fp32": "f32", "bf16": "bf16"}  # backend precision -> the plugin's name for it
_MAX_STATIC_SHAPES = 64  # compiled sizes kept per model (MTCNN: ~12 P-Net levels per size)


class OpenvinoModel:
    """One OpenVINO IR model; returns all outputs as numpy arrays. ``precision`` is the file's;
    ``info`` records the one the plugin actually runs.

    With ``static_shapes`` a model whose input size is free (P-Net: a new size at every
    pyramid level) is compiled for an input shape the second time it comes: a video's level
    sizes in its second frame (a warm-up frame), while shapes met once (the photos of the
    parity check and the gallery, each its own size) run on the dynamic-shape model. The CPU
    plugin runs P-Net 20-25 % faster with a static shape. Models whose only free dimension is
    the batch (R-Net, O-Net, FaceNet) keep their dynamic batch: ~10 % slower, but a shape per
    batch size costs 30-210 ms to compile in the first measured frame that needs it, and
    FaceNet 50-70 MB each.
    """

    def __init__(
        self, path: Path, threads: int, precision: str, static_shapes: bool = False
    ) -> None:
        import openvino as ov

        self._core = ov.Core()
        self._model = self._core.read_model(str(path))
        self._config = {
            "INFERENCE_NUM_THREADS": threads,
            "PERFORMANCE_HINT": "LATENCY",
            "INFERENCE_PRECISION_HINT": _HINTS[precision],
        }
        dims = list(self._model.inputs[0].partial_shape)[1:]
        self.input_shape = tuple(None if d.is_dynamic else d.get_length() for d in dims)
        self._static = static_shapes and None in self.input_shape
        self._requests: dict[tuple[int, ...], tuple] = {}
        self._seen: set[tuple[int, ...]] = set()  # shapes met once, not compiled yet
        compiled = self._core.compile_model(self._model, "CPU", self._config)
        self._dynamic = (compiled, compiled.create_infer_request())
        self.info = {
            "framework": "openvino",
            "version": ov.__version__,
            "device": "CPU",
            "precision": str(compiled.get_property("INFERENCE_PRECISION_HINT")),
            "static_shapes": self._static,
        }

    def _request(self, shape: tuple[int, ...]) -> tuple:
        """(compiled model, infer request) for input ``shape``: the dynamic-shape model's the
        first time the shape comes, one compiled for it from the second time on."""
        if shape not in self._requests:
            if shape not in self._seen:
                self._seen.add(shape)
                return self._dynamic
            if len(self._requests) >= _MAX_STATIC_SHAPES:
                self._requests.pop(next(iter(self._requests)))  # the oldest
            model = self._model.clone()
            model.reshape(list(shape))
            compiled = self._core.compile_model(model, "CPU", self._config)
            self._requests[shape] = (compiled, compiled.create_infer_request())
        return self._requests[shape]

    def __call__(self, x: np.ndarray) -> list[np.ndarray]:
        x = np.ascontiguousarray(x, dtype=np.float32)
        compiled, request = self._request(x.shape) if self._static else self._dynamic
        result = request.infer({0: x}, share_inputs=True)  # no copy of a 1080p level (4 ms)
        return [np.array(result[output]) for output in compiled.outputs]
