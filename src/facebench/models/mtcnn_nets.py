"""MTCNN's P-, R- and O-Net as functional Keras 3 models carrying the `mtcnn` package's weights.

The architecture mirrors `mtcnn` 1.0 (its subclassed models cannot be exported or saved as
plain `.keras` files); the weights come from the package's bundled assets, read with the
package's own loader. Outputs follow :class:`facebench.backends.base.MtcnnNets`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import keras
import numpy as np
from mtcnn.utils.tensorflow import load_weights

from facebench.errors import FacebenchError
from facebench.fileio import atomic_path
from facebench.models.layout import MTCNN_NETS

NET_INPUT_SHAPES: dict[str, tuple[int | None, int | None, int]] = {
    "pnet": (None, None, 3),
    "rnet": (24, 24, 3),
    "onet": (48, 48, 3),
}
_L = keras.layers


def _conv_prelu(
    x: keras.KerasTensor, filters: int, kernel_px: int, index: int
) -> keras.KerasTensor:
    x = _L.Conv2D(filters, kernel_px, padding="valid", name=f"conv{index}")(x)
    return _L.PReLU(shared_axes=[1, 2], name=f"prelu{index}")(x)


def _pool(x: keras.KerasTensor, size_px: int, padding: str, index: int) -> keras.KerasTensor:
    return _L.MaxPooling2D(size_px, strides=2, padding=padding, name=f"maxpooling{index}")(x)


def _dense_prelu(x: keras.KerasTensor, units: int, index: int) -> keras.KerasTensor:
    x = _L.Permute((2, 1, 3), name="permute")(x)  # Caffe's (C, W, H) flattening order
    x = _L.Flatten(name="flatten")(x)
    x = _L.Dense(units, name=f"fc{index}")(x)
    return _L.PReLU(name=f"prelu{index}")(x)


def _pnet() -> keras.Model:
    image = keras.Input(NET_INPUT_SHAPES["pnet"], name="image")
    x = _pool(_conv_prelu(image, 10, 3, 1), 2, "same", 1)
    x = _conv_prelu(_conv_prelu(x, 16, 3, 2), 32, 3, 3)
    box = _L.Conv2D(4, 1, name="box_regression")(x)
    prob = _L.Conv2D(2, 1, activation="softmax", name="face_probability")(x)
    return keras.Model(image, [box, prob], name="pnet")


def _rnet() -> keras.Model:
    crops = keras.Input(NET_INPUT_SHAPES["rnet"], name="crops")
    x = _pool(_conv_prelu(crops, 28, 3, 1), 3, "same", 1)
    x = _pool(_conv_prelu(x, 48, 3, 2), 3, "valid", 2)
    x = _dense_prelu(_conv_prelu(x, 64, 2, 3), 128, 4)
    box = _L.Dense(4, name="box_regression")(x)
    prob = _L.Dense(2, activation="softmax", name="face_probability")(x)
    return keras.Model(crops, [box, prob], name="rnet")


def _onet() -> keras.Model:
    crops = keras.Input(NET_INPUT_SHAPES["onet"], name="crops")
    x = _pool(_conv_prelu(crops, 32, 3, 1), 3, "same", 1)
    x = _pool(_conv_prelu(x, 64, 3, 2), 3, "valid", 2)
    x = _pool(_conv_prelu(x, 64, 3, 3), 2, "same", 3)
    x = _dense_prelu(_conv_prelu(x, 128, 2, 4), 256, 5)
    box = _L.Dense(4, name="box_regression")(x)
    landmarks = _L.Dense(10, name="landmarks")(x)
    prob = _L.Dense(2, activation="softmax", name="face_probability")(x)
    return keras.Model(crops, [box, landmarks, prob], name="onet")


_BUILDERS = {"pnet": _pnet, "rnet": _rnet, "onet": _onet}
_CONV_BLOCKS = {"pnet": 3, "rnet": 3, "onet": 4}


def _weight_order(net: str) -> list[str]:
    """Layer names in the order the package lists its tensors: body, then the heads."""
    blocks = _CONV_BLOCKS[net]
    body = [name for i in range(1, blocks + 1) for name in (f"conv{i}", f"prelu{i}")]
    if net != "pnet":
        body += [f"fc{blocks + 1}", f"prelu{blocks + 1}"]
    heads = ["box_regression", "landmarks"] if net == "onet" else ["box_regression"]
    return [*body, *heads, "face_probability"]


def _package_weights(net: str) -> list[np.ndarray]:
    """The `mtcnn` package's bundled tensors for one net, read with its own loader."""
    try:
        return list(load_weights(f"{net}.lz4"))
    except (OSError, ValueError) as error:
        raise FacebenchError(f"mtcnn {net}: cannot read the package's weights: {error}") from error


def _assign_weights(model: keras.Model, net: str, tensors: Sequence[np.ndarray]) -> None:
    """Set every variable of `model` from `tensors` (package order); fail on any mismatch."""
    remaining = list(tensors)
    for layer_name in _weight_order(net):
        variables = model.get_layer(layer_name).weights
        values, remaining = remaining[: len(variables)], remaining[len(variables) :]
        shapes = [tuple(v.shape) for v in variables]
        if [np.shape(value) for value in values] != shapes:
            found = [np.shape(value) for value in values]
            raise FacebenchError(f"mtcnn {net}: layer {layer_name} expects {shapes}, got {found}")
        for variable, value in zip(variables, values, strict=True):
            variable.assign(value)
    if remaining:
        raise FacebenchError(f"mtcnn {net}: {len(remaining)} package tensors left unassigned")
    unset = len(model.weights) - sum(len(model.get_layer(n).weights) for n in _weight_order(net))
    if unset:
        raise FacebenchError(f"mtcnn {net}: {unset} model variables have no package tensor")


def build_mtcnn_nets() -> dict[str, keras.Model]:
    """P-, R- and O-Net as functional Keras models with the `mtcnn` package's weights."""
    models = {}
    for net in MTCNN_NETS:
        model = _BUILDERS[net]()
        _assign_weights(model, net, _package_weights(net))
        models[net] = model
    return models


def save_mtcnn_nets(out_dir: Path) -> dict[str, Path]:
    """Write pnet.keras, rnet.keras, onet.keras into `out_dir` (each atomically)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {}
    for net, model in build_mtcnn_nets().items():
        paths[net] = out_dir / f"{net}.keras"
        with atomic_path(paths[net]) as tmp:  # the temporary keeps the .keras suffix Keras wants
            model.save(tmp)
    return paths
