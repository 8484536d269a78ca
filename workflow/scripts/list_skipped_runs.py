"""The configurations a device cannot run, each with its reason."""

from facebench.workflow import rule_logging

with rule_logging(snakemake):
    from pathlib import Path

    import pandas as pd

    from facebench.devices import pair_reason, read_capabilities
    from facebench.fileio import atomic_path

    matrix = snakemake.params.matrix
    if probed := snakemake.input.get("capabilities"):  # a device probed where it runs
        capabilities = read_capabilities(Path(probed))
        matrix = [(d, r, reason or pair_reason(capabilities, d, r)) for d, r, reason in matrix]
    rows = [(d, r, reason) for d, r, reason in matrix if reason]
    table = pd.DataFrame(rows, columns=["detector", "recognizer", "reason"])
    with atomic_path(Path(snakemake.output.skipped)) as tmp:
        table.to_csv(tmp, index=False)
    print(table.to_string(index=False))
