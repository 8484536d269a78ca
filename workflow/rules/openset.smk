from facebench.report_entries import (
    OPENSET_CATEGORY,
    OPENSET_FIGURES,
    OPENSET_TABLES,
)


def openset_output(name, kind):
    """A report entry of the open-set analysis: a figure (SVG) or a table (HTML)."""
    stem = name.removesuffix("_figure")
    suffix = "svg" if kind == "figure" else "html"
    return report(
        f"results/openset/{stem}.{suffix}",
        caption=f"../report/openset/{name}.rst",
        category=OPENSET_CATEGORY,
        labels=(
            {"figure": "extra", "subject": stem.replace("_", " ")}
            if kind == "figure"
            else {"table": stem}
        ),
    )


def get_gallery_sidecars(wildcards):
    return expand(
        "resources/gallery/{recognizer}.json", recognizer=gallery_recognizers()
    )


def get_gallery_curves(wildcards):
    return expand(
        "resources/gallery/{recognizer}_lopo.csv", recognizer=gallery_recognizers()
    )


rule analyse_open_set:
    input:
        aggregate=rules.aggregate_runs.output,
        groundtruth=get_groundtruth,
        galleries=get_gallery_sidecars,
        curves=get_gallery_curves,
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
