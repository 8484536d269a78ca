"""Serving runs into points, capacity, batching and harness tables and three figures."""

from facebench.workflow import rule_logging

with rule_logging(snakemake):
    from pathlib import Path

    from facebench.analysis.accuracy import read_enrolled
    from facebench.analysis.serving.summary import write_serving_outputs
    from facebench.videos.groundtruth import read_truths

    truths = read_truths(snakemake.input.groundtruth)
    written = write_serving_outputs(
        [Path(run).parent for run in snakemake.input.runs],
        truths,
        read_enrolled(Path(snakemake.input.gallery)),
        snakemake.params.p99_bound_ms,
        Path(snakemake.input.paper),
        Path(snakemake.output.points).parent,
        snakemake.params.reason,
    )
    print("\n".join(map(str, written)))
