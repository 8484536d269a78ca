"""config/README.md, generated from the config schema's ``description:`` fields (with type,
default and allowed values), the shipped config files and the user video table's schema.

Usage: python -m facebench.configdoc [--root DIR] [--check]
(--check: exit 1 if config/README.md is out of date or a schema key lacks a description)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml

from facebench.config import drop_removed, merge, read_layer
from facebench.errors import FacebenchError

CONFIG_SCHEMA = Path("src/facebench/schemas/config.schema.yaml")
VIDEOS_SCHEMA = Path("workflow/schemas/videos.schema.yaml")
README = Path("config/README.md")
DEFAULT = "config/config.yaml"
SHIPPED = (DEFAULT, "config/ci.yaml", "config/paper.yaml")  # the last two on top of DEFAULT
OVERLAYS = ("config/fast.yaml", "config/dense.yaml")  # added on top of a shipped configuration
COMMAND = "python -m facebench.configdoc"
ANY_NAME = "<name>"  # the key of a mapping whose keys the user chooses (additionalProperties)

Schema = dict[str, Any]


def _code(value: Any) -> str:
    return f"`{json.dumps(value)}`"


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _type(schema: Schema) -> str:
    """The JSON type of ``schema`` in words: ``array of string``, ``integer or null``."""
    for combinator in ("oneOf", "anyOf"):
        if combinator in schema and "type" not in schema:
            return " or ".join(dict.fromkeys(_type(s) for s in schema[combinator]))
    kind = schema.get("type", "any")
    if isinstance(kind, list):
        return " or ".join(kind)
    if kind == "array" and isinstance(schema.get("items"), dict):
        return f"array of {_type(schema['items'])}"
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        return f"mapping: name -> {_type(schema['additionalProperties'])}"
    return kind


def _allowed(schema: Schema) -> str:
    """The constraints of ``schema`` in words: enum, bounds, pattern, item count."""
    parts = []
    if "enum" in schema:
        parts.append("one of " + ", ".join(_code(v) for v in schema["enum"]))
    for key, sign in (
        ("minimum", ">="),
        ("exclusiveMinimum", ">"),
        ("maximum", "<="),
        ("exclusiveMaximum", "<"),
    ):
        if key in schema:
            parts.append(f"{sign} {schema[key]}")
    if "pattern" in schema:
        parts.append(f"matches `{schema['pattern']}`")
    if "minLength" in schema:
        parts.append(f"at least {schema['minLength']} character(s)")
    low, high = schema.get("minItems"), schema.get("maxItems")
    if high == 0:
        parts.append("empty")
    elif low is not None and low == high:
        parts.append(f"exactly {low} items")
    elif low is not None or high is not None:
        parts.append(f"{low or 0} to {high if high is not None else 'any number of'} items")
    items = schema.get("items")
    if isinstance(items, dict) and (inner := _allowed(items)):
        parts.append(f"each item {inner}")
    values = schema.get("additionalProperties")
    if isinstance(values, dict) and "properties" not in values and (inner := _allowed(values)):
        parts.append(f"each value {inner}")
    for combinator in ("oneOf", "anyOf"):
        if combinator in schema:
            parts.append(" or ".join(_allowed(s) or _type(s) for s in schema[combinator]))
    return "; ".join(parts)


def _children(schema: Schema) -> list[tuple[str, Schema]]:
    """The named keys below ``schema`` (``<name>`` for a mapping of user-chosen keys)."""
    children = list(schema.get("properties", {}).items())
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict) and extra.get("type") == "object" and "properties" in extra:
        children += [(f"{ANY_NAME}.{key}", sub) for key, sub in extra["properties"].items()]
    return children


def key_rows(schema: Schema, prefix: str = "") -> list[tuple[str, Schema, bool]]:
    """(dotted key, its schema, required) for every key below ``schema``, depth first."""
    rows = []
    required = set(schema.get("required", []))
    extra = schema.get("additionalProperties")
    extra_required = set(extra.get("required", [])) if isinstance(extra, dict) else set()
    for key, sub in _children(schema):
        name = key.removeprefix(f"{ANY_NAME}.")
        is_required = name in (extra_required if key.startswith(ANY_NAME) else required)
        rows.append((f"{prefix}{key}", sub, is_required))
        rows += key_rows(sub, f"{prefix}{key}.")
    return rows


def missing_descriptions(schema: Schema) -> list[str]:
    """The dotted keys of ``schema`` without a ``description:``."""
    top = [(key, sub) for key, sub in schema.get("properties", {}).items()]
    keys = [(key, sub) for key, sub, _ in key_rows(schema)]
    return [key for key, sub in dict([*top, *keys]).items() if not sub.get("description")]


def _default(schema: Schema, required: bool) -> str:
    if "default" in schema:
        return _code(schema["default"])
    return "required" if required else ""


def _keys_section(schema: Schema) -> list[str]:
    lines = ["## Keys", ""]
    for section, sub in schema["properties"].items():
        lines += [f"### `{section}`", ""]
        rows = key_rows(sub)
        if rows:
            lines += [_cell(sub.get("description", "")), ""]
            prefix = f"{section}."
        else:  # a plain value (e.g. alignment)
            rows = [(section, sub, section in schema.get("required", []))]
            prefix = ""
        lines += ["| key | type | default | allowed | description |", "|---|---|---|---|---|"]
        for key, item, required in rows:
            lines.append(
                f"| `{prefix}{key}` | {_cell(_type(item))} | {_cell(_default(item, required))} "
                f"| {_cell(_allowed(item))} | {_cell(item.get('description', ''))} |"
            )
        lines.append("")
    return lines


def _header_comment(text: str) -> str:
    """The comment lines at the top of a YAML file, without the ``#``."""
    lines = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        lines.append(line.lstrip("#").strip())
    return " ".join(line for line in lines if "Every key is documented" not in line)


def _shipped_section(root: Path) -> list[str]:
    lines = [
        "## Shipped configurations",
        "",
        "`workflow/Snakefile` loads `config/config.yaml`; the others hold only what differs "
        "from it and are added on top of it: `--configfile config/ci.yaml` from the repo root "
        "(`--configfile config/config.yaml config/ci.yaml` elsewhere).",
        "",
    ]
    for name in SHIPPED:
        text = (root / name).read_text()
        config = read_layer(root / DEFAULT)[1]
        if name != DEFAULT:
            config = merge(config, read_layer(root / name)[1])
            drop_removed(config)
        runs, videos = config["runs"], config["videos"]
        devices = ", ".join(
            f"`{device}` ({spec['class']}: {len(spec['detectors'])} detector(s) x "
            f"{len(spec['recognizers'])} recognizer(s))"
            for device, spec in runs["devices"].items()
        )
        generated = ", ".join(
            f"`{video}` ({spec['fps']} FPS, {spec['duration_s']} s)"
            for video, spec in videos["generated"].items()
        )
        pair = " vs ".join(f"`{d}`" for d in runs.get("pair") or []) or "none"
        timed = ", ".join(f"`{v}`" for v in runs.get("videos") or []) or "every generated video"
        lines += [
            f"### `{name}`",
            "",
            _header_comment(text),
            "",
            f"- devices: {devices}",
            f"- this host runs: {', '.join(f'`{d}`' for d in runs.get('this_host', []))}",
            f"- pair of figures 12 and 14: {pair}",
            f"- generated videos: {generated}; resolutions: "
            + ", ".join(f"`{res}` {w}x{h}" for res, (w, h) in videos["resolutions"].items()),
            f"- timed runs: {timed}, {runs.get('repeats', 1)} repeats",
            "",
        ]
    lines += [
        "### Added on top",
        "",
        "These change a few keys of the configuration before them: "
        "`--configfile config/config.yaml config/fast.yaml`.",
        "",
    ]
    for name in OVERLAYS:
        text = (root / name).read_text()
        keys = ", ".join(f"`{key}`" for key in yaml.safe_load(text))
        lines += [f"- `{name}` (sets {keys}): {_header_comment(text)}", ""]
    return lines


def _video_table_section(schema: Schema) -> list[str]:
    required = set(schema.get("required", []))
    lines = [
        "## User video table",
        "",
        "`videos.user_table` names a tab-separated file with a header line and one video per "
        f"row (an empty cell is a missing value), each row validated against `{VIDEOS_SCHEMA}`. "
        "`config/videos.tsv` is an empty one.",
        "",
        "| column | type | required | allowed | description |",
        "|---|---|---|---|---|",
    ]
    for column, sub in schema["properties"].items():
        lines.append(
            f"| `{column}` | {_cell(_type(sub))} | {'yes' if column in required else 'no'} "
            f"| {_cell(_allowed(sub))} | {_cell(sub.get('description', ''))} |"
        )
    return [*lines, ""]


def _load(path: Path) -> Schema:
    try:
        return yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as error:
        raise FacebenchError(f"{path}: cannot read the schema: {error}") from error


def render(root: Path = Path(".")) -> str:
    """The text of config/README.md for the checkout at ``root``."""
    schema = _load(root / CONFIG_SCHEMA)
    if missing := missing_descriptions(schema):
        raise FacebenchError(f"{root / CONFIG_SCHEMA}: keys without a description: {missing}")
    lines = [
        "# Configuration",
        "",
        f"<!-- Generated by `{COMMAND}` from {CONFIG_SCHEMA}, {VIDEOS_SCHEMA} and the "
        "shipped config files: edit those, then rerun it. -->",
        "",
        f"The workflow validates its configuration against `{CONFIG_SCHEMA}` when it starts "
        "and fills in the defaults below. Threads, cores and resources are not configuration: "
        "they are in the profile, `workflow/profiles/default/profile.yaml`.",
        "",
        *_shipped_section(root),
        *_keys_section(schema),
        *_video_table_section(_load(root / VIDEOS_SCHEMA)),
    ]
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--root", type=Path, default=Path("."), help="the checkout (default: .)")
    args.add_argument("--check", action="store_true", help="only check it is current")
    options = args.parse_args(argv)
    try:
        text = render(options.root)
    except FacebenchError as error:
        print(f"configdoc: error: {error}", file=sys.stderr)
        return 1
    path = options.root / README
    if options.check:
        if not path.is_file() or path.read_text() != text:
            print(f"configdoc: error: {path} is out of date: run `{COMMAND}`", file=sys.stderr)
            return 1
        return 0
    path.write_text(text)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
