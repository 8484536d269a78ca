"""facebench.config: layering, defaults and one-line errors naming the file and key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from conftest import REPO_ROOT

from facebench.config import load_config, merge
from facebench.errors import FacebenchError

DEFAULT = REPO_ROOT / "config" / "config.yaml"


def _overlay(tmp_path: Path, settings: dict | str, name: str = "overlay.yaml") -> Path:
    path = tmp_path / name
    path.write_text(settings if isinstance(settings, str) else yaml.safe_dump(settings))
    return path


def _error(*paths: Path) -> str:
    with pytest.raises(FacebenchError) as raised:
        load_config([DEFAULT, *paths])
    message = str(raised.value)
    assert "\n" not in message
    return message


def test_merge_mappings_deeply_and_replaces_lists():
    base = {"a": {"b": 1, "c": [1, 2]}, "d": 1}
    assert merge(base, {"a": {"c": [3]}, "e": 2}) == {"a": {"b": 1, "c": [3]}, "d": 1, "e": 2}
    assert base == {"a": {"b": 1, "c": [1, 2]}, "d": 1}  # copied, not changed


def test_defaults_are_filled_in():
    config = load_config([DEFAULT])
    assert config["dispatch"] == "local"
    assert config["runs"]["sampler_period_s"] == 0.010
    assert config["runs"]["devices"]["local"]["pyramid_resize"] == "each"
    assert config["fast"]["device"] == ""


def test_a_null_entry_removes_a_device_link_or_video(tmp_path):
    overlay = {
        "runs": {"devices": {"local-1thread": None}, "this_host": ["local"], "pair": []},
        "strategies": {"links": {"wifi": None}},
        "videos": {"generated": {"video2": None}},
    }
    config = load_config([DEFAULT, _overlay(tmp_path, overlay)])
    assert list(config["runs"]["devices"]) == ["local"]
    assert "wifi" not in config["strategies"]["links"] and "lan" in config["strategies"]["links"]
    assert list(config["videos"]["generated"]) == ["video1"]


def test_shipped_overlays_load():
    for name in ("ci.yaml", "paper.yaml", "fast.yaml", "dense.yaml"):
        load_config([DEFAULT, REPO_ROOT / "config" / name])


def test_yaml_syntax_error_names_file_and_line(tmp_path):
    path = _overlay(tmp_path, "runs:\n  repeats: [1\n")
    message = _error(path)
    assert message.startswith(f"{path}: line ") and "YAML syntax error" in message


def test_misspelt_top_level_key_names_file_and_key(tmp_path):
    path = _overlay(tmp_path, {"runz": {"repeats": 2}})
    assert _error(path).startswith(f"{path}: runz: Additional properties")


def test_schema_error_names_the_file_that_set_the_key(tmp_path):
    path = _overlay(tmp_path, {"runs": {"repeats": 0}})
    assert _error(path).startswith(f"{path}: runs.repeats: 0 is less than the minimum")


@pytest.mark.parametrize(
    ("overlay", "key"),
    [
        ({"runs": {"this_host": ["nowhere"]}}, "runs.this_host"),
        ({"this_host": ["nowhere"]}, "this_host"),
        ({"runs": {"pair": ["local", "nowhere"]}}, "runs.pair"),
        ({"runs": {"videos": ["nowhere"]}}, "runs.videos"),
        ({"strategies": {"video": "nowhere"}}, "strategies.video"),
        ({"serving": {"video": "nowhere"}}, "serving.video"),
        ({"fast": {"device": "nowhere"}}, "fast.device"),
        (
            {
                "fast": {
                    "device": "local",
                    "baseline": {"device": "local", "detector": "tflite", "recognizer": "onnx"},
                }
            },
            "fast.baseline",
        ),
        (
            {
                "fast": {
                    "device": "local",
                    "baseline": {"device": "local", "detector": "onnx", "recognizer": "tflite"},
                }
            },
            "fast.baseline",  # a pair config.yaml excludes
        ),
        ({"gallery": {"people_dirs": ["/nonexistent/people"]}}, "gallery.people_dirs"),
        ({"gallery": {"detector": "caffe"}}, "gallery.detector"),
    ],
)
def test_a_reference_to_nothing_is_one_line_naming_file_and_key(tmp_path, overlay, key):
    path = _overlay(tmp_path, overlay)
    assert _error(path).startswith(f"{path}: {key}: ")


def test_disabled_experiments_are_not_checked(tmp_path):
    overlay = {
        "strategies": {"enabled": False, "video": "nowhere"},
        "serving": {"enabled": False, "video": "nowhere"},
    }
    load_config([DEFAULT, _overlay(tmp_path, overlay)])
