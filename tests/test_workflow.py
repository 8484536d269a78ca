"""End to end: the workflow on config/ci.yaml, and failure paths of its rules."""

from __future__ import annotations

import json

import pandas as pd
import yaml
from conftest import REPO_ROOT, ci_config, snakemake

from facebench.convert import tensorrt_build_reason


def test_workflow_builds_models_conversions_and_parity(workflow_dir):
    models = workflow_dir / "resources" / "models"
    for net in ("facenet", "pnet", "rnet", "onet"):
        for path in (
            f"tf/{net}.keras",
            f"onnx/{net}.onnx",
            f"openvino/{net}.xml",
            f"openvino/{net}.bin",
            f"tflite/{net}_fp32.tflite",
        ):
            assert (models / path).stat().st_size > 0, path
    assert (models / "tflite" / "facenet_int8.tflite").stat().st_size > 0
    table = pd.read_csv(workflow_dir / "results" / "parity" / "parity.csv")
    print(table.to_string())
    measured = table[table.status != "not measured"]
    assert set(measured.status) == {"pass"}
    fp32 = measured[(measured.model == "facenet") & (measured.precision == "fp32")]
    assert len(fp32) >= 4 and (fp32.min_cosine >= 0.9999).all()
    assert set(measured[measured.model == "mtcnn"].backend) >= {"tf", "tflite", "onnx", "openvino"}


def test_tensorrt_skipped_with_reason_when_unavailable(workflow_dir):
    reason = tensorrt_build_reason()
    if reason is None:
        return  # a GPU host: engines were built instead (checked by the first test's run)
    note = json.loads((workflow_dir / "resources/models/tensorrt/SKIPPED.json").read_text())
    assert note == {"status": "skipped", "reason": reason}
    assert not list((workflow_dir / "resources/models/tensorrt").glob("*.engine"))
    table = pd.read_csv(workflow_dir / "results" / "parity" / "parity.csv")
    trt = table[table.backend.str.startswith("tensorrt")]
    assert len(trt) == 3 and set(trt.status) == {"not measured"}
    assert trt.reason.str.len().min() > 0 and trt.min_cosine.isna().all()


def test_facenet_reference_is_the_real_model(workflow_dir):
    quality = json.loads((workflow_dir / "results/parity/facenet_quality.json").read_text())
    print(quality)
    assert quality["nn_accuracy"] >= 0.9
    assert quality["same_person_l2_mean"] < quality["different_person_l2_mean"]


def test_no_face_images_written(workflow_dir):
    written = [
        p
        for p in (workflow_dir / "results").rglob("*")
        if p.suffix.lower() in {".jpg", ".jpeg", ".png"}
    ]
    assert written == []


def test_corrupt_sdist_fails_cleanly(tmp_path):
    corrupt = tmp_path / "corrupt.tar.gz"
    corrupt.write_bytes(b"not the facenet sdist")
    result = snakemake(
        tmp_path,
        ci_config(tmp_path, facenet_sdist_path=str(corrupt)),
        "resources/downloads/facenet_sdist.tar.gz",
        timeout_s=300,
    )
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors and str(corrupt) in errors[0] and "sha256" in errors[0], result.stderr[-2000:]
    assert not (tmp_path / "resources/downloads/facenet_sdist.tar.gz").exists()


def test_lint_and_dry_run_of_default_config(tmp_path):
    result = snakemake(tmp_path, REPO_ROOT / "config" / "config.yaml", "--dry-run", timeout_s=300)
    assert result.returncode == 0, result.stderr[-3000:]
    for rule in ("rebuild_facenet", "convert_onnx", "convert_openvino", "gather_parity"):
        assert rule in result.stdout


def test_user_video_table_errors_name_the_file(tmp_path):
    table = tmp_path / "videos.tsv"
    table.write_text("name\tpath\tgroundtruth\nmine\t/nonexistent/clip.mp4\t\n")
    config = ci_config(tmp_path)
    settings = yaml.safe_load(config.read_text())
    settings["videos"]["user_table"] = str(table)
    config.write_text(yaml.safe_dump(settings))
    result = snakemake(tmp_path, config, "--dry-run", timeout_s=300)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert f"{table}: mine: file /nonexistent/clip.mp4 does not exist" in output, output[-2000:]


def test_runs_pair_is_empty_or_two_devices(tmp_path):
    """`runs.pair: []` (no pair: figures 12 and 14 say so) is valid; a single device is not."""
    config = ci_config(tmp_path)
    settings = yaml.safe_load(config.read_text())
    for pair, valid in (([], True), (["local"], False)):
        settings["runs"]["pair"] = pair
        config.write_text(yaml.safe_dump(settings, sort_keys=False))
        result = snakemake(tmp_path, config, "--dry-run", timeout_s=300)
        assert (result.returncode == 0) == valid, (pair, result.stderr[-2000:])
        if not valid:
            output = result.stdout + result.stderr
            assert "runs" in output and "pair" in output, output[-2000:]
