"""Measure one emulated link (RTT, throughput, loss) before strategies run across it."""

from facebench.workflow import rule_logging

with rule_logging(snakemake):
    from pathlib import Path

    from facebench.strategies.linkcheck import check_link
    from facebench.strategies.links import LinkProfile

    profile = LinkProfile.from_config(snakemake.wildcards.link, snakemake.params.link)

    print(check_link(profile, Path(snakemake.output.link)))
