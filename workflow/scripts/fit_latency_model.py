"""Detection time against pixels and proposals, recognition time against faces: robust fits
per configuration, the FPS they predict per input beside the measured FPS, and a figure."""

from facebench.workflow import rule_logging

with rule_logging(snakemake):  # imports inside: library start-up chatter goes to the log too
    from pathlib import Path

    from facebench.analysis.latency_model import write_latency_model
    from facebench.analysis.stages import Aggregate

    paths = write_latency_model(
        Aggregate.of_rule(snakemake).frames,
        snakemake.params.resolutions,
        Path(snakemake.output.figure).parent,
    )
    if set(paths) != {Path(p) for p in snakemake.output}:
        raise RuntimeError(f"written {sorted(map(str, paths))}, expected {list(snakemake.output)}")
    print("\n".join(map(str, paths)))
