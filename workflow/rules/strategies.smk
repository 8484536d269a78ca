include: "functions/strategies.smk"


from facebench.report_entries import (
    STRATEGY_CATEGORY,
    STRATEGY_FIGURES,
    STRATEGY_TABLES,
)
from facebench.strategies.links import link_profiles, network_emulation_reason
from facebench.strategies.settings import settings_params

STRATEGIES = config["strategies"]
STRATEGIES_REASON = plan.strategies_reason(
    config, lambda links: network_emulation_reason(link_profiles(links).values())
)


# Cloud vs edge vs hybrid over emulated links (facebench.strategies): each link is measured
# once, then each strategy runs across it; both are local jobs (they build network namespaces
# on the host that runs Snakemake) and take the host's one `bench` slot.


wildcard_constraints:
    strategy="cloud|edge|hybrid",


rule check_link:
    output:
        link="results/strategies/links/{link}.json",
    log:
        "logs/strategies/links/{link}.log",
    localrule: True
    conda:
        "../envs/runtime.yaml"
    resources:
        bench=1,
    params:
        link=get_link_entry,
    script:
        "../scripts/check_link.py"


rule run_strategy:
    input:
        video="resources/videos/{video}/{res}.mp4",
        gallery=get_strategy_gallery,
        models=get_strategy_models,
        link="results/strategies/links/{link}.json",
    output:
        frames="results/strategies/runs/{strategy}/{link}/{video}_{res}/frames.csv",
        faces="results/strategies/runs/{strategy}/{link}/{video}_{res}/faces.csv",
        run="results/strategies/runs/{strategy}/{link}/{video}_{res}/run.json",
    log:
        "logs/strategies/runs/{strategy}/{link}/{video}_{res}.log",
    benchmark:
        "benchmarks/strategies/{strategy}/{link}/{video}_{res}.tsv"
    localrule: True
    conda:
        "../envs/runtime.yaml"
    threads: workflow.cores
    resources:
        bench=1,
    params:
        link=get_link_entry,
        models_dir=str(MODELS_DIR),
        settings=get_strategy_params,
    script:
        "../scripts/run_strategy.py"


rule aggregate_strategies:
    input:
        runs=get_strategy_runs,
        groundtruth=get_strategy_groundtruth,
        gallery=get_enrolled_gallery,
    output:
        **{
            name: f"results/strategies/{name}.parquet"
            for name in ("frames", "faces", "runs")
        },
        **{f"{name}_html": strategy_table_output(name) for name in STRATEGY_TABLES},
        **{name: strategy_figure_output(name) for name in STRATEGY_FIGURES},
        summary="results/strategies/summary.csv",
        winners="results/strategies/winners.csv",
        table2="results/strategies/table2.csv",
    log:
        "logs/strategies/aggregate.log",
    localrule: True
    conda:
        "../envs/analysis.yaml"
    params:
        strategies=STRATEGIES,
        reason=STRATEGIES_REASON,
    script:
        "../scripts/aggregate_strategies.py"
