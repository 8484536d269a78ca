"""Enrol the photo set's and the user's people with one recognizer backend; choose the
threshold (leave-one-person-out for a target FAR, or max val accuracy) and save its curve."""

from facebench.workflow import rule_logging

with rule_logging(snakemake):  # imports inside: library start-up chatter goes to the log too
    from pathlib import Path

    from facebench.analysis.outputs import write_csv
    from facebench.backends.registry import load_recognizer
    from facebench.recognition.detector import load_detector
    from facebench.recognition.enrolment import Enrolment, build_gallery
    from facebench.recognition.photos import gallery_photos
    from facebench.recognition.strangers import bundled_strangers

    models_dir, threads = Path(snakemake.params.models_dir), snakemake.threads
    settings = snakemake.params.settings
    gallery, curve = build_gallery(
        load_detector(snakemake.params.detector, models_dir, threads),
        load_recognizer(snakemake.wildcards.recognizer, models_dir, threads),
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
        ),
        bundled_strangers() if settings["bundled_strangers"] else [],
    )
    for photo in gallery.metadata["left_out_photos"]:
        print(f"not enrolled: {photo['photo']}: {photo['reason']}")
    gallery.metadata.update(recognizer=snakemake.wildcards.recognizer)
    gallery.save(Path(snakemake.output.gallery))
    write_csv(curve, Path(snakemake.output.curve))
    print(gallery.metadata)
