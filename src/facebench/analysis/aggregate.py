"""Gather every run under ``results/runs`` into one frames table and one faces table.

A run lives in ``<runs_dir>/<device>/<detector>__<recognizer>/<video>_<res>/rep<r>/`` with
``frames.csv``, ``faces.csv`` and ``run.json``. The CSVs are parsed by pyarrow with the column
types of the project's schemas, concatenated once, and the run's configuration columns are added
as categoricals; warm-up frames (and their faces) are dropped. Given a ``rejected`` list, a run
that breaks its schemas (e.g. a truncated frames.csv copied from another host) is set aside with
one line naming the file, and the rest is aggregated.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import yaml

from facebench.analysis import outputs
from facebench.errors import FacebenchError
from facebench.schemas import SCHEMA_DIR, validate_document
from facebench.sensors.conditions import condition_columns
from facebench.videos import RESOLUTIONS
from facebench.videos.groundtruth import GROUNDTRUTH_DTYPES, groundtruth_csv

RUN_KEYS = ("device", "detector", "recognizer", "video", "resolution", "repeat")
CONFIG_COLUMNS = ("device", "device_class", *RUN_KEYS[1:])
RESOLUTION_ORDER = tuple(RESOLUTIONS)
RUN_GLOB = "*/*__*/*_*/rep*/run.json"
TRUTH_TYPES = {column: pa.type_for_alias(dtype) for column, dtype in GROUNDTRUTH_DTYPES.items()}
_ARROW_TYPES = {"integer": pa.int64(), "number": pa.float64(), "boolean": pa.bool_()}


@dataclass(frozen=True)
class Run:
    """One run directory, its configuration (from the path) and its run.json."""

    path: Path
    device: str
    device_class: str
    detector: str
    recognizer: str
    video: str
    resolution: str
    repeat: int
    meta: dict


@dataclass(frozen=True)
class Rejected:
    """A run left out of the aggregate: its directory and why (one line naming the file)."""

    path: Path
    reason: str


@dataclass(frozen=True)
class Columns:
    """A CSV's columns: arrow types, those the header must have, those never empty, the
    (minimum, maximum) of numeric ones and whether other columns are allowed."""

    types: dict[str, pa.DataType]
    required: frozenset[str]
    not_null: frozenset[str]
    bounds: dict[str, tuple[float | None, float | None]] = dataclasses.field(default_factory=dict)
    closed: bool = False


@cache
def schema_columns(name: str) -> Columns:
    """The columns of ``<name>.schema.yaml``: required ones must be present and, unless their
    type allows null, filled."""
    schema = yaml.safe_load((SCHEMA_DIR / f"{name}.schema.yaml").read_text())
    definitions = schema.get("definitions", {})
    types, nullable, bounds = {}, set(), {}
    for column, spec in schema["properties"].items():
        if "$ref" in spec:
            spec = definitions[spec["$ref"].rsplit("/", 1)[-1]]
        kinds = [spec["type"]] if isinstance(spec["type"], str) else spec["type"]
        if "null" in kinds:
            nullable.add(column)
        kinds = [k for k in kinds if k != "null"]
        types[column] = _ARROW_TYPES.get(kinds[0], pa.string())
        if "minimum" in spec or "maximum" in spec:
            bounds[column] = (spec.get("minimum"), spec.get("maximum"))
    required = frozenset(schema["required"])
    closed = schema.get("additionalProperties") is False
    return Columns(types, required, required - nullable, bounds, closed)


TRUTH_COLUMNS = Columns(TRUTH_TYPES, frozenset(TRUTH_TYPES), frozenset({"frame"}))


def resolution_order(values: Iterable[str]) -> list[str]:
    """The paper's resolutions in increasing size, then any others alphabetically."""
    present = set(values)
    known = [r for r in RESOLUTION_ORDER if r in present]
    return known + sorted(present - set(known))


def device_run_files(runs_dir: Path, devices: Iterable[str]) -> list[Path]:
    """``run.json`` of every complete run of ``devices`` under ``runs_dir``, sorted by path."""
    wanted = set(devices)
    return [path for path in sorted(Path(runs_dir).glob(RUN_GLOB)) if path.parts[-5] in wanted]


def read_runs(
    run_files: Iterable[Path],
    device_class: dict[str, str],
    rejected: list[Rejected] | None = None,
) -> list[Run]:
    """The runs whose ``run.json`` files are given
    (``<device>/<detector>__<recognizer>/<video>_<res>/rep<r>/run.json``). A bad run raises,
    or with ``rejected`` is appended there and left out; so is a second run with the same
    ``run_id`` (one run filed twice)."""
    runs, seen = [], {}
    for path in run_files:
        try:
            run = read_run(Path(path).parent, device_class)
            if (run_id := run.meta.get("run_id")) in seen:
                raise FacebenchError(
                    f"{path}: run_id {run_id} is the run already at {seen[run_id]}"
                )
        except FacebenchError as error:
            if rejected is None:
                raise
            rejected.append(Rejected(Path(path).parent, str(error)))
            continue
        if run.meta.get("run_id"):
            seen[run.meta["run_id"]] = run.path
        runs.append(run)
    return runs


def read_run(run_dir: Path, device_class: dict[str, str]) -> Run:
    """The run in ``run_dir``: its configuration from the path, checked against its run.json
    (which must fit the run schema)."""
    device, pair, inputs, rep = run_dir.parts[-4:]
    detector, _, recognizer = pair.partition("__")
    video, _, resolution = inputs.rpartition("_")
    if not (match := re.fullmatch(r"rep(\d+)", rep)):
        raise FacebenchError(f"{run_dir}: not a rep<r> directory")
    if device not in device_class:
        raise FacebenchError(f"{run_dir}: device {device!r} is not in the config's runs.devices")
    meta = read_json(run_dir / "run.json")
    config = meta.get("config")
    if not isinstance(config, dict):
        raise FacebenchError(f"{run_dir / 'run.json'}: no 'config' object")
    validate_document(meta, "run", str(run_dir / "run.json"))
    for key, value in (("device", device), ("detector", detector), ("recognizer", recognizer)):
        if config.get(key) != value:
            raise FacebenchError(
                f"{run_dir / 'run.json'}: config.{key} is {config.get(key)!r}, the path says "
                f"{value!r}"
            )
    return Run(
        run_dir,
        device,
        device_class[device],
        detector,
        recognizer,
        video,
        resolution,
        int(match.group(1)),
        meta,
    )


def read_json(path: Path) -> dict:
    """The JSON object in ``path``; an unreadable file or another JSON value is one line
    naming it."""
    try:
        meta = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise FacebenchError(f"{path}: {error}") from error
    if not isinstance(meta, dict):
        raise FacebenchError(f"{path}: not a JSON object")
    return meta


def read_csv_typed(path: Path, columns: Columns) -> pa.Table:
    """``path`` parsed with ``columns.types``; absent optional columns are null; a missing
    required column, an empty not-null value or a parse error is one line naming the file."""
    try:
        with open(path) as stream:
            header = stream.readline().strip().split(",")
        if missing := sorted(columns.required - set(header)):
            raise FacebenchError(f"{path}: missing column(s) {', '.join(missing)}")
        options = pacsv.ConvertOptions(
            column_types=columns.types,
            include_columns=list(columns.types),
            include_missing_columns=True,
            strings_can_be_null=True,
        )
        table = pacsv.read_csv(path, convert_options=options)
    except (OSError, pa.ArrowInvalid) as error:
        message = str(error).splitlines()[0]
        if match := re.match(r"In CSV column #(\d+)", message):  # name it, as the schema does
            index = int(match.group(1))
            name = header[index] if index < len(header) else "?"
            message = f"column {name}{message[match.end() :]}"
        raise FacebenchError(f"{path}: {message}") from error
    if columns.closed and (extra := sorted(set(header) - set(columns.types))):
        raise FacebenchError(f"{path}: unknown column(s) {', '.join(extra)}")
    for column in sorted(columns.not_null):
        if table[column].null_count:
            raise FacebenchError(f"{path}: empty value(s) in column {column}")
    for column, (low, high) in columns.bounds.items():
        if not table[column].length() - table[column].null_count:
            continue
        extremes = pc.min_max(table[column])
        if low is not None and extremes["min"].as_py() < low:
            raise FacebenchError(f"{path}: column {column} has a value below {low}")
        if high is not None and extremes["max"].as_py() > high:
            raise FacebenchError(f"{path}: column {column} has a value above {high}")
    return table


def _ends_in_newline(path: Path) -> bool:
    """Whether ``path`` ends in a newline, as every CSV a run writes does (empty: True)."""
    try:
        with open(path, "rb") as stream:
            if not stream.seek(0, 2):
                return True
            stream.seek(-1, 2)
            return stream.read(1) == b"\n"
    except OSError as error:
        raise FacebenchError(f"{path}: {error.strerror}") from error


def read_run_tables(run: Run) -> tuple[pa.Table, pa.Table]:
    """(frames, faces) of ``run``, checked against their schemas; a file cut short (no final
    newline, or fewer frames than run.json counts) is one line naming it."""
    for path in (run.path / "frames.csv", run.path / "faces.csv"):
        if not _ends_in_newline(path):
            raise FacebenchError(f"{path}: truncated (the last line has no end)")
    frames = read_csv_typed(run.path / "frames.csv", schema_columns("frames"))
    faces = read_csv_typed(run.path / "faces.csv", schema_columns("faces"))
    expected = run.meta["summary"]["frames"]
    if len(frames) != expected:
        raise FacebenchError(
            f"{run.path / 'frames.csv'}: {len(frames)} frames, run.json counts {expected} "
            "(truncated?)"
        )
    return frames, faces


def _concat(tables: list[pa.Table]) -> pd.DataFrame:
    """One DataFrame from same-schema tables; string columns become categoricals."""
    table = pa.concat_tables(tables)
    for index, field in enumerate(table.schema):
        if pa.types.is_string(field.type):
            table = table.set_column(index, field.name, pc.dictionary_encode(table[field.name]))
    return table.to_pandas()


def _config_columns(runs: list[Run], run_index: np.ndarray) -> pd.DataFrame:
    """The runs' configuration columns, one row per entry of ``run_index``."""
    columns = {}
    for name in CONFIG_COLUMNS:
        values = [getattr(run, name) for run in runs]
        if name == "repeat":
            columns[name] = np.asarray(values, np.int16)[run_index]
            continue
        order = resolution_order(values) if name == "resolution" else sorted(set(values))
        codes = pd.Categorical(values, categories=order).codes
        columns[name] = pd.Categorical.from_codes(codes[run_index], categories=order)
    return pd.DataFrame(columns)


def _with_config(data: pd.DataFrame, runs: list[Run], run_index: np.ndarray) -> pd.DataFrame:
    config = _config_columns(runs, run_index)
    return pd.concat([config, data.reset_index(drop=True)], axis=1)


def collect_runs(
    runs: list[Run], groundtruth_dir: Path | None = None, rejected: list[Rejected] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(frames, faces) of ``runs`` with their config columns, warm-up frames excluded.

    With ``groundtruth_dir`` (``resources/videos``), frames gain ``n_truth_faces`` and
    ``n_truth_detectable`` (NaN where the input has no ground truth for that frame). A run whose
    CSVs break their schemas raises, or with ``rejected`` is appended there and left out (take
    the kept runs with :func:`kept_runs`).
    """
    frame_tables, face_tables, kept = [], [], []
    for run in runs:
        try:
            frames_table, faces_table = read_run_tables(run)
        except FacebenchError as error:
            if rejected is None:
                raise
            rejected.append(Rejected(run.path, str(error)))
            continue
        frame_tables.append(frames_table)
        face_tables.append(faces_table)
        kept.append(run)
    if not kept:
        raise FacebenchError(
            "no run to aggregate" + (f": {len(rejected)} rejected" if rejected else "")
        )
    runs = kept
    frames_run = np.repeat(np.arange(len(runs)), [len(t) for t in frame_tables])
    faces_run = np.repeat(np.arange(len(runs)), [len(t) for t in face_tables])
    frames, faces = _concat(frame_tables), _concat(face_tables)
    frame_key = frames_run.astype(np.int64) << 32 | frames["frame"].to_numpy()
    warm = frames["is_warmup"].to_numpy()
    keep_faces = ~np.isin(
        faces_run.astype(np.int64) << 32 | faces["frame"].to_numpy(), frame_key[warm]
    )
    frames = _with_config(frames[~warm].drop(columns="is_warmup"), runs, frames_run[~warm])
    faces = _with_config(faces[keep_faces], runs, faces_run[keep_faces])
    if groundtruth_dir is not None:
        truth = load_groundtruth(groundtruth_dir, frames[["video", "resolution"]].drop_duplicates())
        frames = add_truth_counts(frames, truth)
    return frames, faces


def kept_runs(runs: list[Run], rejected: list[Rejected]) -> list[Run]:
    """``runs`` less those in ``rejected``."""
    out = {r.path for r in rejected}
    return [run for run in runs if run.path not in out]


def run_table(runs: list[Run]) -> pd.DataFrame:
    """One row per run: configuration, run id, host, settings, cold start, how each sensor
    measured (``sensor_<quantity>``: the method or ``not measured: <reason>``), warm-up frames
    flagged and the host's conditions (:func:`facebench.sensors.conditions.condition_columns`)."""
    rows = []
    for run in runs:
        meta, config = run.meta, run.meta["config"]
        cold = meta.get("cold_start", {})
        gpus = meta.get("gpus", "")
        row = {name: getattr(run, name) for name in CONFIG_COLUMNS}
        row.update(
            run_id=meta.get("run_id", ""),  # runs made before run ids existed have none
            host=meta.get("host", ""),
            os=meta.get("os", ""),
            cpu_model=meta.get("cpu_model", ""),
            gpu=gpus if isinstance(gpus, str) else ", ".join(g.get("name", "") for g in gpus),
            detector_threads=config.get("detector_threads"),
            recognizer_threads=config.get("recognizer_threads"),
            batching=config.get("batching", ""),
            alignment=config.get("alignment", ""),
            reader=config.get("reader", ""),
            warmup_frames=meta.get("warmup_frames"),
            video_fps=meta.get("video_fps"),
            model_load_s=cold.get("model_load_s"),
            first_frame_s=cold.get("first_frame_s"),
            git_commit=meta.get("git_commit", ""),
            busy_warning="; ".join(
                filter(None, (meta.get("busy_warning_at_start"), meta.get("busy_warning")))
            ),
            path=str(run.path),
        )
        row.update({f"sensor_{k}": v for k, v in meta.get("sensors", {}).items()})
        summary = meta["summary"]
        row.update(
            n_warmup_frames=summary["frames"] - summary["measured_frames"],
            **condition_columns(meta.get("conditions")),
        )
        rows.append(row)
    return pd.DataFrame(rows)


def load_groundtruth(groundtruth_dir: Path, inputs: pd.DataFrame) -> pd.DataFrame:
    """Ground-truth faces of each (video, resolution) row of ``inputs``.

    Reads ``<groundtruth_dir>/<video>/<res>.groundtruth.csv``; a missing or header-only file
    means no ground truth. A frame without faces keeps one row with null identity and box.
    """
    tables, keys = [], []
    for video, resolution in inputs[["video", "resolution"]].itertuples(index=False):
        path = groundtruth_csv(groundtruth_dir, str(video), str(resolution))
        if path.is_file():
            tables.append(read_csv_typed(path, TRUTH_COLUMNS))
            keys.append((str(video), str(resolution)))
    columns = ["video", "resolution", *TRUTH_TYPES]
    if not tables:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    index = np.repeat(np.arange(len(tables)), [len(t) for t in tables])
    truth = pa.concat_tables(tables).to_pandas()
    truth["video"] = pd.Categorical([keys[i][0] for i in index])
    truth["resolution"] = pd.Categorical([keys[i][1] for i in index])
    truth["detectable"] = truth["detectable"].fillna(False).astype(bool)
    return truth[columns]


def add_truth_counts(frames: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """``n_truth_faces`` and ``n_truth_detectable`` per frame (NaN where no ground truth)."""
    counts = (
        truth.assign(
            n_truth_faces=truth["identity"].notna(),
            n_truth_detectable=truth["identity"].notna() & truth["detectable"],
        )
        .astype({"video": str, "resolution": str})
        .groupby(["video", "resolution", "frame"])[["n_truth_faces", "n_truth_detectable"]]
        .sum()
        .astype(float)
    )
    index = pd.MultiIndex.from_arrays(
        [frames["video"].astype(str), frames["resolution"].astype(str), frames["frame"]]
    )
    found = counts.reindex(index)
    return frames.assign(
        n_truth_faces=found["n_truth_faces"].to_numpy(),
        n_truth_detectable=found["n_truth_detectable"].to_numpy(),
    )


def write_parquet(
    frames: pd.DataFrame, faces: pd.DataFrame, out_dir: Path, runs: pd.DataFrame | None = None
) -> list[Path]:
    """``frames.parquet``, ``faces.parquet`` (and ``runs.parquet``), each complete or absent."""
    tables = {"frames": frames, "faces": faces} | ({"runs": runs} if runs is not None else {})
    out_dir = Path(out_dir)
    return [outputs.write_parquet(t, out_dir / f"{name}.parquet") for name, t in tables.items()]
