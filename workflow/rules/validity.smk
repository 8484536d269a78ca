rule check_validity:
    input:
        aggregate=rules.aggregate_runs.output,
        parity=rules.gather_parity.output.table,
    output:
        validity=VALIDITY_CSV,
        validity_html=report(
            "results/validity.html",
            caption="../report/validity.rst",
            category="Tables",
            labels={"table": "run validity"},
        ),
    log:
        "logs/analysis/check_validity.log",
    localrule: True
    conda:
        "../envs/analysis.yaml"
    params:
        validity=config["validity"],
    script:
        "../scripts/check_validity.py"
