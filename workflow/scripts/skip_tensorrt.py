"""Record why no TensorRT engine is built on this host (no fake engine)."""

from pathlib import Path

from facebench.fileio import write_json
from facebench.workflow import rule_logging

with rule_logging(snakemake):
    write_json(
        Path(snakemake.output.note), {"status": "skipped", "reason": snakemake.params.reason}
    )
    print("TensorRT skipped:", snakemake.params.reason)
