# Where the time goes: its files are under results/content, not results/figures or
# results/tables, whose files the end-to-end tests list exactly.
CONTENT_CATEGORY = "Where the time goes"


rule fit_latency_model:
    input:
        aggregate=rules.aggregate_runs.output,
        validity=VALIDITY_CSV,
    output:
        latency_model="results/content/latency_model.csv",
        latency_model_fps="results/content/latency_model_fps.csv",
        latency_model_html=report(
            "results/content/latency_model.html",
            caption="../report/tables/latency_model.rst",
            category=CONTENT_CATEGORY,
            labels={"table": "latency model"},
        ),
        latency_model_fps_html=report(
            "results/content/latency_model_fps.html",
            caption="../report/tables/latency_model_fps.rst",
            category=CONTENT_CATEGORY,
            labels={"table": "latency model fps"},
        ),
        figure=report(
            "results/content/latency_model.svg",
            caption="../report/figures/latency_model.rst",
            category=CONTENT_CATEGORY,
            labels={"figure": "extra", "subject": "latency model"},
        ),
    log:
        "logs/analysis/fit_latency_model.log",
    benchmark:
        "benchmarks/analysis/fit_latency_model.tsv"
    localrule: True
    conda:
        "../envs/analysis.yaml"
    params:
        resolutions=RESOLUTIONS,
        exclude_invalid=config["validity"]["exclude_invalid"],
    script:
        "../scripts/fit_latency_model.py"
