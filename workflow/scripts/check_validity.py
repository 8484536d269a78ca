"""Every run judged by the validity rules: results/validity.csv and its report page."""

from facebench.workflow import rule_logging

with rule_logging(snakemake):  # imports inside: library start-up chatter goes to the log too
    from pathlib import Path

    from facebench.analysis.stages import Aggregate, check_validity

    table = check_validity(
        Aggregate.read(Path(snakemake.input.aggregate[0]).parent),
        Path(snakemake.input.parity),
        snakemake.params.validity,
        Path(snakemake.output.validity),
        Path(snakemake.output.validity_html),
    )
    invalid = table[~table["valid"]]
    print(f"{len(invalid)} of {len(table)} runs invalid")
    for run, reasons in zip(invalid["run"], invalid["reasons"], strict=True):
        print(f"{run}: {reasons}")
