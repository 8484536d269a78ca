from facebench.report_entries import SERVING_CATEGORY, SERVING_FIGURES, SERVING_TABLES

SERVING = config["serving"]
SERVING_REASON = plan.serving_reason(config)
NOOP = plan.NOOP


def serving_video(wildcards=None):
    return f"resources/videos/{SERVING['video']}/{SERVING['resolution']}.mp4"


def get_serving_models(wildcards):
    """The detector (the hybrid edge half, prepared once) and the server's recognizer."""
    recognizer = [] if wildcards.model == NOOP else [wildcards.model]
    return [
        *backend_models("detector", SERVING["detector"]),
        *(m for r in recognizer for m in backend_models("recognizer", r)),
    ]


def get_serving_gallery(wildcards):
    """The gallery the server identifies with (the hybrid edge half needs one too)."""
    return f"resources/gallery/{plan.serving_recognizer(config, wildcards.model)}.npz"


def get_serving_params(wildcards):
    return plan.serving_params(config, wildcards.model)


def get_serving_runs(wildcards):
    return plan.serving_runs(config)


def get_serving_groundtruth(wildcards):
    if SERVING_REASON:
        return []
    return [
        f"resources/videos/{SERVING['video']}/{SERVING['resolution']}.groundtruth.csv"
    ]


def serving_output(name, kind):
    suffix = "svg" if kind == "figure" else "html"
    labels = {"figure": "extra", "subject": name.replace("_", " ")}
    return report(
        f"results/serving/{name}.{suffix}",
        caption=f"../report/serving/{name}.rst",
        category=SERVING_CATEGORY,
        labels=labels if kind == "figure" else {"table": f"serving {name}"},
    )


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
