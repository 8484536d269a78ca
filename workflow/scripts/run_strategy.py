"""One strategy across one emulated link (resource bench=1: never beside another benchmark)."""

from facebench.workflow import rule_logging

with rule_logging(snakemake):
    import json
    from pathlib import Path

    from facebench.strategies.experiment import run_strategy
    from facebench.strategies.links import LinkProfile
    from facebench.strategies.settings import StrategySettings

    profile = LinkProfile.from_config(snakemake.wildcards.link, snakemake.params.link)

    w, settings = snakemake.wildcards, snakemake.params.settings
    meta = run_strategy(
        w.strategy,
        profile,
        json.loads(Path(snakemake.input.link).read_text()),
        Path(snakemake.input.video),
        w.video,
        w.res,
        StrategySettings(
            models_dir=Path(snakemake.params.models_dir),
            gallery=Path(snakemake.input.gallery),
            **settings,
        ),
        Path(snakemake.output.run).parent,
    )
    print(meta["frames"])
