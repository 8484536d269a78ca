"""Rebuild the Keras 2.1 FaceNet (.h5) as a Keras 3 model without executing its Lambda bytecode.

The file's 21 Lambda layers hold marshalled Python 3.6 bytecode computing ``x0 + scale * x1``
(the residual scaling of Inception-ResNet). We rebuild the graph from ``model_config``, put a
registered :class:`ScaleSum` layer in their place, and copy every weight tensor by layer name.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import h5py
import keras
import numpy as np

from facebench.errors import FacebenchError
from facebench.models.layout import FACENET_EMBEDDING_SIZE


@keras.saving.register_keras_serializable(package="facebench")
class ScaleSum(keras.layers.Layer):
    """``inputs[0] + scale * inputs[1]``: the residual connection the Lambda layers computed."""

    def __init__(self, scale: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scale = float(scale)

    def call(self, inputs: list) -> Any:
        return inputs[0] + self.scale * inputs[1]

    def get_config(self) -> dict:
        return {**super().get_config(), "scale": self.scale}


def _conv2d(c: dict) -> keras.layers.Layer:
    return keras.layers.Conv2D(
        c["filters"],
        c["kernel_size"],
        strides=c["strides"],
        padding=c["padding"],
        dilation_rate=c["dilation_rate"],
        activation=c["activation"],
        use_bias=c["use_bias"],
        name=c["name"],
    )


def _batch_norm(c: dict) -> keras.layers.Layer:
    return keras.layers.BatchNormalization(
        axis=c["axis"],
        momentum=c["momentum"],
        epsilon=c["epsilon"],
        center=c["center"],
        scale=c["scale"],
        name=c["name"],
    )


def _max_pool(c: dict) -> keras.layers.Layer:
    return keras.layers.MaxPooling2D(
        c["pool_size"], strides=c["strides"], padding=c["padding"], name=c["name"]
    )


def _scale_sum(c: dict) -> keras.layers.Layer:
    if set(c.get("arguments", {})) != {"scale"}:
        raise ValueError(f"Lambda {c['name']} has arguments {c.get('arguments')}, expected scale")
    return ScaleSum(c["arguments"]["scale"], name=c["name"])


_LAYER_BUILDERS: dict[str, Callable[[dict], keras.layers.Layer]] = {
    "Conv2D": _conv2d,
    "BatchNormalization": _batch_norm,
    "Activation": lambda c: keras.layers.Activation(c["activation"], name=c["name"]),
    "Concatenate": lambda c: keras.layers.Concatenate(axis=c["axis"], name=c["name"]),
    "MaxPooling2D": _max_pool,
    "GlobalAveragePooling2D": lambda c: keras.layers.GlobalAveragePooling2D(name=c["name"]),
    "Dropout": lambda c: keras.layers.Dropout(c["rate"], name=c["name"]),
    "Dense": lambda c: keras.layers.Dense(
        c["units"], activation=c["activation"], use_bias=c["use_bias"], name=c["name"]
    ),
    "Lambda": _scale_sum,
}


def _build_graph(config: dict) -> keras.Model:
    """Functional model from a Keras 2 ``model_config`` (layers listed in topological order)."""
    tensors: dict[str, Any] = {}
    for layer in config["layers"]:
        kind, c, name = layer["class_name"], layer["config"], layer["name"]
        if kind == "InputLayer":
            tensors[name] = keras.Input(shape=tuple(c["batch_input_shape"][1:]), name=name)
            continue
        if kind not in _LAYER_BUILDERS:
            raise ValueError(f"unsupported layer {name} of class {kind}")
        (node,) = layer["inbound_nodes"]
        inputs = [tensors[inbound[0]] for inbound in node]
        tensors[name] = _LAYER_BUILDERS[kind](c)(inputs if len(inputs) > 1 else inputs[0])
    ((input_name, _, _),) = config["input_layers"]
    ((output_name, _, _),) = config["output_layers"]
    return keras.Model(tensors[input_name], tensors[output_name], name="facenet")


def _assign_weights(model: keras.Model, weights_group: h5py.Group) -> int:
    """Copy each stored tensor into the layer variable of the same name; return how many."""
    assigned = 0
    stored_layers = [n.decode() for n in weights_group.attrs["layer_names"]]
    for layer_name in stored_layers:
        group = weights_group[layer_name]
        names = [n.decode() for n in group.attrs["weight_names"]]
        if not names:
            continue
        layer = model.get_layer(layer_name)
        variables = {v.path.rsplit("/", 1)[-1]: v for v in layer.weights}
        if len(variables) != len(names):
            raise ValueError(
                f"layer {layer_name}: {len(names)} stored tensors, "
                f"{len(variables)} in the rebuilt layer"
            )
        for stored in names:
            if stored not in group:
                raise ValueError(f"layer {layer_name}: stored tensor {stored} missing")
            short = stored.rsplit("/", 1)[-1].split(":")[0]
            if short not in variables:
                raise ValueError(f"layer {layer_name}: no variable for stored tensor {stored}")
            value = np.asarray(group[stored])
            if tuple(variables[short].shape) != value.shape:
                raise ValueError(
                    f"tensor {stored}: shape {value.shape}, "
                    f"layer expects {tuple(variables[short].shape)}"
                )
            variables[short].assign(value)
            assigned += 1
    expected = sum(len(layer.weights) for layer in model.layers)
    if assigned != expected:
        raise ValueError(f"assigned {assigned} of the model's {expected} weight tensors")
    return assigned


def rebuild_facenet(h5_path: Path) -> tuple[keras.Model, int]:
    """Load the Keras 2.1 FaceNet .h5 as a Keras 3 model; return it and the tensors assigned."""
    try:
        with h5py.File(h5_path, "r") as h5:
            config = json.loads(h5.attrs["model_config"])["config"]
            model = _build_graph(config)
            assigned = _assign_weights(model, h5["model_weights"])
    except (OSError, KeyError, ValueError) as error:
        raise FacebenchError(f"{h5_path}: not a loadable Keras FaceNet model: {error}") from error
    if model.output_shape != (None, FACENET_EMBEDDING_SIZE):
        raise FacebenchError(
            f"{h5_path}: output shape {model.output_shape}, expected {FACENET_EMBEDDING_SIZE}-d"
        )
    return model, assigned
