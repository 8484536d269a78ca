include: "functions/openset.smk"


from facebench.report_entries import (
    OPENSET_CATEGORY,
    OPENSET_FIGURES,
    OPENSET_TABLES,
)


rule analyse_open_set:
    input:
        aggregate=rules.aggregate_runs.output,
        groundtruth=get_groundtruth,
        galleries=get_gallery_sidecars,
        curves=get_gallery_curves,
        video_threshold=get_video_threshold,
    output:
        **{name: f"results/openset/{name}.csv" for name in OPENSET_TABLES},
        **{f"{name}_html": openset_output(name, "table") for name in OPENSET_TABLES},
        **{name: openset_output(name, "figure") for name in OPENSET_FIGURES},
    log:
        "logs/analysis/analyse_open_set.log",
    benchmark:
        "benchmarks/analysis/analyse_open_set.tsv"
    localrule: True
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/analyse_open_set.py"
