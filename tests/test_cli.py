"""The facebench command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
from conftest import REPO_ROOT

from facebench.backends.registry import DETECTORS, RECOGNIZERS, unavailable_reason
from facebench.harness.bench import run_bench

CLI = str(Path(sys.executable).parent / "facebench")


def test_backends_lists_every_backend_with_reasons():
    result = subprocess.run([CLI, "backends"], capture_output=True, text=True, check=True)
    lines = result.stdout.splitlines()
    assert len(lines) == len(DETECTORS) + len(RECOGNIZERS) == 14
    assert any(line.split()[:2] == ["recognizer", "onnx"] and "available" in line for line in lines)
    for line in lines:
        assert line.split()[2] in {"available", "not"}
        if "not available" in line:
            assert line.split("not available: ")[1].strip()
    rows = json.loads(
        subprocess.run(
            [CLI, "backends", "--json"], capture_output=True, text=True, check=True
        ).stdout
    )
    assert len(rows) == len(DETECTORS) + len(RECOGNIZERS)


def test_bench_reports_percentiles_and_baselines(models_dir, faces_dir, workflow_dir):
    result = run_bench(
        models_dir,
        faces_dir,
        threads=2,
        detectors=["onnx", "tensorrt"],
        recognizers=["onnx"],
        min_seconds=0.05,
        min_calls=3,
        videos_dir=workflow_dir / "resources" / "videos",
    )
    kinds = {(r["kind"], r["backend"], r["input"]) for r in result["rows"]}
    assert ("embed", "onnx", "batch8") in kinds and ("embed", "keras-predict", "batch1") in kinds
    assert ("detect", "onnx", "FHD") in kinds and ("detect", "mtcnn-package", "480") in kinds
    assert ("read", "opencv", "HD") in kinds and ("read", "pyav", "FHD") in kinds
    for row in result["rows"]:
        assert row["n_calls"] >= 3 and row["p50_ms"] <= row["p90_ms"] <= row["p99_ms"]
        assert row["init_s"] >= 0 and row["first_call_s"] > 0
    # TensorRT is either timed or skipped with the registry's reason, never silently dropped
    trt_reason = unavailable_reason(DETECTORS["tensorrt"])
    trt_rows = [r for r in result["rows"] if r["backend"] == "tensorrt"]
    if trt_reason is None:
        assert trt_rows and "detector:tensorrt" not in result["skipped"]
    else:
        assert result["skipped"] == {"detector:tensorrt": trt_reason} and not trt_rows
    assert set(result["targets"]) >= {
        "detector_speedup_vs_mtcnn_package",
        "recognizer_speedup_vs_keras_predict",
    }
    assert result["peak_rss_mb"] > 0


def test_cli_error_is_one_line(tmp_path):
    result = subprocess.run(
        [
            CLI,
            "bench",
            "--models-dir",
            str(tmp_path),
            "--faces-dir",
            str(tmp_path),
            "--no-baselines",
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if "error" in line]
    assert len(errors) == 1 and "Traceback" not in result.stderr
    assert errors[0].startswith("facebench: error: ") and str(tmp_path) in errors[0]


def test_analyse_without_snakemake(workflow_dir, tabulated_runs, tmp_path):
    """`facebench analyse` on the end-to-end run's tree gives the workflow's outputs, whose
    frame counts are those the kept runs recorded."""
    root = workflow_dir
    result = subprocess.run(
        [
            CLI,
            "analyse",
            "--config",
            str(root / "config.yaml"),
            "--runs",
            str(root / "results" / "runs"),
            "--videos",
            str(root / "resources" / "videos"),
            "--gallery",
            str(next((root / "resources" / "gallery").glob("*.json"))),
            "--paper-table6",
            str(REPO_ROOT / "resources" / "paper" / "table6_reconstructed.csv"),
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "figures" in result.stdout
    assert len(list((tmp_path / "figures").glob("*.svg"))) == 14
    ours = pd.read_csv(tmp_path / "tables" / "table6.csv")
    workflow = pd.read_csv(root / "results" / "tables" / "table6.csv")
    pd.testing.assert_frame_equal(ours, workflow)
    config = ["device", "detector", "recognizer"]
    measured = {}
    for run in tabulated_runs.itertuples():
        summary = json.loads((root / run.run / "run.json").read_text())["summary"]
        key = (run.device, run.detector, run.recognizer)
        measured[key] = measured.get(key, 0) + summary["measured_frames"]
    counted = ours[ours["n_frames"] > 0].set_index(config)["n_frames"]
    assert counted.to_dict() == measured


def test_analyse_bad_config_is_one_line(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("runs: {devices: {local: {}}}\n")
    result = subprocess.run(
        [CLI, "analyse", "--config", str(config)], capture_output=True, text=True
    )
    assert result.returncode == 1
    assert result.stderr.startswith(f"facebench: error: {config}: ")
    assert result.stderr.count("\n") == 1


def test_run_sampler_period_defaults_to_the_config_default():
    import yaml

    from facebench.cli import parser
    from facebench.harness.benchmark_run import RunConfig

    base = ["run", "--device", "d", "--detector", "onnx", "--recognizer", "onnx"]
    base += ["v.mp4", "--out", "o"]
    schema = yaml.safe_load((REPO_ROOT / "src/facebench/schemas/config.schema.yaml").read_text())
    default = schema["properties"]["runs"]["properties"]["sampler_period_s"]["default"]
    assert parser().parse_args(base).sampler_period_s == default == 0.010
    assert RunConfig.__dataclass_fields__["sampler_period_s"].default == default
    assert parser().parse_args([*base, "--sampler-period-s", "0.05"]).sampler_period_s == 0.05
    result = subprocess.run([CLI, *base, "--sampler-period-s", "0"], capture_output=True, text=True)
    assert result.returncode == 2 and "0 is not > 0" in result.stderr


def test_run_takes_the_recognizer_from_the_gallery(tmp_path, capsys):
    import numpy as np

    from facebench.cli import main
    from facebench.recognition.gallery import Gallery

    gallery = tmp_path / "g.npz"
    rows = np.eye(128)[:2]
    Gallery(np.array(["a", "b"]), rows, 1.0, {"recognizer": "tflite"}).save(gallery)
    video = tmp_path / "missing.mp4"
    assert main(["run", str(video), "--gallery", str(gallery), "--out", str(tmp_path / "o")]) == 1
    assert f"{video}: no such file" in capsys.readouterr().err  # got past the recognizer
    assert main(["run", str(video), "--out", str(tmp_path / "o")]) == 1
    assert "give --gallery or --recognizer" in capsys.readouterr().err


def test_enroll_then_run_with_track_identities(models_dir, faces_dir, workflow_dir, tmp_path):
    gallery = tmp_path / "people.npz"
    people = tmp_path / "people"
    people.mkdir()
    for person in ("ben_afflek", "elton_john", "jerry_seinfeld", "madonna"):
        (people / person).symlink_to(faces_dir / "train" / person, target_is_directory=True)
    enrolled = subprocess.run(
        [CLI, "enroll", str(people), "--out", str(gallery), "--models-dir", str(models_dir)],
        capture_output=True,
        text=True,
    )
    assert enrolled.returncode == 0, enrolled.stderr
    assert "4 people (ben_afflek, elton_john, jerry_seinfeld, madonna)" in enrolled.stdout
    metadata = json.loads(gallery.with_suffix(".json").read_text())
    assert metadata["recognizer"] == "onnx" and metadata["crop_margin"] == 0.4
    assert (tmp_path / "people_lopo.csv").is_file()
    video = workflow_dir / "resources" / "videos" / "video2" / "HD.mp4"
    out = tmp_path / "run"
    command = [CLI, "run", str(video), "--gallery", str(gallery), "--out", str(out)]
    ran = subprocess.run(
        [*command, "--models-dir", str(models_dir), "--warmup", "2"], capture_output=True, text=True
    )
    assert ran.returncode == 0, ran.stderr
    faces = pd.read_csv(out / "faces.csv")
    assert {"track_id", "track_identity", "track_settled"} <= set(faces.columns)
    assert ran.stdout.count("track ") == faces["track_id"].nunique() > 0
