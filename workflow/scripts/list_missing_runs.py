"""results/missing.csv: every configured run of every device without a result in the aggregate,
with the reason (skipped, failed, rejected or not run yet)."""

from facebench.workflow import rule_logging

with rule_logging(snakemake):
    from pathlib import Path

    import pandas as pd

    from facebench.analysis.missing import missing_runs
    from facebench.analysis.outputs import write_csv, write_html

    missing = missing_runs(
        snakemake.params.configured,
        pd.read_parquet(snakemake.input.runs, columns=["path"])["path"],
        pd.read_csv(snakemake.input.rejected, dtype=str, keep_default_na=False),
        snakemake.params.logs_dir,
        snakemake.params.excluded,
    )
    write_csv(missing, Path(snakemake.output.missing))
    write_html(missing, Path(snakemake.output.missing_html), "missing runs")
    print(f"{len(missing)} configured runs without a result")
    print(missing.groupby("reason").size().to_string() if len(missing) else "none missing")
