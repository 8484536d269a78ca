# The fast preset against the default pipeline on the same inputs (config/fast.yaml):
# `snakemake fast --configfile config/fast.yaml` makes only this comparison and what it needs.
from facebench.report_entries import FAST_CATEGORY

FAST = config["fast"]
# made where this invocation runs both the preset's device and the baseline's
FAST_OUTPUTS = (
    expand("results/fast/comparison.{ext}", ext=("csv", "html", "svg"))
    if plan.fast_compared(config)
    else []
)


rule compare_fast_preset:
    input:
        aggregate=rules.aggregate_runs.output,
        validity=VALIDITY_CSV,
        groundtruth=get_groundtruth,
        gallery=get_enrolled_gallery,
        paper=PAPER_DIR / "table6_reconstructed.csv",
    output:
        comparison="results/fast/comparison.csv",
        comparison_html=report(
            "results/fast/comparison.html",
            caption="../report/fast/comparison.rst",
            category=FAST_CATEGORY,
            labels={"table": "fast vs default"},
        ),
        figure=report(
            "results/fast/comparison.svg",
            caption="../report/fast/comparison_figure.rst",
            category=FAST_CATEGORY,
            labels={"figure": "extra", "subject": "fast vs default"},
        ),
    log:
        "logs/analysis/compare_fast_preset.log",
    benchmark:
        "benchmarks/analysis/compare_fast_preset.tsv"
    localrule: True
    conda:
        "../envs/analysis.yaml"
    params:
        fast=FAST,
        exclude_invalid=config["validity"]["exclude_invalid"],
    script:
        "../scripts/compare_fast_preset.py"


rule fast:
    input:
        FAST_OUTPUTS,
    localrule: True
