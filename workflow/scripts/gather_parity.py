"""One parity table over every backend; fails when a backend misses its threshold."""

from facebench.workflow import rule_logging

with rule_logging(snakemake):  # imports inside: library start-up chatter goes to the log too
    from pathlib import Path

    from facebench.harness.parity import gather_parity

    gather_parity(
        [Path(p) for p in snakemake.input.rows],
        snakemake.params.parity,
        Path(snakemake.output.table),
    )
