"""Gallery enrolment, threshold choice and open-set identification."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import yaml

from facebench.backends.base import l2_normalize
from facebench.errors import FacebenchError
from facebench.recognition.gallery import UNKNOWN, Gallery
from facebench.recognition.thresholds import choose_threshold


def test_workflow_galleries_identify_val_photos(workflow_dir):
    configured = yaml.safe_load((workflow_dir / "config.yaml").read_text())["gallery"]
    galleries = sorted((workflow_dir / "resources" / "gallery").glob("*.npz"))
    assert {g.stem for g in galleries} == set(configured["recognizers"])
    for path in galleries:
        metadata = json.loads(path.with_suffix(".json").read_text())
        chosen = metadata["thresholds"][configured["threshold_method"]]
        print(f"{path.stem}: {metadata['thresholds']}")
        assert metadata["threshold_l2"] == chosen["threshold_l2"]
        target = metadata["thresholds"]["target_far"]
        assert target["lopo_far"] <= configured["target_far"]
        assert target["lopo_rank1"] >= 0.5  # strangers out, most enrolled people still in
        assert metadata["leave_one_person_out"]["folds"] == 5
        assert metadata["unknown_people"] == ["mindy_kaling"]
        assert "mindy_kaling" not in metadata["enrolled_people"]
        gallery = Gallery.load(path)
        assert "mindy_kaling" not in set(gallery.names)
        np.testing.assert_allclose(np.linalg.norm(gallery.embeddings, axis=1), 1, atol=1e-5)


def test_identify_rejects_faces_beyond_threshold():
    rng = np.random.default_rng(0)
    enrolled = l2_normalize(rng.standard_normal((3, 128)))
    gallery = Gallery(np.array(["a", "b", "c"]), enrolled, threshold_l2=0.5)
    near_b = l2_normalize(enrolled[1:2] + 0.01 * rng.standard_normal((1, 128)))
    stranger = l2_normalize(rng.standard_normal((1, 128)))
    names, distances = gallery.identify(np.concatenate([near_b, stranger]))
    assert list(names) == ["b", UNKNOWN]
    assert distances[0] < 0.5 < distances[1]
    assert gallery.identify(np.zeros((0, 128)))[0].shape == (0,)


def test_threshold_separates_known_from_unknown():
    distances = np.array([0.6, 0.7, 0.8, 1.3, 1.4])
    nearest = np.array(["a", "b", "a", "a", "b"])
    truth = np.array(["a", "b", "a", UNKNOWN, UNKNOWN])
    threshold, accuracy = choose_threshold(distances, nearest, truth)
    assert 0.8 < threshold < 1.3 and accuracy == 1.0


def test_gallery_round_trip_and_bad_file(tmp_path):
    gallery = Gallery(np.array(["a"]), l2_normalize(np.ones((1, 128))), 1.0, {"alignment": "crop"})
    gallery.save(tmp_path / "g.npz")
    loaded = Gallery.load(tmp_path / "g.npz")
    assert loaded.threshold_l2 == 1.0 and loaded.metadata["alignment"] == "crop"
    (tmp_path / "bad.npz").write_text("x")
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(FacebenchError, match=r"bad\.npz: not a facebench gallery"):
        Gallery.load(tmp_path / "bad.npz")


@pytest.mark.parametrize("damage", ["garbage", "truncated", "no_embeddings", "no_sidecar"])
def test_damaged_gallery_is_a_one_line_error_naming_the_file(tmp_path, damage):
    npz = tmp_path / "g.npz"
    Gallery(np.array(["a"]), l2_normalize(np.ones((1, 128))), 1.0).save(npz)
    bad = npz
    if damage == "garbage":
        npz.write_bytes(b"\x00garbage\xff" * 16)
    elif damage == "truncated":
        npz.write_bytes(npz.read_bytes()[:-40])
    elif damage == "no_embeddings":
        np.savez(npz, names=np.array(["a"]))
    else:
        bad = npz.with_suffix(".json")
        bad.unlink()
    with pytest.raises(
        FacebenchError, match=rf"^{re.escape(str(bad))}: not a facebench gallery"
    ) as error:
        Gallery.load(npz)
    assert "\n" not in str(error.value)
    if damage == "no_embeddings":
        assert "no array embeddings" in str(error.value)


@pytest.mark.parametrize(
    ("names", "embeddings", "shown"),
    [
        (["a", "b"], np.ones((3, 128)), r"names \(2,\), embeddings \(3, 128\)"),
        (["a"], np.ones((1, 512)), r"names \(1,\), embeddings \(1, 512\)"),
        ([["a"]], np.ones((1, 128)), r"names \(1, 1\), embeddings \(1, 128\)"),
    ],
)
def test_gallery_with_mismatched_arrays_is_an_error_naming_the_file(
    tmp_path, names, embeddings, shown
):
    npz = tmp_path / "g.npz"
    Gallery(np.array(["a"]), l2_normalize(np.ones((1, 128))), 1.0).save(npz)
    np.savez(npz, names=np.array(names), embeddings=embeddings)
    with pytest.raises(FacebenchError) as error:
        Gallery.load(npz)
    assert re.fullmatch(
        rf"{re.escape(str(npz))}: not a facebench gallery \({shown}: expected one 128-d "
        r"embedding per name\)",
        str(error.value),
    )


def test_gallery_of_another_recognizer_is_an_error_naming_both(tmp_path):
    npz = tmp_path / "onnx.npz"
    Gallery(np.array(["a"]), l2_normalize(np.ones((1, 128))), 1.0, {"recognizer": "onnx"}).save(npz)
    assert Gallery.load(npz, "onnx").metadata["recognizer"] == "onnx"
    assert Gallery.load(npz).metadata["recognizer"] == "onnx"  # no recognizer named: no check
    with pytest.raises(FacebenchError) as error:
        Gallery.load(npz, "tflite-int8")
    assert str(error.value).startswith(
        f"{npz}: gallery enrolled with recognizer onnx, not tflite-int8"
    )
    assert "\n" not in str(error.value)
