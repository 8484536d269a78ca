"""Rebuild the Keras 2.1 FaceNet as a Keras 3 model (the TensorFlow reference)."""

from facebench.workflow import rule_logging

with rule_logging(snakemake):  # imports inside: library start-up chatter goes to the log too
    from pathlib import Path

    from facebench.fileio import atomic_path
    from facebench.models.facenet_keras import rebuild_facenet

    model, assigned = rebuild_facenet(Path(snakemake.input.h5))
    print(f"assigned {assigned} weight tensors, {model.count_params()} parameters")
    with atomic_path(Path(snakemake.output.model)) as tmp:
        model.save(tmp)
