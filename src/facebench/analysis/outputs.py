"""The analysis's table writers: CSV for reading back, a self-contained HTML page for the
Snakemake report, each written whole or not at all."""

from __future__ import annotations

import html
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from facebench.fileio import atomic_path

HTML_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{title}</title><style>
body {{ font: 13px system-ui, sans-serif; margin: 1em; }}
table {{ border-collapse: collapse; }}
th, td {{ padding: 2px 8px; border-bottom: 1px solid #ddd; text-align: left; vertical-align: top; }}
th {{ position: sticky; top: 0; background: #f4f4f4; }}
</style></head><body><h3>{title}</h3>
{table}
</body></html>
"""


def write_csv(table: pd.DataFrame, path: Path) -> Path:
    """``table`` as CSV at ``path`` (atomically; 6 significant digits for floats)."""
    with atomic_path(Path(path)) as tmp:
        table.to_csv(tmp, index=False, float_format="%.6g")
    return Path(path)


def write_html(
    table: pd.DataFrame, path: Path, title: str, before: pd.DataFrame | None = None
) -> Path:
    """``table`` (after ``before``, a smaller table, if given) as a self-contained HTML page
    (no scripts, no external resources) for the Snakemake report, which shows HTML inline but
    offers a CSV only for download; a column with ``<column>_lo`` and ``<column>_hi`` shows as
    ``value [lo, hi]``."""
    body = "\n".join(
        _with_intervals_folded(t).to_html(
            index=False, na_rep="NaN", float_format=lambda v: f"{v:.4g}", border=0
        )
        for t in (before, table)
        if t is not None
    )
    page = HTML_PAGE.format(title=html.escape(title), table=body)
    with atomic_path(Path(path)) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return Path(path)


def _with_intervals_folded(table: pd.DataFrame) -> pd.DataFrame:
    """Each column with ``<column>_lo`` and ``<column>_hi`` as one text column ``value [lo, hi]``
    (4 significant digits), its bounds dropped."""
    folded = table.copy()
    for column in table.columns:
        lo, hi = f"{column}_lo", f"{column}_hi"
        if lo in table and hi in table:
            folded[column] = [
                f"{v:.4g} [{a:.4g}, {b:.4g}]"
                for v, a, b in zip(table[column], table[lo], table[hi], strict=True)
            ]
            folded = folded.drop(columns=[lo, hi])
    return folded


def write_parquet(table: pd.DataFrame, path: Path) -> Path:
    """``table`` as parquet at ``path`` (atomically, without the index)."""
    with atomic_path(Path(path)) as tmp:
        table.to_parquet(tmp, engine="pyarrow", index=False)
    return Path(path)


def write_tables(tables: Mapping[str, pd.DataFrame], out_dir: Path, title: str) -> list[Path]:
    """Each table as ``<name>.csv``, then each as ``<name>.html`` titled ``<title>: <name>``,
    in ``out_dir``."""
    out_dir = Path(out_dir)
    return [
        *(write_csv(table, out_dir / f"{name}.csv") for name, table in tables.items()),
        *(
            write_html(table, out_dir / f"{name}.html", f"{title}: {name}")
            for name, table in tables.items()
        ),
    ]
