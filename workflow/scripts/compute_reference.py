"""Run the TensorFlow detector and FaceNet over the photos: the reference for parity."""

from facebench.workflow import rule_logging

with rule_logging(snakemake):  # imports inside: library start-up chatter goes to the log too
    from pathlib import Path

    from facebench.backends.registry import load_recognizer
    from facebench.harness.parity import compute_reference
    from facebench.recognition.detector import load_detector
    from facebench.recognition.photos import list_photos

    models_dir, threads = Path(snakemake.params.models_dir), snakemake.threads
    photos = list_photos(Path(snakemake.input.faces), snakemake.params.max_photos_per_person)
    print(f"reference over {len(photos)} photos, alignment={snakemake.params.alignment}")
    reference = compute_reference(
        load_detector("tf", models_dir, threads),
        load_recognizer("tf", models_dir, threads),
        photos,
        snakemake.params.alignment,
    )
    reference.save(Path(snakemake.output.reference))
    print(f"{int(reference.n_faces.sum())} faces in {len(photos)} photos")
