"""Render a generated test video (the master, videos.master_size) and its ground truth from val
photos."""

from facebench.workflow import rule_logging

with rule_logging(snakemake):  # imports inside: library start-up chatter goes to the log too
    from pathlib import Path

    from facebench.recognition.detector import load_detector
    from facebench.recognition.photos import list_photos
    from facebench.videos.generate import render_master, sprites_from_photos

    spec = snakemake.params.spec
    width, height = snakemake.params.size
    photos = [p for p in list_photos(Path(snakemake.input.faces)) if p.split == "val"]
    detector = load_detector(
        snakemake.params.detector, Path(snakemake.params.models_dir), snakemake.threads
    )
    groundtruth = render_master(
        sprites_from_photos(photos, detector),
        Path(snakemake.output.video),
        Path(snakemake.output.groundtruth),
        fps=spec["fps"],
        duration_s=spec["duration_s"],
        seed=spec["seed"],
        width=width,
        height=height,
        quality_crf=snakemake.params.crf,
        face_counts=tuple(spec.get("face_counts", (0, snakemake.params.max_faces))),
        face_height_px=tuple(float(px) for px in snakemake.params.face_height_px),
        min_detectable_px=snakemake.params.min_detectable_px,
    )
    print(f"{groundtruth.frame.nunique()} frames, {(groundtruth.identity != '').sum()} faces")
