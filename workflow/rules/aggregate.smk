rule aggregate_runs:
    input:
        runs=get_aggregate_runs,
        groundtruth=get_groundtruth,
    output:
        frames="results/aggregate/frames.parquet",
        faces="results/aggregate/faces.parquet",
        runs="results/aggregate/runs.parquet",
    log:
        "logs/analysis/aggregate_runs.log",
    benchmark:
        "benchmarks/analysis/aggregate_runs.tsv"
    conda:
        "../envs/analysis.yaml"
    params:
        device_class=DEVICE_CLASS,
    script:
        "../scripts/aggregate_runs.py"
