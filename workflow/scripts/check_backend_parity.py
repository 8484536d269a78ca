"""Compare one detector or recognizer backend with the TensorFlow reference."""

from facebench.workflow import rule_logging

with rule_logging(snakemake):  # imports inside: library start-up chatter goes to the log too
    from pathlib import Path

    from facebench.harness.parity import backend_parity

    backend_parity(
        role=snakemake.wildcards.role,
        backend=snakemake.wildcards.backend,
        reference=Path(snakemake.input.reference),
        faces_dir=Path(snakemake.input.faces),
        models_dir=Path(snakemake.params.models_dir),
        threads=snakemake.threads,
        alignment=snakemake.params.alignment,
        max_photos_per_person=snakemake.params.max_photos_per_person,
        out=Path(snakemake.output.row),
    )
