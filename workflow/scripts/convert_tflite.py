"""SavedModel -> TFLite (fp32 or dynamic-range int8)."""

from pathlib import Path

from facebench.convert import to_tflite
from facebench.workflow import rule_logging

with rule_logging(snakemake):
    to_tflite(
        Path(snakemake.input.savedmodel),
        Path(snakemake.output.model),
        snakemake.wildcards.precision,
    )
