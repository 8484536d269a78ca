rule execute_notebook:
    input:
        notebook=NOTEBOOK,
        aggregate=rules.aggregate_runs.output,
        tables=rules.tabulate.output,
        claims=rules.check_claims.output.claims,
    output:
        notebook=report(
            "results/notebooks/analysis.ipynb",
            caption="../../reports/captions/notebook.rst",
            category="Notebook",
        ),
    log:
        "logs/analysis/execute_notebook.log",
    conda:
        CONDA_ENV
    script:
        "../scripts/execute_notebook.py"
