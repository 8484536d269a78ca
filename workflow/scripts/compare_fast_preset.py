"""The fast preset against the baseline: speed, detection and identification, boxes."""

from facebench.workflow import rule_logging

with rule_logging(snakemake):  # imports inside: library start-up chatter goes to the log too
    from pathlib import Path

    from facebench.analysis.accuracy import read_enrolled
    from facebench.analysis.fast.summary import write_fast_comparison
    from facebench.analysis.stages import Aggregate

    paths = write_fast_comparison(
        Aggregate.of_rule(snakemake),
        Path(snakemake.input.groundtruth[0]).parents[1],
        read_enrolled(Path(snakemake.input.gallery)),
        snakemake.params.fast,
        Path(snakemake.input.paper),
        Path(snakemake.output.comparison).parent,
    )
    print("\n".join(map(str, paths)))
