from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


report: "reports/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/models.smk"
include: "workflow/rules/convert.smk"
include: "workflow/rules/parity.smk"
include: "workflow/rules/gallery.smk"
include: "workflow/rules/videos.smk"
include: "workflow/rules/runs.smk"
include: "workflow/rules/aggregate.smk"
include: "workflow/rules/analysis.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/notebook.smk"


rule all:
    default_target: True
    input:
        get_final_output(),
