rule tabulate:
    input:
        aggregate=rules.aggregate_runs.output,
        validity=VALIDITY_CSV,
        groundtruth=get_groundtruth,
        gallery=get_enrolled_gallery,
        paper=PAPER_DIR / "table6_reconstructed.csv",
        paper_claims=PAPER_DIR / "claims.yaml",
    output:
        **{name: f"results/tables/{name}.csv" for name in TABLES},
        **{f"{name}_html": table_output(name) for name in TABLES},
    log:
        "logs/analysis/tabulate.log",
    benchmark:
        "benchmarks/analysis/tabulate.tsv"
    localrule: True
    conda:
        "../envs/analysis.yaml"
    params:
        exclude_invalid=config["validity"]["exclude_invalid"],
        statistics=config["statistics"],
    script:
        "../scripts/tabulate.py"


rule check_claims:
    input:
        aggregate=rules.aggregate_runs.output,
        validity=VALIDITY_CSV,
        paper=PAPER_DIR / "table6_reconstructed.csv",
        paper_claims=PAPER_DIR / "claims.yaml",
    output:
        claims="results/claims.csv",
        claims_html=report(
            "results/claims.html",
            caption="../report/claims.rst",
            category="Paper vs ours",
            labels={"table": "claims"},
        ),
    log:
        "logs/analysis/check_claims.log",
    benchmark:
        "benchmarks/analysis/check_claims.tsv"
    localrule: True
    conda:
        "../envs/analysis.yaml"
    params:
        exclude_invalid=config["validity"]["exclude_invalid"],
        statistics=config["statistics"],
        generated_videos=list(GENERATED_VIDEOS),
    script:
        "../scripts/check_claims.py"
