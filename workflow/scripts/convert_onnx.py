"""Keras -> ONNX (tf2onnx)."""

from facebench.workflow import rule_logging

with rule_logging(snakemake):  # imports inside: library start-up chatter goes to the log too
    from pathlib import Path

    from facebench.convert import to_onnx

    to_onnx(Path(snakemake.input.model), Path(snakemake.output.model), snakemake.params.opset)
