"""ONNX -> TensorRT engine (only scheduled where TensorRT and a CUDA GPU exist)."""

from pathlib import Path

from facebench.convert import to_tensorrt
from facebench.workflow import rule_logging

with rule_logging(snakemake):
    to_tensorrt(
        Path(snakemake.input.model), Path(snakemake.output.engine), snakemake.wildcards.precision
    )
