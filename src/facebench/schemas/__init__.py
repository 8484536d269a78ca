"""JSON Schemas of the run outputs (frames.csv and faces.csv rows, run.json) and of the paper's
claims (resources/paper/claims.yaml), and validators."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import jsonschema
import numpy as np
import pandas as pd
import yaml

from facebench.errors import FacebenchError

SCHEMA_DIR = Path(__file__).parent


@cache
def _validator(name: str) -> jsonschema.Draft202012Validator:
    schema = yaml.safe_load((SCHEMA_DIR / f"{name}.schema.yaml").read_text())
    return jsonschema.Draft202012Validator(schema)


def validate_document(document: object, name: str, source: str) -> None:
    """Raise naming ``source`` and the offending key path unless ``document`` fits schema
    ``name``."""
    if error := jsonschema.exceptions.best_match(_validator(name).iter_errors(document)):
        where = "/".join(str(p) for p in error.absolute_path)
        raise FacebenchError(f"{source}: {where or 'top level'}: {error.message}")


def validate_records(records: list[dict], name: str, source: str) -> None:
    """Raise naming ``source`` at the first record that breaks schema ``name``."""
    validator = _validator(name)
    for index, record in enumerate(records):
        if error := jsonschema.exceptions.best_match(validator.iter_errors(record)):
            where = "/".join(str(p) for p in error.absolute_path)
            raise FacebenchError(f"{source}: row {index} {where}: {error.message}")


def validate_table(table: pd.DataFrame, name: str, source: str) -> None:
    """Every row of ``table`` against schema ``name`` (NaN as null, numpy types as Python)."""
    clean = table.astype(object).where(table.notna(), None)
    records = [
        {k: v.item() if isinstance(v, np.generic) else v for k, v in row.items()}
        for row in clean.to_dict(orient="records")
    ]
    validate_records(records, name, source)
