rule execute_notebook:
    input:
        notebook=NOTEBOOK,
        aggregate=rules.aggregate_runs.output,
        tables=rules.tabulate.output,
        claims=rules.check_claims.output.claims,
    output:
        notebook=report(
            "results/notebooks/analysis.ipynb",
            caption="../report/notebook.rst",
            category="Notebook",
            labels={"notebook": "analysis"},
        ),
    log:
        "logs/analysis/execute_notebook.log",
    localrule: True
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/execute_notebook.py"
