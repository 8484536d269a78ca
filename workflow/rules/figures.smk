include: "functions/figures.smk"


from facebench.report_entries import figure_labels


rule draw_figures:
    input:
        aggregate=rules.aggregate_runs.output,
        validity=VALIDITY_CSV,
        accuracy=rules.tabulate.output.accuracy,
        comparison=rules.tabulate.output.paper_vs_ours,
    output:
        **{name: figure_output(name) for name in FIGURE_CATEGORY},
    log:
        "logs/analysis/draw_figures.log",
    benchmark:
        "benchmarks/analysis/draw_figures.tsv"
    localrule: True
    conda:
        "../envs/analysis.yaml"
    params:
        pair=RUNS["pair"],
        exclude_invalid=config["validity"]["exclude_invalid"],
    script:
        "../scripts/draw_figures.py"
