"""ONNX -> TensorRT engine (only scheduled where TensorRT and a CUDA GPU exist)."""

from facebench.workflow import rule_logging

with rule_logging(snakemake):  # imports inside: library start-up chatter goes to the log too
    from pathlib import Path

    from facebench.convert import to_tensorrt

    to_tensorrt(
        Path(snakemake.input.model), Path(snakemake.output.engine), snakemake.wildcards.precision
    )
