rule analyse_stability:
    input:
        aggregate=rules.aggregate_runs.output,
        groundtruth=get_groundtruth,
        gallery=get_enrolled_gallery,
    output:
        windows="results/stability/windows.csv",
        drift="results/stability/drift.csv",
        windows_html=report(
            "results/stability/windows.html",
            caption="../report/stability/windows.rst",
            category="Long-stream stability",
            labels={"table": "windows"},
        ),
        drift_html=report(
            "results/stability/drift.html",
            caption="../report/stability/drift.rst",
            category="Long-stream stability",
            labels={"table": "drift"},
        ),
        figure=report(
            "results/stability/stability.svg",
            caption="../report/stability/stability.rst",
            category="Long-stream stability",
            labels={"figure": "extra", "subject": "stability"},
        ),
    log:
        "logs/analysis/analyse_stability.log",
    benchmark:
        "benchmarks/analysis/analyse_stability.tsv"
    localrule: True
    conda:
        "../envs/analysis.yaml"
    params:
        stability=config["stability"],
    script:
        "../scripts/analyse_stability.py"
