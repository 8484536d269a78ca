def get_configured_runs():
    """{device: run directories} of every configured device (those it cannot run too)."""
    matrices = {device: run_matrix(device) for device in RUNS["devices"]}
    return plan.configured_runs(config, matrices, VIDEOS)


def get_aggregate_runs(wildcards):
    """The runs of this host's devices, and those of other devices already under results/
    (copied from their hosts): every device's runs meet in the aggregate."""
    others = [d for d in RUNS["devices"] if d not in SCHEDULED]
    copied = map(str, device_run_files(RUNS_DIR, others))
    return [*(run for d in SCHEDULED for run in get_run_outputs(d)), *copied]


def table_output(name):
    """The report's copy of a table: HTML, shown inline (a CSV is only offered for download)."""
    return report(
        f"results/tables/{name}.html",
        caption=f"../report/tables/{name}.rst",
        category=table_category(name),
        labels=table_labels(name),
    )
