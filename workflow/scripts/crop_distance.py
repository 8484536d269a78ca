"""Each ground-truth video face's distance to its own person's photos against its height,
cropped with the paper's 44 px margin and with the configured margin in proportion."""

from facebench.workflow import rule_logging

with rule_logging(snakemake):  # imports inside: library start-up chatter goes to the log too
    import json
    from pathlib import Path

    import pandas as pd

    from facebench.analysis.openset.crop_distance import before_and_after, draw, truth_distances
    from facebench.analysis.outputs import write_csv
    from facebench.backends.registry import load_recognizer
    from facebench.recognition.detector import load_detector
    from facebench.recognition.photos import list_photos

    models_dir, threads = Path(snakemake.params.models_dir), snakemake.threads
    videos = {
        (video, res): (Path(path), pd.read_csv(truth))
        for (video, res), path, truth in zip(
            snakemake.params.inputs,
            snakemake.input.videos,
            snakemake.input.groundtruth,
            strict=True,
        )
    }
    distances = truth_distances(
        load_detector(snakemake.params.detector, models_dir, threads),
        load_recognizer(snakemake.params.recognizer, models_dir, threads),
        [p for p in list_photos(Path(snakemake.input.faces)) if p.split == "val"],
        videos,
        before_and_after(snakemake.params.crop_margin),
    )
    write_csv(distances, Path(snakemake.output.csv))
    draw(
        distances,
        Path(snakemake.output.svg),
        json.loads(Path(snakemake.input.gallery).read_text())["threshold_l2"],
    )
    print(distances.groupby(["crop", "resolution"])["distance"].describe())
