"""Record why no TensorRT engine is built on this host (no fake engine)."""

from facebench.workflow import rule_logging

with rule_logging(snakemake):  # imports inside: library start-up chatter goes to the log too
    from pathlib import Path

    from facebench.fileio import write_json

    write_json(
        Path(snakemake.output.note), {"status": "skipped", "reason": snakemake.params.reason}
    )
    print("TensorRT skipped:", snakemake.params.reason)
