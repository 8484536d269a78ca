"""TensorFlow (Keras 3) backend: the reference every other framework is compared with."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from facebench.convert import load_keras
from facebench.errors import FacebenchError

if TYPE_CHECKING:
    import keras


def configure_threads(threads: int) -> None:
    """Set TF's intra-op threads (must run before TF executes anything)."""
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError as error:  # TF fixes its thread pools when it first runs
        raise FacebenchError(f"TensorFlow threads: cannot set {threads} ({error})") from error


def graph_function(model: keras.Model) -> Callable[[np.ndarray], list[np.ndarray]]:
    """A Keras ``model`` as one traced ``tf.function`` over float32 batches of its input shape
    (no ``model.predict`` overhead); returns every output as a numpy array."""
    import tensorflow as tf

    forward = tf.function(
        lambda x: model(x, training=False),
        input_signature=[tf.TensorSpec((None, *model.input_shape[1:]), tf.float32)],
    )

    def call(x: np.ndarray) -> list[np.ndarray]:
        outputs = forward(np.ascontiguousarray(x, dtype=np.float32))
        if not isinstance(outputs, list | tuple):  # a one-output model returns a tensor
            outputs = [outputs]
        return [out.numpy() for out in outputs]

    return call


class TfModel:
    """One Keras model file run as a ``tf.function``; returns all outputs as numpy arrays."""

    def __init__(self, path: Path, threads: int, precision: str) -> None:
        import tensorflow as tf

        configure_threads(threads)
        model = load_keras(path)
        self.input_shape = tuple(model.input_shape[1:])
        self._call = graph_function(model)
        self.info = {"framework": "tensorflow", "version": tf.__version__, "precision": precision}

    def __call__(self, x: np.ndarray) -> list[np.ndarray]:
        return self._call(x)
