"""Every run of every device into results/aggregate/*.parquet (warm-up frames excluded)."""

from facebench.workflow import rule_logging

with rule_logging(snakemake):  # imports inside: library start-up chatter goes to the log too
    from pathlib import Path

    from facebench.analysis.stages import aggregate

    paths = aggregate(
        [Path(p) for p in snakemake.input.runs],
        snakemake.params.device_class,
        Path(snakemake.input.groundtruth[0]).parents[1],
        Path(snakemake.output.frames).parent,
    )
    print(f"aggregated {len(snakemake.input.runs)} runs into {[str(p) for p in paths]}")
