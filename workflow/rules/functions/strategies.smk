def get_link_entry(wildcards):
    """The link's profile as configured (plain values: the rule reruns when they change)."""
    return STRATEGIES["links"][wildcards.link]


def get_strategy_models(wildcards):
    return [
        *backend_models("detector", STRATEGIES["detector"]),
        *backend_models("recognizer", STRATEGIES["recognizer"]),
    ]


def get_strategy_gallery(wildcards):
    return f"resources/gallery/{STRATEGIES['recognizer']}.npz"


def get_strategy_params(wildcards):
    return settings_params(STRATEGIES, config["alignment"])


def get_strategy_runs(wildcards):
    return plan.strategy_runs(config, STRATEGIES_REASON)


def get_strategy_groundtruth(wildcards):
    if not STRATEGIES.get("links"):
        return []
    return expand(
        "resources/videos/{video}/{res}.groundtruth.csv",
        video=STRATEGIES["video"],
        res=STRATEGIES["resolutions"],
    )


def strategy_figure_output(name):
    return report(
        f"results/strategies/{name}.svg",
        caption=f"../report/strategies/{name}.rst",
        category=STRATEGY_CATEGORY,
        labels={"figure": "extra", "subject": name.replace("_", " ")},
    )


def strategy_table_output(name):
    return report(
        f"results/strategies/{name}.html",
        caption=f"../report/strategies/{name}.rst",
        category=STRATEGY_CATEGORY,
        labels={"table": f"strategies {name}"},
    )
