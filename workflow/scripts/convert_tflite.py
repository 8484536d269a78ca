"""SavedModel -> TFLite (fp32 or dynamic-range int8)."""

from facebench.workflow import rule_logging

with rule_logging(snakemake):  # imports inside: library start-up chatter goes to the log too
    from pathlib import Path

    from facebench.convert import to_tflite

    to_tflite(
        Path(snakemake.input.savedmodel),
        Path(snakemake.output.model),
        snakemake.wildcards.precision,
    )
