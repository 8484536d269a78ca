include: "functions/serving.smk"


from facebench.report_entries import SERVING_CATEGORY, SERVING_FIGURES, SERVING_TABLES

SERVING = config["serving"]
SERVING_REASON = plan.serving_reason(config)
NOOP = plan.NOOP


# One recognition server under many paced cameras and a Poisson peak search, per recognizer x
# dynamic-batching setting (facebench.serving), on loopback; each run takes the `bench` slot.


wildcard_constraints:
    batch=r"\d+",
    delay=r"\d+(\.\d+)?",


rule run_serving:
    input:
        video=serving_video,
        gallery=get_serving_gallery,
        models=get_serving_models,
    output:
        requests="results/serving/runs/{model}/b{batch}_d{delay}/requests.parquet",
        faces="results/serving/runs/{model}/b{batch}_d{delay}/faces.parquet",
        points="results/serving/runs/{model}/b{batch}_d{delay}/points.json",
        run="results/serving/runs/{model}/b{batch}_d{delay}/run.json",
    log:
        "logs/serving/{model}/b{batch}_d{delay}.log",
    benchmark:
        "benchmarks/serving/{model}/b{batch}_d{delay}.tsv"
    localrule: True
    conda:
        "../envs/runtime.yaml"
    threads: workflow.cores
    resources:
        bench=1,
    params:
        models_dir=str(MODELS_DIR),
        settings=get_serving_params,
        video=SERVING.get("video"),
        resolution=SERVING.get("resolution"),
        noop=NOOP,
    script:
        "../scripts/run_serving.py"


rule aggregate_serving:
    input:
        runs=get_serving_runs,
        groundtruth=get_serving_groundtruth,
        gallery=get_enrolled_gallery,
        paper=PAPER_DIR / "table7_deepstream.csv",
    output:
        **{
            f"{name}_parquet": f"results/serving/{name}.parquet"
            for name in ("requests", "faces", "points")
        },
        **{name: f"results/serving/{name}.csv" for name in SERVING_TABLES},
        **{f"{name}_html": serving_output(name, "table") for name in SERVING_TABLES},
        **{name: serving_output(name, "figure") for name in SERVING_FIGURES},
    log:
        "logs/serving/aggregate.log",
    localrule: True
    conda:
        "../envs/analysis.yaml"
    params:
        p99_bound_ms=SERVING.get("p99_bound_ms", 500),
        reason=SERVING_REASON,
    script:
        "../scripts/aggregate_serving.py"
