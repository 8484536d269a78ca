"""Recall, identification accuracy and p50 frame time per window of video time, and a drift
flag per run (first vs last window)."""

from facebench.workflow import rule_logging

with rule_logging(snakemake):
    from pathlib import Path

    from facebench.analysis.stability import Stability, write_stability

    written = write_stability(
        Path(snakemake.input.aggregate[0]).parent,
        Path(snakemake.input.groundtruth[0]).parents[1],
        Path(snakemake.input.gallery),
        Stability(**snakemake.params.stability),
        Path(snakemake.output.drift).parent,
    )
    print("\n".join(map(str, written)))
