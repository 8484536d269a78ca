"""ONNX -> OpenVINO IR."""

from facebench.workflow import rule_logging

with rule_logging(snakemake):  # imports inside: library start-up chatter goes to the log too
    from pathlib import Path

    from facebench.convert import to_openvino

    to_openvino(Path(snakemake.input.model), Path(snakemake.output.xml))
