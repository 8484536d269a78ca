from facebench.report_entries import table_category, table_labels


def get_configured_runs():
    """{device: run directories} of every configured device (those it cannot run too)."""
    matrices = {device: run_matrix(device) for device in RUNS["devices"]}
    return plan.configured_runs(config, matrices, VIDEOS)


def get_aggregate_runs(wildcards):
    """The runs of this host's devices, and those of other devices already under results/
    (copied from their hosts): every device's runs meet in the aggregate."""
    others = [d for d in RUNS["devices"] if d not in SCHEDULED]
    copied = map(str, device_run_files(RUNS_DIR, others))
    return [*(run for d in SCHEDULED for run in get_run_outputs(d)), *copied]


def table_output(name):
    """The report's copy of a table: HTML, shown inline (a CSV is only offered for download)."""
    return report(
        f"results/tables/{name}.html",
        caption=f"../report/tables/{name}.rst",
        category=table_category(name),
        labels=table_labels(name),
    )


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
