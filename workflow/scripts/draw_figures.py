"""Figures 7-16 of the paper and the extras, as SVG."""

from facebench.workflow import rule_logging

with rule_logging(snakemake):  # imports inside: library start-up chatter goes to the log too
    from pathlib import Path

    from facebench.analysis.stages import Aggregate, draw_figures

    paths = draw_figures(
        Aggregate.of_rule(snakemake),
        Path(snakemake.output[0]).parent,
        Path(snakemake.input.accuracy),
        Path(snakemake.input.comparison),
        snakemake.params.pair,
    )
    if set(paths) != {Path(p) for p in snakemake.output}:
        raise RuntimeError(f"drawn {sorted(map(str, paths))}, expected {list(snakemake.output)}")
    print("\n".join(map(str, paths)))
