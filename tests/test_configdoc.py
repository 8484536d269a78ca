"""config/README.md is generated from the schemas and the shipped configs, and is current."""

from __future__ import annotations

import yaml
from conftest import REPO_ROOT

from facebench import configdoc


def test_every_config_key_has_a_description():
    schema = yaml.safe_load((REPO_ROOT / configdoc.CONFIG_SCHEMA).read_text())
    missing = configdoc.missing_descriptions(schema)
    assert missing == [], f"{configdoc.CONFIG_SCHEMA}: add a description: to {missing}"


def test_config_readme_is_current():
    current = (REPO_ROOT / configdoc.README).read_text()
    assert current == configdoc.render(REPO_ROOT), (
        f"{configdoc.README} is out of date: run `.venv/bin/{configdoc.COMMAND}`"
    )


def test_readme_names_every_key_and_video_column():
    text = configdoc.render(REPO_ROOT)
    schema = yaml.safe_load((REPO_ROOT / configdoc.CONFIG_SCHEMA).read_text())
    for section, sub in schema["properties"].items():
        keys = [f"{section}.{key}" for key, _, _ in configdoc.key_rows(sub)] or [section]
        for key in keys:
            assert f"| `{key}` |" in text, key
    for column in ("name", "path", "groundtruth"):
        assert f"| `{column}` |" in text
    for shipped in configdoc.SHIPPED:
        assert f"### `{shipped}`" in text


def test_missing_descriptions_found_at_every_depth():
    schema = {
        "properties": {
            "top": {
                "type": "object",
                "properties": {"plain": {"type": "integer"}},
            },
            "named": {
                "description": "user-chosen names",
                "type": "object",
                "additionalProperties": {
                    "type": "object",
                    "properties": {"inner": {"type": "string", "description": "ok"}, "bare": {}},
                },
            },
        }
    }
    assert configdoc.missing_descriptions(schema) == ["top", "top.plain", "named.<name>.bare"]


def test_allowed_values_in_words():
    pair = {"type": "array", "oneOf": [{"maxItems": 0}, {"minItems": 2, "maxItems": 2}]}
    assert configdoc._allowed(pair) == "empty or exactly 2 items"
    assert configdoc._type({"type": ["integer", "null"]}) == "integer or null"
    assert configdoc._allowed({"enum": ["a", "b"], "minimum": 1}) == 'one of `"a"`, `"b"`; >= 1'
