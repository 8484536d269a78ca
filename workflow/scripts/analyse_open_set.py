"""Rank-1, FRR and FAR of the runs per threshold and minimum face size, the galleries'
thresholds, distance distributions and four figures."""

from facebench.workflow import rule_logging

with rule_logging(snakemake):
    from pathlib import Path

    from facebench.analysis.openset.summary import write_openset_outputs

    written = write_openset_outputs(
        Path(snakemake.input.aggregate[0]).parent,
        Path(snakemake.input.groundtruth[0]).parents[1],
        [Path(p) for p in snakemake.input.galleries],
        Path(snakemake.output.openset).parent,
        Path(snakemake.input.video_threshold[0]) if snakemake.input.video_threshold else None,
    )
    print("\n".join(map(str, written)))
