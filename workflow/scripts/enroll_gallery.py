"""Enrol the photo set's and the user's people with one recognizer backend; choose the
threshold (leave-one-person-out for a target FAR, or max val accuracy) and save its curve."""

from facebench.workflow import rule_logging

with rule_logging(snakemake):  # imports inside: library start-up chatter goes to the log too
    from pathlib import Path

    from facebench.recognition.enrolment import Enrolment, enrol_gallery
    from facebench.recognition.photos import gallery_photos
    from facebench.recognition.strangers import bundled_strangers

    settings = snakemake.params.settings
    gallery = enrol_gallery(
        Path(snakemake.params.models_dir),
        snakemake.params.detector,
        snakemake.wildcards.recognizer,
        snakemake.threads,
        gallery_photos(
            Path(snakemake.input.faces) if settings["photo_set"] else None,
            [Path(p) for p in settings["people_dirs"]],
        ),
        Enrolment(
            tuple(settings["unknown"]),
            snakemake.params.alignment,
            settings["threshold_method"],
            settings["target_far"],
            settings["min_face_px"],
            snakemake.params.crop_margin,
        ),
        bundled_strangers() if settings["bundled_strangers"] else [],
        Path(snakemake.output.gallery),
    )
    for photo in gallery.metadata["left_out_photos"]:
        print(f"not enrolled: {photo['photo']}: {photo['reason']}")
    print(gallery.metadata)
