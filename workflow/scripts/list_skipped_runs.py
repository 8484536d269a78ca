"""The configurations a device cannot run, each with its reason."""

from facebench.workflow import rule_logging

with rule_logging(snakemake):
    from pathlib import Path

    import pandas as pd

    from facebench.fileio import atomic_path

    rows = [(d, r, reason) for d, r, reason in snakemake.params.matrix if reason]
    table = pd.DataFrame(rows, columns=["detector", "recognizer", "reason"])
    with atomic_path(Path(snakemake.output.skipped)) as tmp:
        table.to_csv(tmp, index=False)
    print(table.to_string(index=False))
