"""The nets' names, and where each model file lives under ``resources/models`` for every
framework and precision."""

from __future__ import annotations

from pathlib import Path

FACENET = "facenet"
FACENET_EMBEDDING_SIZE = 128  # FaceNet (Inception-ResNet v1) embeds a face in 128-d
MTCNN_NETS = ("pnet", "rnet", "onet")
NETS = (FACENET, *MTCNN_NETS)
FACE_SIZE_PX = 160  # FaceNet's input side
RNET_INPUT_PX = 24
ONET_INPUT_PX = 48
# each net's input (H, W, C) after the batch, None where free: tells a net's file from another's
INPUT_SHAPES = {
    "pnet": (None, None, 3),
    "rnet": (RNET_INPUT_PX, RNET_INPUT_PX, 3),
    "onet": (ONET_INPUT_PX, ONET_INPUT_PX, 3),
    FACENET: (FACE_SIZE_PX, FACE_SIZE_PX, 3),
}

_SUFFIX = {"tf": ".keras", "onnx": ".onnx", "openvino": ".xml", "tensorrt": ".engine"}


def model_file(models_dir: Path, framework: str, net: str, precision: str = "fp32") -> Path:
    """Path of ``net`` for ``framework`` at ``precision`` (fp32 files carry no precision tag
    except TFLite/TensorRT, where several precisions of one net coexist)."""
    if framework == "savedmodel":
        return Path(models_dir) / "savedmodel" / net
    if framework == "tflite":
        return Path(models_dir) / "tflite" / f"{net}_{precision}.tflite"
    if framework == "tensorrt":
        return Path(models_dir) / "tensorrt" / f"{net}_{precision}.engine"
    return Path(models_dir) / framework / f"{net}{_SUFFIX[framework]}"
