"""Model conversions: Keras -> SavedModel -> TFLite, Keras -> ONNX, ONNX -> OpenVINO / TensorRT.

Every function writes its output atomically and checks nothing itself: parity (``parity.py``)
compares each converted model with the TensorFlow reference on real inputs.
"""

from __future__ import annotations

import os
from pathlib import Path

from facebench.backends.registry import cuda_gpu_reason
from facebench.backends.tf import load_keras
from facebench.errors import FacebenchError
from facebench.fileio import atomic_path

TFLITE_QUANTIZATIONS = ("fp32", "int8")


def export_savedmodel(keras_path: Path, out_dir: Path) -> None:
    """Export a Keras model as a TF SavedModel (the input the TF converters are reliable on)."""
    model = load_keras(keras_path)
    with atomic_path(out_dir) as tmp:
        model.export(str(tmp), verbose=False)


def to_tflite(savedmodel_dir: Path, out: Path, quantization: str) -> None:
    """SavedModel -> .tflite, fp32 or dynamic-range int8 (weights int8, activations float)."""
    import tensorflow as tf

    if quantization not in TFLITE_QUANTIZATIONS:
        raise FacebenchError(f"unknown TFLite quantization {quantization!r}")
    converter = tf.lite.TFLiteConverter.from_saved_model(str(savedmodel_dir))
    if quantization == "int8":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    flatbuffer = converter.convert()
    with atomic_path(out) as tmp:
        tmp.write_bytes(flatbuffer)


def to_onnx(keras_path: Path, out: Path, opset: int) -> None:
    """Keras -> ONNX with tf2onnx; unknown input dims (P-Net's H, W) stay dynamic."""
    import tensorflow as tf
    import tf2onnx

    model = load_keras(keras_path)
    signature = [tf.TensorSpec((None, *model.input_shape[1:]), tf.float32, name="input")]
    function = tf.function(lambda x: model(x, training=False))
    with atomic_path(out) as tmp:
        tf2onnx.convert.from_function(
            function, input_signature=signature, opset=opset, output_path=str(tmp)
        )


def to_openvino(onnx_path: Path, out_xml: Path) -> None:
    """ONNX -> OpenVINO IR (.xml + .bin), weights kept fp32."""
    import openvino as ov

    model = ov.convert_model(str(onnx_path))
    out_xml.parent.mkdir(parents=True, exist_ok=True)
    tmp_xml = out_xml.with_name(f".{out_xml.stem}.tmp-{os.getpid()}.xml")
    ov.save_model(model, str(tmp_xml), compress_to_fp16=False)
    os.replace(tmp_xml.with_suffix(".bin"), out_xml.with_suffix(".bin"))
    os.replace(tmp_xml, out_xml)


def tensorrt_build_reason() -> str | None:
    """None when TensorRT engines can be built here (tensorrt imports, a CUDA GPU answers)."""
    try:
        import tensorrt  # noqa: F401
    except ImportError as error:
        return f"tensorrt not importable ({error})"
    except OSError as error:  # the wheel without its CUDA/TensorRT libraries
        return f"tensorrt libraries missing ({error})"
    return cuda_gpu_reason()


def to_tensorrt(onnx_path: Path, out: Path, precision: str, workspace_bytes: int = 1 << 30) -> None:
    """ONNX -> serialized TensorRT engine (fp32 or fp16) with TensorRT's builder API."""
    import tensorrt as trt

    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    network = builder.create_network(0)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse(Path(onnx_path).read_bytes()):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise FacebenchError(f"{onnx_path}: TensorRT cannot parse the ONNX model: {errors}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, workspace_bytes)
    if precision == "fp16":
        config.set_flag(trt.BuilderFlag.FP16)
    profile = builder.create_optimization_profile()
    tensor = network.get_input(0)
    fixed = [d if d > 0 else None for d in tensor.shape]
    height, width = (fixed[1] or 720), (fixed[2] or 1280)  # P-Net: up to an HD pyramid level
    low, high = (1, fixed[1] or 12, fixed[2] or 12, 3), (32, height, width, 3)
    profile.set_shape(tensor.name, low, (1, *high[1:]), high)
    config.add_optimization_profile(profile)
    engine = builder.build_serialized_network(network, config)
    if engine is None:
        raise FacebenchError(f"{onnx_path}: TensorRT failed to build a {precision} engine")
    with atomic_path(out) as tmp:
        tmp.write_bytes(bytes(engine))
