include: "functions/aggregate.smk"


from facebench.report_entries import table_category, table_labels


rule aggregate_runs:
    input:
        runs=get_aggregate_runs,
        groundtruth=get_groundtruth,
    output:
        frames="results/aggregate/frames.parquet",
        faces="results/aggregate/faces.parquet",
        runs="results/aggregate/runs.parquet",
        rejected="results/aggregate/rejected.csv",
    log:
        "logs/analysis/aggregate_runs.log",
    benchmark:
        "benchmarks/analysis/aggregate_runs.tsv"
    localrule: True
    conda:
        "../envs/analysis.yaml"
    params:
        device_class=DEVICE_CLASS,
    script:
        "../scripts/aggregate_runs.py"


rule list_missing_runs:
    input:
        runs=rules.aggregate_runs.output.runs,
        rejected=rules.aggregate_runs.output.rejected,
        skipped=expand("results/runs/{device}/skipped.csv", device=SCHEDULED),
    output:
        missing="results/missing.csv",
        missing_html=table_output("missing"),
    log:
        "logs/analysis/list_missing_runs.log",
    localrule: True
    conda:
        "../envs/analysis.yaml"
    params:
        configured=get_configured_runs(),
        excluded=plan.excluded_pairs(config),
        logs_dir="logs/runs",
    script:
        "../scripts/list_missing_runs.py"
