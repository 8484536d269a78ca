"""Table 6, per resolution, accuracy, energy and paper-vs-ours tables as CSV."""

from facebench.workflow import rule_logging

with rule_logging(snakemake):  # imports inside: library start-up chatter goes to the log too
    from pathlib import Path

    from facebench.analysis.accuracy import read_enrolled
    from facebench.analysis.outputs import write_csv, write_html
    from facebench.analysis.resampling import Resampling
    from facebench.analysis.stages import Aggregate, build_tables

    built = build_tables(
        Aggregate.of_rule(snakemake),
        Path(snakemake.input.groundtruth[0]).parents[1],
        read_enrolled(Path(snakemake.input.gallery)),
        Path(snakemake.input.paper),
        Path(snakemake.input.paper_claims),
        Resampling.of(snakemake.params.statistics),
    )
    for name, table in built.items():
        print(f"{write_csv(table, Path(snakemake.output[name]))}: {len(table)} rows")
        write_html(table, Path(snakemake.output[f"{name}_html"]), name)
