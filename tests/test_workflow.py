"""End to end: the workflow on config/ci.yaml, and failure paths of its rules."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import (
    REPO_ROOT,
    SOURCE_HASH_FILE,
    ci_config,
    clear_if_stale,
    snakemake,
    source_hash,
    user_table_config,
)

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
    assert set(table[table.backend == "tf"].status) == {"reference"}  # not compared with itself
    measured = table[~table.status.isin(["not measured", "reference"])]
    assert set(measured.status) == {"pass"}
    fp32 = measured[(measured.model == "facenet") & (measured.precision == "fp32")]
    assert len(fp32) >= 3 and (fp32.min_cosine >= 0.9999).all()
    assert set(measured[measured.model == "mtcnn"].backend) >= {"tflite", "onnx", "openvino"}
    int8 = table[table.backend == "tflite-int8"]
    assert list(int8.status) == ["pass"] and "int8 tensors" in int8.reason.iloc[0]


def test_tensorrt_engines_built_or_skipped_with_reason(workflow_dir):
    """Where TensorRT can build, every engine exists and passes parity; elsewhere the skip note
    and parity give the reason and no engine is left behind."""
    reason = tensorrt_build_reason()
    trt_dir = workflow_dir / "resources/models/tensorrt"
    table = pd.read_csv(workflow_dir / "results" / "parity" / "parity.csv")
    trt = table[table.backend.str.startswith("tensorrt")]
    assert len(trt) == 3
    if reason is None:
        precisions = yaml.safe_load((workflow_dir / "config.yaml").read_text())["models"][
            "tensorrt_precisions"
        ]
        for net in ("facenet", "pnet", "rnet", "onet"):
            for precision in precisions:
                engine = trt_dir / f"{net}_{precision}.engine"
                assert engine.stat().st_size > 0, engine
        assert not (trt_dir / "SKIPPED.json").exists()
        assert set(trt.status) == {"pass"}, trt.to_string()
        return
    note = json.loads((trt_dir / "SKIPPED.json").read_text())
    assert note == {"status": "skipped", "reason": reason}
    assert not list(trt_dir.glob("*.engine"))
    assert set(trt.status) == {"not measured"}
    assert trt.reason.str.len().min() > 0 and trt.min_cosine.isna().all()


def test_facenet_reference_is_the_real_model(workflow_dir):
    quality = json.loads((workflow_dir / "results/parity/facenet_quality.json").read_text())
    print(quality)
    assert quality["nn_accuracy"] >= 0.9
    assert quality["same_person_l2_mean"] < quality["different_person_l2_mean"]


def is_image(path: Path) -> bool:
    """True when the file starts like a JPEG, PNG, BMP, GIF or WebP image, whatever its name."""
    with path.open("rb") as f:
        head = f.read(12)
    return (
        head.startswith((b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a"))
        or (head[:2] == b"BM" and head[6:10] == b"\0\0\0\0")  # BMP: reserved bytes are zero
        or (head[:4] == b"RIFF" and head[8:12] == b"WEBP")
    )


def test_is_image_recognises_each_format_by_content(tmp_path):
    from PIL import Image

    for fmt in ("JPEG", "PNG", "BMP", "GIF", "WEBP"):
        path = tmp_path / f"face_{fmt}.dat"  # no image extension: found by content
        Image.new("RGB", (8, 8)).save(path, format=fmt)
        assert is_image(path), fmt
    (tmp_path / "table.csv").write_text("BMI,frame\n1,2\n")
    assert not is_image(tmp_path / "table.csv")


def test_no_face_images_written(workflow_dir):
    """No image anywhere in the work dir except the photos extracted from the sdist, the real
    faces extracted from the pinned packages (``resources/footage``) and the downloads: the
    workflow keeps face crops and the accuracy set's frames in memory only."""
    resources = workflow_dir / "resources"
    allowed = [resources / "faces", resources / "footage", resources / "downloads"]
    written = [
        p
        for p in workflow_dir.rglob("*")
        if p.is_file()
        and not p.is_symlink()
        and not any(p.is_relative_to(a) for a in allowed)
        and is_image(p)
    ]
    assert written == []


def test_ci_run_records_its_sources(workflow_dir):
    assert (workflow_dir / SOURCE_HASH_FILE).read_text().strip() == source_hash()


def test_reused_workdir_is_rebuilt_after_a_source_change(tmp_path):
    root = tmp_path / "repo"
    (root / "src" / "facebench").mkdir(parents=True)
    (root / "config").mkdir()
    module = root / "src" / "facebench" / "faces.py"
    module.write_text("MARGIN = 44\n")
    before = source_hash(root)
    work = tmp_path / "work"
    (work / "results").mkdir(parents=True)
    with pytest.raises(pytest.fail.Exception, match="not a test run's directory"):
        clear_if_stale(work, before)  # no record: not ours
    (work / SOURCE_HASH_FILE).write_text(before + "\n")
    clear_if_stale(work, before)
    assert (work / "results").is_dir()
    module.write_text("MARGIN = 0\n")  # a change in code the rule scripts only import
    (root / "config" / "ci.yaml").write_text("alignment: crop\n")  # and in a config
    after = source_hash(root)
    assert after != before
    (work / "results" / "stale.csv").write_text("")
    clear_if_stale(work, after)
    assert sorted(p.name for p in work.iterdir()) == [SOURCE_HASH_FILE]


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
    result = snakemake(tmp_path, user_table_config(tmp_path, table), "--dry-run", timeout_s=300)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert f"{table}: mine: file /nonexistent/clip.mp4 does not exist" in output, output[-2000:]


def test_a_missing_people_folder_is_one_line_naming_it(tmp_path):
    """Snakemake alone skips a job whose missing input it need not rebuild: the folder is
    checked when the config is read."""
    config = ci_config(tmp_path)
    settings = yaml.safe_load(config.read_text())
    settings["gallery"]["people_dirs"] = ["/nonexistent/people"]
    config.write_text(yaml.safe_dump(settings))
    result = snakemake(tmp_path, config, "--dry-run", timeout_s=300)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "gallery.people_dirs: /nonexistent/people: no such folder" in output, output[-2000:]


def test_runs_pair_is_empty_or_two_devices(tmp_path):
    """`runs.pair: []` (no pair: figures 12 and 14 say so) is valid; a single device is not."""
    config = ci_config(tmp_path)
    settings = yaml.safe_load(config.read_text())
    for pair, valid in (([], True), (["local"], False)):
        settings["runs"]["pair"] = pair
        config.write_text(yaml.safe_dump(settings, sort_keys=False))
        result = snakemake(tmp_path, config, "--dry-run", timeout_s=300)
        assert (result.returncode == 0) == valid, (pair, result.stderr[-2000:])
        if not valid:  # the schema's oneOf (none or two) names the value and its key
            output = result.stdout + result.stderr
            assert "['local'] is not valid under any of the given schemas" in output, output[-2000:]
            assert re.search(r"\bruns\W+pair\b", output), output[-2000:]
