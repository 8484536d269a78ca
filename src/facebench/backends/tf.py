"""TensorFlow (Keras 3) backend: the reference every other framework is compared with."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from facebench.backends.base import CallableNets
from facebench.errors import FacebenchError
from facebench.models.layout import MTCNN_NETS

if TYPE_CHECKING:
    import keras


def load_keras(path: Path):
    """Load a Keras 3 model file (safe mode on; our custom layers are registered on import)."""
    import keras

    import facebench.models.facenet_keras  # noqa: F401  (registers ScaleSum)

    try:
        return keras.models.load_model(path, compile=False)
    except (OSError, ValueError) as error:
        raise FacebenchError(f"{path}: not a valid Keras model ({error})") from error


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


def KerasMtcnnNets(models: dict[str, keras.Model]) -> CallableNets:
    """The TensorFlow backend's :class:`MtcnnNets` from in-memory Keras nets, each run as a
    `tf.function` (as the backend runs the saved files)."""
    import tensorflow as tf

    info = {"framework": "tensorflow", "version": tf.__version__, "precision": "fp32"}
    return CallableNets(*(graph_function(models[net]) for net in MTCNN_NETS), info=info)
