"""One benchmark run (resource bench=1: never two at once on a host)."""

from facebench.workflow import rule_logging

with rule_logging(snakemake):  # imports inside: library start-up chatter goes to the log too
    from pathlib import Path

    from facebench.backends.registry import availability
    from facebench.devices import pair_error, pair_reason
    from facebench.errors import FacebenchError
    from facebench.harness.benchmark_run import RunConfig, run_benchmark

    w, run = snakemake.wildcards, snakemake.params.run  # run: this run's settings only
    # a remote device's pairs are scheduled before its probe: check here, as the probe does
    here = {"backends": availability()}
    if reason := pair_reason(here, w.detector, w.recognizer):
        raise FacebenchError(pair_error(w.device, w.detector, w.recognizer, reason))
    config = RunConfig(
        device=w.device,
        detector=w.detector,
        recognizer=w.recognizer,
        video=Path(snakemake.input.video),
        models_dir=Path(snakemake.params.models_dir),
        gallery=Path(snakemake.params.gallery),
        warmup_frames=run["warmup_frames"],
        detector_threads=run["detector_threads"] or snakemake.threads,
        recognizer_threads=run["recognizer_threads"] or snakemake.threads,
        batching=run["batching"],
        pyramid_resize=run["pyramid_resize"],
        alignment=snakemake.params.alignment,
        reader=run["reader"],
        sampler_period_s=run["sampler_period_s"],
    )
    summary = run_benchmark(config, Path(snakemake.output.run).parent)
    print(summary)
