"""Strategy runs into tables, winners per link, the measured Table 2 and three figures."""

from facebench.workflow import rule_logging

with rule_logging(snakemake):
    from pathlib import Path

    from facebench.analysis.accuracy import read_enrolled
    from facebench.analysis.strategies.summary import write_strategy_outputs
    from facebench.videos.groundtruth import read_truths

    truths = read_truths(snakemake.input.groundtruth)
    written = write_strategy_outputs(
        [Path(run).parent for run in snakemake.input.runs],
        truths,
        read_enrolled(Path(snakemake.input.gallery)),
        snakemake.params.strategies,
        Path(snakemake.output.summary).parent,
        Path(snakemake.output.strategies_latency).parent,
        snakemake.params.reason,
    )
    print("\n".join(map(str, written)))
