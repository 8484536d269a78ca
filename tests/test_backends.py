"""Every backend that runs here agrees with the TensorFlow reference; the rest say why not;
bad names and bad model files are one-line errors."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

from facebench.backends.openvino import OpenvinoModel
from facebench.backends.registry import (
    DETECTORS,
    RECOGNIZERS,
    availability,
    load_recognizer,
    unavailable_reason,
    unknown_backends,
)
from facebench.errors import FacebenchError
from facebench.models.layout import FACENET, INPUT_SHAPES, MTCNN_NETS, model_file
from facebench.recognition.boxes import match_boxes
from facebench.recognition.detector import load_detector
from facebench.recognition.faces import largest_face, prewhiten
from facebench.recognition.photos import list_photos, read_rgb

RUNNABLE_RECOGNIZERS = [n for n, s in RECOGNIZERS.items() if unavailable_reason(s) is None]
RUNNABLE_DETECTORS = [n for n, s in DETECTORS.items() if unavailable_reason(s) is None]
MIN_COSINE = {"fp32": 0.9999, "fp16": 0.99, "int8": 0.99, "bf16": 0.999}
MIN_BOX_IOU = {"fp32": 0.99, "bf16": 0.9}  # bf16 box regressions move by about a pixel


@pytest.fixture(scope="module")
def photos(faces_dir):
    return [p for p in list_photos(faces_dir, max_per_person=1) if p.split == "val"]


@pytest.fixture(scope="module")
def tf_detector(models_dir):
    return load_detector("tf", models_dir, threads=2)


@pytest.fixture(scope="module")
def real_faces(photos, tf_detector):
    """Prewhitened 160x160 crops of the largest face of each val photo (kept in memory only)."""
    faces = [largest_face(tf_detector, read_rgb(photo.path), "crop") for photo in photos]
    return prewhiten(np.concatenate(faces))


@pytest.fixture(scope="module")
def reference_embeddings(models_dir, real_faces):
    return load_recognizer("tf", models_dir, threads=2).embed(real_faces)


@pytest.mark.parametrize("name", RUNNABLE_RECOGNIZERS)
def test_recognizer_parity(name, models_dir, real_faces, reference_embeddings):
    embeddings = load_recognizer(name, models_dir, threads=2).embed(real_faces)
    assert embeddings.shape == (len(real_faces), 128)
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-5)
    cosine = (embeddings * reference_embeddings).sum(axis=1)
    print(name, "min cosine", cosine.min())
    assert cosine.min() >= MIN_COSINE[RECOGNIZERS[name].precision]


@pytest.mark.parametrize("name", RUNNABLE_DETECTORS)
def test_detector_parity(name, models_dir, photos, tf_detector):
    detector = load_detector(name, models_dir, threads=2)
    for photo in photos:
        rgb = read_rgb(photo.path)
        ours, ref = detector.detect(rgb), tf_detector.detect(rgb)
        assert len(ours) == len(ref), photo.key
        assert ours.landmarks.shape == (len(ours), 5, 2)
        min_iou = MIN_BOX_IOU[DETECTORS[name].precision]
        assert all(iou >= min_iou for _, _, iou in match_boxes(ref.boxes, ours.boxes)), photo.key


@pytest.mark.skipif("openvino" not in RUNNABLE_DETECTORS, reason="OpenVINO not installed")
def test_static_shapes_give_the_dynamic_models_outputs(models_dir):
    """P-Net compiled for an input size (the second time it comes) gives the numbers of P-Net
    with dynamic shapes (fp32) at two sizes; R-Net, whose only free dimension is the batch,
    keeps its dynamic batch."""
    rng = np.random.default_rng(0)
    pnet = model_file(models_dir, "openvino", "pnet")
    dynamic = OpenvinoModel(pnet, 2, "fp32")
    static = OpenvinoModel(pnet, 2, "fp32", static_shapes=True)
    for shape in [(1, 61, 97, 3), (1, 30, 44, 3)]:
        x = rng.uniform(-1, 1, shape).astype(np.float32)
        for _ in range(2):  # first on the dynamic-shape model, then compiled for the shape
            for ours, ref in zip(static(x), dynamic(x), strict=True):
                assert ours.shape == ref.shape
                np.testing.assert_allclose(ours, ref, atol=1e-4)
    assert len(static._requests) == 2  # both sizes compiled, on their second call
    assert static.info["static_shapes"] and not dynamic.info["static_shapes"]
    rnet = OpenvinoModel(model_file(models_dir, "openvino", "rnet"), 2, "fp32", static_shapes=True)
    assert not rnet.info["static_shapes"]


def test_batch_of_eight_matches_batch_of_one(models_dir, real_faces):
    recognizer = load_recognizer("onnx", models_dir, threads=2)
    eight = np.resize(real_faces, (8, *real_faces.shape[1:]))  # the faces repeated up to 8
    batch = recognizer.embed(eight)
    assert batch.shape == (8, 128)
    single = np.concatenate([recognizer.embed(eight[i : i + 1]) for i in range(8)])
    np.testing.assert_allclose(batch, single, atol=1e-5)


def test_unavailable_backends_carry_a_reason():
    rows = availability()
    assert {r["backend"] for r in rows} >= {"tf", "tflite", "onnx", "openvino", "tensorrt"}
    for row in rows:
        assert row["available"] == (row["reason"] == "")
    if unavailable_reason(RECOGNIZERS["tensorrt"]):
        with pytest.raises(FacebenchError, match="'tensorrt' cannot run here: "):
            load_recognizer("tensorrt", "resources/models", threads=1)


def test_unknown_backend_and_missing_model_are_one_line_errors(tmp_path):
    with pytest.raises(FacebenchError, match="unknown recognizer backend 'caffe'"):
        load_recognizer("caffe", tmp_path, threads=1)
    with pytest.raises(FacebenchError, match=r"onnx/facenet\.onnx: model file missing"):
        load_recognizer("onnx", tmp_path, threads=1)


def _tiny_onnx_model(net: str = FACENET) -> bytes:
    """A valid one-node ONNX model (a float tensor plus a 3-vector of weights) with ``net``'s
    input shape, serialised."""
    from onnx import TensorProto, helper, numpy_helper

    shape = [None, *INPUT_SHAPES[net]]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, shape)
    bias = numpy_helper.from_array(np.arange(3, dtype=np.float32), "bias")
    node = helper.make_node("Add", ["x", "bias"], ["y"])
    graph = helper.make_graph([node], "tiny", [x], [y], initializer=[bias])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model.SerializeToString()


def test_truncated_onnx_model_is_a_one_line_error(tmp_path):
    path = model_file(tmp_path, "onnx", FACENET)
    path.parent.mkdir(parents=True)
    whole = _tiny_onnx_model()
    path.write_bytes(whole)
    assert load_recognizer("onnx", tmp_path, threads=1).info["framework"] == "onnxruntime"
    path.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(
        FacebenchError, match=rf"^{re.escape(str(path))}: not a valid onnx model \("
    ) as error:
        load_recognizer("onnx", tmp_path, threads=1)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize(
    "name", [n for n in ("tf", "tflite", "onnx", "openvino") if n in RUNNABLE_RECOGNIZERS]
)
def test_file_that_is_not_a_model_is_a_one_line_error(name, tmp_path):
    spec = RECOGNIZERS[name]
    path = model_file(tmp_path, spec.framework, FACENET, spec.precision)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\x00 not a model \xff" * 8)
    path.with_suffix(".bin").write_bytes(b"\x00")  # OpenVINO's weights beside its .xml
    with pytest.raises(
        FacebenchError, match=rf"^{re.escape(str(path))}: not a valid \w+ model \("
    ) as error:  # threads as the module's other tests: TF fixes its pools once per process
        load_recognizer(name, tmp_path, threads=2)
    assert "\n" not in str(error.value)


def test_bad_detector_net_file_names_the_net(tmp_path):
    paths = [model_file(tmp_path, "onnx", net) for net in MTCNN_NETS]
    paths[0].parent.mkdir(parents=True)
    for path, net in zip(paths, MTCNN_NETS, strict=True):
        path.write_bytes(_tiny_onnx_model(net))
    paths[1].write_bytes(b"junk")
    with pytest.raises(
        FacebenchError, match=rf"^{re.escape(str(paths[1]))}: not a valid onnx model"
    ):
        load_detector("onnx", tmp_path, threads=1)


def test_model_of_another_net_is_a_one_line_error_naming_both(tmp_path):
    path = model_file(tmp_path, "onnx", FACENET)
    path.parent.mkdir(parents=True)
    path.write_bytes(_tiny_onnx_model("rnet"))
    with pytest.raises(FacebenchError) as error:
        load_recognizer("onnx", tmp_path, threads=1)
    assert str(error.value) == (
        f"{path}: not a model of facenet (input 24x24x3 per sample, expected 160x160x3)"
    )
    paths = [model_file(tmp_path, "onnx", net) for net in MTCNN_NETS]
    for path, net in zip(paths, ("pnet", "onet", "onet"), strict=True):
        path.write_bytes(_tiny_onnx_model(net))
    with pytest.raises(FacebenchError) as error:
        load_detector("onnx", tmp_path, threads=1)
    assert str(error.value) == (
        f"{paths[1]}: not a model of rnet (input 48x48x3 per sample, expected 24x24x3)"
    )


@pytest.mark.parametrize(
    "name", [n for n in ("tf", "tflite", "onnx", "openvino") if n in RUNNABLE_RECOGNIZERS]
)
def test_converted_pnet_in_place_of_facenet_is_named(name, models_dir, tmp_path):
    """Each framework's real P-Net file where its FaceNet should be: the input shape tells."""
    spec = RECOGNIZERS[name]
    pnet = model_file(models_dir, spec.framework, "pnet", spec.precision)
    facenet = model_file(tmp_path, spec.framework, FACENET, spec.precision)
    facenet.parent.mkdir(parents=True)
    shutil.copyfile(pnet, facenet)
    if spec.framework == "openvino":  # the weights beside the .xml
        shutil.copyfile(pnet.with_suffix(".bin"), facenet.with_suffix(".bin"))
    with pytest.raises(FacebenchError) as error:
        load_recognizer(name, tmp_path, threads=2)
    assert str(error.value) == (
        f"{facenet}: not a model of facenet (input ?x?x3 per sample, expected 160x160x3)"
    )


def test_truncated_openvino_weights_are_a_one_line_error(tmp_path):
    ov = pytest.importorskip("openvino")
    onnx_path, xml = tmp_path / "tiny.onnx", model_file(tmp_path, "openvino", FACENET)
    onnx_path.write_bytes(_tiny_onnx_model())
    ov.save_model(ov.convert_model(onnx_path), xml, compress_to_fp16=False)
    assert load_recognizer("openvino", tmp_path, threads=1).info["framework"] == "openvino"
    weights = xml.with_suffix(".bin")
    weights.write_bytes(weights.read_bytes()[:-4])  # the last float of the bias cut off
    with pytest.raises(FacebenchError) as error:
        load_recognizer("openvino", tmp_path, threads=1)
    assert str(error.value) == (
        f"{xml}: not a valid openvino model (Incorrect weights in bin file!)"
    )


def _config(detector="onnx", recognizers=("onnx",)) -> dict:
    """The backend-naming keys of a workflow config."""
    return {
        "parity": {"detectors": ["tf", "onnx"], "recognizers": ["tflite-int8"]},
        "gallery": {"detector": detector, "recognizers": list(recognizers)},
        "runs": {"devices": {"local": {"detectors": ["onnx"], "recognizers": ["tf"]}}},
    }


def test_unknown_backends_in_the_config_name_their_key():
    assert unknown_backends(_config()) == []
    config = _config(detector="caffe", recognizers=("onnx", "tflite-int4"))
    config["runs"]["devices"]["local"]["detectors"].append("tflite-int8")
    problems = unknown_backends(config)
    assert len(problems) == 3
    assert problems[0].startswith("gallery.detector: unknown backend 'caffe'; known: tf, tflite")
    assert problems[1].startswith("gallery.recognizers: unknown backend 'tflite-int4'")
    assert problems[2].startswith("runs.devices.local.detectors: unknown backend 'tflite-int8'")
    assert all("\n" not in p and "tensorrt" in p for p in problems)


def test_registry_imports_no_framework():
    code = (
        "import sys, facebench.backends.registry; "
        "print([m for m in ('tensorflow', 'onnxruntime', 'openvino', 'ai_edge_litert', 'keras')"
        " if m in sys.modules])"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "[]", result.stderr
