"""Check the reference FaceNet is the real model: val-vs-train identification and distances."""

from facebench.workflow import rule_logging

with rule_logging(snakemake):  # imports inside: library start-up chatter goes to the log too
    from pathlib import Path

    from facebench.errors import FacebenchError
    from facebench.fileio import write_json
    from facebench.harness.parity import Reference, facenet_quality

    quality = facenet_quality(Reference.load(Path(snakemake.input.reference)))
    quality["min_accuracy"] = snakemake.params.min_accuracy
    quality["alignment"] = snakemake.params.alignment
    for key, value in quality.items():
        print(f"{key}: {value}")
    if quality["nn_accuracy"] < snakemake.params.min_accuracy:
        raise FacebenchError(
            f"{snakemake.input.reference}: FaceNet nearest-neighbour accuracy "
            f"{quality['nn_accuracy']:.3f} < {snakemake.params.min_accuracy}"
        )
    write_json(Path(snakemake.output.quality), quality)
