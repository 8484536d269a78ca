"""One parity table over every backend; fails when a backend misses its threshold."""

from pathlib import Path

from facebench.parity import gather_parity
from facebench.workflow import rule_logging

with rule_logging(snakemake):
    gather_parity(
        [Path(p) for p in snakemake.input.rows],
        snakemake.params.parity,
        Path(snakemake.output.table),
    )
