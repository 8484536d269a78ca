"""The experiments' run directories (strategies, serving) read into typed tables by one reader:
each directory's run.json read and keyed, a run filed twice refused, the tables of every run
joined with their run's key columns in front and typed even when there is no run, every error
one line naming the file."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from facebench.analysis.aggregate import Columns, read_json
from facebench.errors import FacebenchError


@dataclass(frozen=True)
class RunDir:
    """One run directory: its path, its run.json and its key (the columns naming the run)."""

    path: Path
    meta: dict
    key: dict[str, Any]


def read_run_dirs(
    paths: Iterable[Path],
    key_of: Callable[[dict, Path], dict[str, Any]],
    unique: Sequence[str],
    what: str,
) -> list[RunDir]:
    """Each directory's run.json and key (``key_of(meta, path of run.json)``, which raises on a
    bad run.json); a second run with the same ``unique`` key columns is one line naming both
    ("the same ``what`` as")."""
    runs: list[RunDir] = []
    seen: dict[tuple, Path] = {}
    for path in map(Path, paths):
        meta = read_json(path / "run.json")
        key = key_of(meta, path / "run.json")
        if (values := tuple(key[k] for k in unique)) in seen:
            raise FacebenchError(f"{path / 'run.json'}: the same {what} as {seen[values]}")
        seen[values] = path
        runs.append(RunDir(path, meta, key))
    return runs


def read_parquet_typed(path: Path, columns: Columns) -> pa.Table:
    """``path`` cast to ``columns.types`` (absent optional columns null); a missing required
    column, a value of the wrong type or an empty not-null one is one line naming the file."""
    try:
        table = pq.read_table(path)
        if missing := sorted(columns.required - set(table.column_names)):
            raise FacebenchError(f"{path}: missing column(s) {', '.join(missing)}")
        table = pa.table(
            {
                name: table[name].cast(kind)
                if name in table.column_names
                else pa.nulls(len(table), kind)
                for name, kind in columns.types.items()
            }
        )
    except (OSError, pa.ArrowException) as error:
        raise FacebenchError(f"{path}: {str(error).splitlines()[0]}") from error
    if empty := sorted(c for c in columns.not_null if table[c].null_count):
        raise FacebenchError(f"{path}: empty value(s) in column(s) {', '.join(empty)}")
    return table


def keyed_frame(
    runs: Sequence[RunDir],
    tables: Sequence[pa.Table],
    key_types: Mapping[str, pa.DataType],
    types: Mapping[str, pa.DataType],
) -> pd.DataFrame:
    """``tables`` (one per run of ``runs``, of ``types``) as one DataFrame, each row after its
    run's key columns (``key_types``); typed even when there are none."""
    keyed = []
    for run, table in zip(runs, tables, strict=True):
        for i, (name, kind) in enumerate(key_types.items()):
            column = pa.repeat(pa.scalar(run.key[name], kind), len(table))
            table = table.add_column(i, name, column)
        keyed.append(table)
    empty = pa.schema({**key_types, **types}).empty_table()
    return pa.concat_tables([empty, *keyed]).to_pandas()


def typed(table: pd.DataFrame, types: Mapping[str, object]) -> pd.DataFrame:
    """``table``'s columns of ``types``, in that order and of those types (text: "" if empty)."""
    table = table.reindex(columns=list(types))
    text = [c for c, kind in types.items() if kind is str]
    table[text] = table[text].astype(object).fillna("")
    return table.astype(dict(types))
