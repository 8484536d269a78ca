"""One benchmark run (resource bench=1: never two at once on a host)."""

from facebench.workflow import rule_logging

with rule_logging(snakemake):  # imports inside: library start-up chatter goes to the log too
    from pathlib import Path

    from facebench.run import RunConfig, run_benchmark

    runs, w, threads = snakemake.params.runs, snakemake.wildcards, snakemake.params.threads
    config = RunConfig(
        device=w.device,
        detector=w.detector,
        recognizer=w.recognizer,
        video=Path(snakemake.input.video),
        models_dir=Path(snakemake.params.models_dir),
        gallery=Path(snakemake.input.gallery),
        warmup_frames=runs["warmup_frames"],
        detector_threads=threads[w.detector] or snakemake.threads,
        recognizer_threads=threads[w.recognizer] or snakemake.threads,
        batching=runs["batching"],
        alignment=snakemake.params.alignment,
        reader=runs["reader"],
    )
    summary = run_benchmark(config, Path(snakemake.output.run).parent)
    print(summary)
