"""Enrol the train photos with one recognizer backend; choose the threshold on val photos."""

from facebench.workflow import rule_logging

with rule_logging(snakemake):  # imports inside: library start-up chatter goes to the log too
    from pathlib import Path

    from facebench.backends.registry import load_detector, load_recognizer
    from facebench.gallery import build_gallery
    from facebench.photos import list_photos

    models_dir, threads = Path(snakemake.params.models_dir), snakemake.threads
    gallery, metadata = build_gallery(
        load_detector(snakemake.params.detector, models_dir, threads),
        load_recognizer(snakemake.wildcards.recognizer, models_dir, threads),
        list_photos(Path(snakemake.input.faces)),
        snakemake.params.unknown,
        snakemake.params.alignment,
    )
    gallery.metadata.update(recognizer=snakemake.wildcards.recognizer)
    gallery.save(Path(snakemake.output.gallery))
    print(metadata)
