"""The workflow configuration: YAML files layered in order, validated against the config schema
with its defaults filled in, and its cross references checked. One loader for the workflow
(which completes Snakemake's merged ``config`` in place) and the CLI.

Layering: mappings merge key by key, anything else (lists, scalars) replaces; a ``null`` entry
in a named map (``runs.devices.<name>``, ``strategies.links.<name>``,
``videos.generated.<name>``) removes that entry, e.g. ``runs: {devices: {local-1thread: null}}``.
"""

from __future__ import annotations

import copy
import csv
from collections.abc import Iterable, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from facebench.errors import FacebenchError

SCHEMA = Path(__file__).parent / "schemas" / "config.schema.yaml"
# Maps whose keys the user names: a null value removes the entry (see the module docstring).
NAMED_MAPS = (("runs", "devices"), ("strategies", "links"), ("videos", "generated"))

Config = dict[str, Any]
Layer = tuple[str, Config]  # (where it came from, its raw settings)


def read_layer(path: str | Path) -> Layer:
    """(path, the YAML mapping in ``path``); an error names the file (and line)."""
    try:
        text = Path(path).read_text()
    except OSError as error:
        raise FacebenchError(f"{path}: cannot read the config: {error.strerror}") from error
    try:
        settings = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        problem = getattr(error, "problem", None) or "not YAML"
        raise FacebenchError(f"{path}:{where} YAML syntax error: {problem}") from error
    if settings is None:
        return str(path), {}
    if not isinstance(settings, dict):
        raise FacebenchError(f"{path}: not a mapping of config keys")
    return str(path), settings


def merge(base: Config, overlay: Config) -> Config:
    """``overlay`` on a copy of ``base``: mappings merge, everything else replaces."""
    merged = copy.deepcopy(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def drop_removed(config: Config) -> None:
    """Remove, in place, the entries a layer set to null in a named map."""
    for section, key in NAMED_MAPS:
        named = (config.get(section) or {}).get(key)
        if isinstance(named, dict):
            for name in [name for name, value in named.items() if value is None]:
                del named[name]


@cache
def schema() -> Config:
    return yaml.safe_load(SCHEMA.read_text())


def _defaulting_validator():
    """Draft 2020-12 validator that fills in each property's ``default`` (as Snakemake's
    ``validate(..., set_default=True)``; defaults copied, the cached schema stays intact)."""
    import jsonschema

    base = jsonschema.Draft202012Validator
    check_properties = base.VALIDATORS["properties"]

    def properties(validator, props, instance, sub):
        if isinstance(instance, dict):
            for name, prop in props.items():
                if "default" in prop and name not in instance:
                    instance[name] = copy.deepcopy(prop["default"])
        yield from check_properties(validator, props, instance, sub)

    return jsonschema.validators.extend(base, {"properties": properties})(schema())


def _source(layers: Sequence[Layer], path: list) -> str:
    """The last layer that sets the deepest prefix of key ``path`` (the file to fix)."""
    best, depth = (layers[-1][0] if layers else "config"), -1
    for name, settings in layers:
        node, found = settings, 0
        for key in path:
            if not isinstance(node, dict) or key not in node:
                break
            node, found = node[key], found + 1
        if found >= depth:
            best, depth = name, found
    return best


def validate(config: Config, layers: Sequence[Layer] = ()) -> None:
    """Validate ``config`` in place, filling the schema's defaults; an error is one line naming
    the file (of ``layers``, the raw settings merged into it) and the key."""
    import jsonschema

    error = jsonschema.exceptions.best_match(_defaulting_validator().iter_errors(config))
    if error is None:
        return
    path = list(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = set(error.schema.get("properties", {}))
        path += sorted(key for key in error.instance if key not in allowed)[:1]
    key = ".".join(map(str, path)) or "top level"
    raise FacebenchError(f"{_source(layers, path)}: {key}: {error.message}")


def user_video_names(config: Config) -> list[str]:
    """The names in the user's video table (``videos.user_table``; none when unset)."""
    table = config["videos"].get("user_table")
    if not table:
        return []
    try:
        with open(table, newline="") as handle:
            return [row["name"] for row in csv.DictReader(handle, delimiter="\t")]
    except (OSError, KeyError) as error:
        raise FacebenchError(f"{table}: cannot read the video table's names: {error}") from error


def _unknown(key: str, names: Iterable[str], known: Iterable[str], what: str) -> list[str]:
    missing = [name for name in names if name not in set(known)]
    return [f"{key}: {missing} not among {what}"] if missing else []


def reference_errors(config: Config, videos: Sequence[str]) -> list[str]:
    """One line per key of the validated ``config`` that names nothing the configuration
    defines (a device, video, resolution, gallery, backend or folder); ``videos`` are its
    generated and user videos."""
    from facebench.backends.registry import unknown_backends

    runs, devices = config["runs"], config["runs"]["devices"]
    resolutions, galleries = config["videos"]["resolutions"], config["gallery"]["recognizers"]
    errors = unknown_backends(config)
    errors += _unknown(*this_host(config), devices, "runs.devices")
    errors += _unknown("runs.pair", runs["pair"], devices, "runs.devices")
    errors += _unknown(
        "runs.videos", runs["videos"] or [], config["videos"]["generated"], "videos.generated"
    )
    errors += [
        f"gallery.people_dirs: {folder}: no such folder"
        for folder in config["gallery"]["people_dirs"]
        if not Path(folder).is_dir()
    ]
    strategies = config["strategies"]
    if strategies.get("links") and strategies["enabled"] is not False:
        errors += _unknown("strategies.video", [strategies["video"]], videos, "the videos")
        errors += _unknown(
            "strategies.resolutions", strategies["resolutions"], resolutions, "videos.resolutions"
        )
        errors += _unknown(
            "strategies.recognizer", [strategies["recognizer"]], galleries, "gallery.recognizers"
        )
    if serving_enabled(config):
        serving = config["serving"]
        errors += _unknown("serving.video", [serving["video"]], videos, "the videos")
        errors += _unknown(
            "serving.resolution", [serving["resolution"]], resolutions, "videos.resolutions"
        )
        errors += _unknown(
            "serving.recognizers", serving["recognizers"], galleries, "gallery.recognizers"
        )
    fast = config["fast"]
    if fast["device"]:
        errors += _unknown("fast.device", [fast["device"]], devices, "runs.devices")
        base = fast["baseline"]
        spec = devices.get(base["device"], {"detectors": [], "recognizers": []})
        if (
            base["detector"] not in spec["detectors"]
            or base["recognizer"] not in spec["recognizers"]
            or [base["detector"], base["recognizer"]] in spec.get("exclude", [])
        ):
            errors.append(
                f"fast.baseline: {base['device']} {base['detector']}/{base['recognizer']} "
                "is not a configured run of runs.devices"
            )
    return errors


def this_host(config: Config) -> tuple[str, list[str]]:
    """(the key that sets them, the devices this host runs): top-level ``this_host`` (from
    ``--config 'this_host=[DEVICE]'``: Snakemake's --config takes no dotted keys) replaces
    ``runs.this_host``."""
    if config.get("this_host") is None:
        return "runs.this_host", config["runs"]["this_host"]
    return "this_host", config["this_host"]


def serving_enabled(config: Config) -> bool:
    serving = config["serving"]
    return bool(serving.get("enabled", True) and serving.get("recognizers"))


def complete(config: Config, layers: Sequence[Layer] = ()) -> Config:
    """Complete the merged ``config`` in place: null entries of named maps removed, validated
    with the schema's defaults filled, cross references checked. ``layers`` (the raw files in
    order) only let an error name the file to fix."""
    drop_removed(config)
    validate(config, layers)
    videos = [*config["videos"]["generated"], *user_video_names(config)]
    if errors := reference_errors(config, videos):
        raise FacebenchError(
            "; ".join(f"{_source(layers, e.split(':')[0].split('.'))}: {e}" for e in errors)
        )
    return config


def load_config(paths: Sequence[str | Path]) -> Config:
    """The configuration of ``paths`` layered in order (see the module docstring), complete."""
    layers = [read_layer(path) for path in paths]
    config: Config = {}
    for _, settings in layers:
        config = merge(config, settings)
    return complete(config, layers)
