"""Every run of every device into results/aggregate/*.parquet (warm-up frames excluded); runs
that break their schemas are left out and listed in results/aggregate/rejected.csv."""

from facebench.workflow import rule_logging

with rule_logging(snakemake):  # imports inside: library start-up chatter goes to the log too
    from pathlib import Path

    from facebench.analysis.stages import aggregate

    paths, rejected = aggregate(
        [Path(p) for p in snakemake.input.runs],
        snakemake.params.device_class,
        Path(snakemake.input.groundtruth[0]).parents[1],
        Path(snakemake.output.frames).parent,
    )
    kept = len(snakemake.input.runs) - len(rejected)
    print(f"aggregated {kept} runs into {[str(p) for p in paths]}, rejected {len(rejected)}")
