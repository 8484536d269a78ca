"""Keras -> ONNX (tf2onnx)."""

from pathlib import Path

from facebench.convert import to_onnx
from facebench.workflow import rule_logging

with rule_logging(snakemake):
    to_onnx(Path(snakemake.input.model), Path(snakemake.output.model), snakemake.params.opset)
