"""ONNX -> OpenVINO IR."""

from pathlib import Path

from facebench.convert import to_openvino
from facebench.workflow import rule_logging

with rule_logging(snakemake):
    to_openvino(Path(snakemake.input.model), Path(snakemake.output.xml))
