"""One server configuration under the camera sweep and the peak search (bench=1)."""

from facebench.workflow import rule_logging

with rule_logging(snakemake):
    from pathlib import Path

    from facebench.serving.experiment import ServingSettings, run_serving

    w, settings = snakemake.wildcards, dict(snakemake.params.settings)
    noop = w.model == snakemake.params.noop
    meta = run_serving(
        ServingSettings(
            models_dir=Path(snakemake.params.models_dir),
            gallery=Path(snakemake.input.gallery),
            cameras=tuple(settings.pop("cameras")),
            **settings,
        ),
        Path(snakemake.input.video),
        snakemake.params.video,
        snakemake.params.resolution,
        int(w.batch),
        float(w.delay),
        Path(snakemake.output.run).parent,
        noop=noop,
    )
    for point in meta["points"]["points"]:
        print(point)
