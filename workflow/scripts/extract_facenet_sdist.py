"""Extract facenet_keras.h5 and the 5-celebrity photos from the verified sdist."""

from facebench.workflow import rule_logging

with rule_logging(snakemake):  # imports inside: library start-up chatter goes to the log too
    from pathlib import Path

    from facebench.models.fetch import extract_sdist

    n = extract_sdist(
        Path(snakemake.input.archive), Path(snakemake.output.h5), Path(snakemake.output.faces)
    )
    print(f"extracted {snakemake.output.h5} and {n} photos")
