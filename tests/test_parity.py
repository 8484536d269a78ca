"""Parity judgement: NaN fails, the reference is not a comparison, int8 must be quantised."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from facebench.backends.base import Detections
from facebench.errors import FacebenchError
from facebench.harness import parity
from facebench.harness.parity import Reference, detector_parity, gather_parity, judge, quantisation

THRESHOLDS = {
    "detectors": ["tf", "tflite", "onnx", "openvino"],
    "recognizers": ["tf", "tflite", "tflite-int8", "onnx", "openvino"],
    "min_cosine": {"fp32": 0.9999, "fp16": 0.99, "int8": 0.99},
    "min_face_count_agreement": 0.95,
    "min_mean_iou": {"fp32": 0.98, "bf16": 0.95},
}
QUANTISED = {"int8_tensors": 132, "n_tensors": 449, "size_ratio_to_fp32": 0.26}


def facenet_row(backend: str, min_cosine: float, precision: str = "fp32", **extra) -> dict:
    return {"model": "facenet", "backend": backend, "precision": precision, "n_inputs": 20,
            "max_abs_diff": 1e-6, "min_cosine": min_cosine,
            "identification_agreement": 1.0, **extra}  # fmt: skip


def mtcnn_row(backend: str, mean_iou: float = 0.9999, precision: str = "fp32") -> dict:
    return {"model": "mtcnn", "backend": backend, "precision": precision, "n_inputs": 20,
            "face_count_agreement": 1.0, "min_iou": mean_iou, "mean_iou": mean_iou,
            "max_abs_diff": 1e-3}  # fmt: skip


def test_nan_min_cosine_fails():
    status, reason = judge(facenet_row("onnx", float("nan")), THRESHOLDS)
    assert status == "fail" and "min_cosine NaN" in reason
    assert judge(facenet_row("onnx", 0.99999), THRESHOLDS)[0] == "pass"


def test_no_box_compared_is_nan_and_fails(monkeypatch):
    ref = Reference(keys=np.array(["val/a/1.jpg"]), n_faces=np.array([0]),
                    photo_of_box=np.zeros(0, int), boxes=np.zeros((0, 4), np.float32),
                    landmarks=np.zeros((0, 5, 2), np.float32), face_box=np.array([-1]),
                    embeddings=np.full((1, 128), np.nan, np.float32))  # fmt: skip
    empty = Detections(np.zeros((0, 4), np.float32), np.zeros(0, np.float32),
                       np.zeros((0, 5, 2), np.float32))  # fmt: skip
    monkeypatch.setattr(parity, "detect_all", lambda detector, photos: [empty])
    row = detector_parity(None, ref, [None])
    assert np.isnan(row["min_iou"]) and np.isnan(row["mean_iou"])
    status, reason = judge({"backend": "onnx", **row, "model": "mtcnn"}, THRESHOLDS)
    assert status == "fail" and "mean_iou NaN" in reason


def test_int8_must_be_quantised():
    row = facenet_row("tflite-int8", 0.999, "int8", quantisation=QUANTISED)
    assert judge(row, THRESHOLDS)[0] == "pass"
    fp32_copy = {"int8_tensors": 0, "n_tensors": 449, "size_ratio_to_fp32": 1.0}
    status, reason = judge({**row, "quantisation": fp32_copy}, THRESHOLDS)
    assert status == "fail" and reason.startswith("not quantised: 0 of 449 tensors int8")
    assert judge({k: v for k, v in row.items() if k != "quantisation"}, THRESHOLDS)[0] == "fail"


def test_quantisation_reads_the_tflite_tensors(models_dir, tmp_path):
    tflite = models_dir / "tflite"
    q = quantisation(tflite / "facenet_int8.tflite", tflite / "facenet_fp32.tflite")
    assert q["int8_tensors"] > 0 and q["size_ratio_to_fp32"] < 0.4
    fake = shutil.copyfile(tflite / "facenet_fp32.tflite", tmp_path / "facenet_int8.tflite")
    q = quantisation(fake, tflite / "facenet_fp32.tflite")
    assert q["int8_tensors"] == 0 and q["size_ratio_to_fp32"] == 1.0


def write_rows(tmp_path: Path, rows: list[dict]) -> list[Path]:
    paths = []
    for row in rows:
        paths.append(tmp_path / f"{row['model']}_{row['backend']}.json")
        paths[-1].write_text(json.dumps(row))
    return paths


def test_reference_is_listed_not_counted(tmp_path):
    out = tmp_path / "parity.csv"
    rows = [mtcnn_row(b) for b in ("tf", "tflite", "onnx", "openvino")] + [
        facenet_row(b, 0.99999) for b in ("tf", "tflite", "onnx", "openvino")
    ]
    rows.append(facenet_row("tflite-int8", 0.999, "int8", quantisation=QUANTISED))
    gather_parity(write_rows(tmp_path, rows), THRESHOLDS, out)
    table = pd.read_csv(out)
    assert set(table[table.backend == "tf"].status) == {"reference"}
    assert set(table[table.backend != "tf"].status) == {"pass"}
    rows = [r for r in rows if r["backend"] != "openvino"]  # two real fp32 comparisons left
    (tmp_path / "fewer").mkdir()
    with pytest.raises(FacebenchError) as error:
        gather_parity(write_rows(tmp_path / "fewer", rows), THRESHOLDS, out)
    assert "mtcnn: 2 fp32 backends compared with the reference, 3 needed" in str(error.value)
    assert "facenet: 2 fp32 backends" in str(error.value) and not out.exists()


def test_a_bf16_detector_is_held_to_its_own_box_threshold():
    """bf16 box regressions move by about a pixel: the bf16 limit applies to a bf16 row, the
    fp32 limit (higher) to an fp32 row with the same boxes."""
    assert judge(mtcnn_row("openvino-bf16", 0.966, "bf16"), THRESHOLDS)[0] == "pass"
    assert judge(mtcnn_row("openvino-bf16", 0.94, "bf16"), THRESHOLDS)[0] == "fail"
    status, reason = judge(mtcnn_row("openvino", 0.966), THRESHOLDS)
    assert (status, reason) == ("fail", "mean_iou 0.9660 < 0.98")
