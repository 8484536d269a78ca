"""TensorFlow (Keras 3) backend: the reference every other framework is compared with."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from facebench.convert import load_keras


def configure_threads(threads: int) -> None:
    """Set TF's intra-op threads (must run before TF executes anything)."""
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)


class TfEmbedder:
    """FaceNet as a ``tf.function`` over the Keras model (no ``model.predict`` overhead)."""

    def __init__(self, model_path: Path, threads: int) -> None:
        import tensorflow as tf

        configure_threads(threads)
        model = load_keras(model_path)
        self._call = tf.function(
            lambda x: model(x, training=False),
            input_signature=[tf.TensorSpec((None, 160, 160, 3), tf.float32)],
        )
        self.info = {"framework": "tensorflow", "version": tf.__version__, "precision": "fp32"}

    def embed(self, faces: np.ndarray) -> np.ndarray:
        return self._call(np.ascontiguousarray(faces, dtype=np.float32)).numpy()
