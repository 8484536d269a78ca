"""Export a Keras model as a SavedModel for the TFLite converter."""

from pathlib import Path

from facebench.convert import export_savedmodel
from facebench.workflow import rule_logging

with rule_logging(snakemake):
    export_savedmodel(Path(snakemake.input.model), Path(snakemake.output.savedmodel))
