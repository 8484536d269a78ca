"""workflow/notebooks/analysis.ipynb executed with papermill on this run's data."""

from facebench.workflow import rule_logging

with rule_logging(snakemake):  # imports inside: library start-up chatter goes to the log too
    from pathlib import Path

    from facebench.analysis.notebook import execute_notebook

    execute_notebook(
        Path(snakemake.input.notebook),
        Path(snakemake.output.notebook),
        aggregate_dir=Path(snakemake.input.aggregate[0]).parent,
        tables_dir=Path(snakemake.input.tables[0]).parent,
        claims_csv=Path(snakemake.input.claims),
    )
