"""Export a Keras model as a SavedModel for the TFLite converter."""

from facebench.workflow import rule_logging

with rule_logging(snakemake):  # imports inside: library start-up chatter goes to the log too
    from pathlib import Path

    from facebench.convert import export_savedmodel

    export_savedmodel(Path(snakemake.input.model), Path(snakemake.output.savedmodel))
