rule tabulate:
    input:
        aggregate=rules.aggregate_runs.output,
        groundtruth=get_groundtruth,
        gallery=get_enrolled_gallery,
        paper=PAPER_DIR / "table6_reconstructed.csv",
    output:
        **{name: table_output(name) for name in TABLES},
    log:
        "logs/analysis/tabulate.log",
    benchmark:
        "benchmarks/analysis/tabulate.tsv"
    conda:
        CONDA_ENV
    script:
        "../scripts/tabulate.py"


rule check_claims:
    input:
        aggregate=rules.aggregate_runs.output,
        paper=PAPER_DIR / "table6_reconstructed.csv",
    output:
        claims=report(
            "results/claims.csv",
            caption="../../reports/captions/claims.rst",
            category="Paper vs ours",
        ),
    log:
        "logs/analysis/check_claims.log",
    conda:
        CONDA_ENV
    script:
        "../scripts/check_claims.py"
