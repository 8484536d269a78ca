include: "functions/runs.smk"


import re

# Per-job resources from the device's reach (None or 0: unset; only the device's executor reads
# them): the SLURM plugin's slurm_partition, slurm_account, constraint, gpu, gres, runtime
# (minutes; 0 = unset, Snakemake takes no None here) and mem_mb (MB; 0: the partition's
# default), and ssh_host for workflow/profiles/ssh-generic.
DEVICE_RESOURCES = {
    "slurm_partition": slurm_resource("partition"),
    "slurm_account": slurm_resource("account"),
    "constraint": slurm_resource("constraint"),
    "gpu": slurm_resource("gpu"),
    "gres": slurm_resource("gres"),
    "runtime": lambda w: plan.slurm_setting(device_spec(w), "runtime_min") or 0,
    "mem_mb": lambda w: plan.slurm_setting(device_spec(w), "mem_mb") or 0,
    "ssh_host": lambda w: plan.ssh_host(device_spec(w)),
}
DEVICES_HERE = "|".join(map(re.escape, HERE)) or "(?!)"  # this host's, as a constraint
# A measurement's: its node to itself (sbatch --exclusive) and the `bench` slot here.
MEASUREMENT_RESOURCES = {
    **DEVICE_RESOURCES,
    "bench": lambda w: plan.bench_slot(config, w.device),
    "slurm_extra": lambda w: plan.slurm_extra(device_spec(w), exclusive=True),
}
PROBE_RESOURCES = {
    **DEVICE_RESOURCES,
    "slurm_extra": lambda w: plan.slurm_extra(device_spec(w), exclusive=False),
}


rule run_inference:
    input:
        video="resources/videos/{video}/{res}.mp4",
        gallery=get_run_gallery,
        detector=get_run_detector_models,
        models=get_run_recognizer_models,
        capabilities=get_device_probe,
    output:
        frames="results/runs/{device}/{detector}__{recognizer}/{video}_{res}/rep{repeat}/frames.csv",
        faces="results/runs/{device}/{detector}__{recognizer}/{video}_{res}/rep{repeat}/faces.csv",
        run="results/runs/{device}/{detector}__{recognizer}/{video}_{res}/rep{repeat}/run.json",
    log:
        "logs/runs/{device}/{detector}__{recognizer}/{video}_{res}/rep{repeat}.log",
    benchmark:
        "benchmarks/runs/{device}/{detector}__{recognizer}/{video}_{res}/rep{repeat}.tsv"
    # repeat by repeat, the configurations in a different order in each (plan.run_priority)
    priority: get_run_priority
    conda:
        "../envs/runtime.yaml"
    threads: workflow.cores
    resources:
        **MEASUREMENT_RESOURCES,
    params:
        models_dir="resources/models",
        gallery=get_gallery_path,
        run=get_run_params,
        alignment=config["alignment"],
    script:
        "../scripts/run_inference.py"


rule list_skipped_runs:
    input:
        capabilities=get_device_probe,
    output:
        skipped="results/runs/{device}/skipped.csv",
    log:
        "logs/runs/{device}/skipped.log",
    localrule: True
    conda:
        "../envs/runtime.yaml"
    params:
        matrix=get_run_matrix,
    script:
        "../scripts/list_skipped_runs.py"


rule measure_sampler_overhead:
    input:
        video=f"resources/videos/{VIDEOS[0]}/{list(RESOLUTIONS)[-1]}.mp4",
        models=get_gallery_detector_models,
    output:
        overhead="results/runs/{device}/sampler_overhead.json",
    log:
        "logs/runs/{device}/sampler_overhead.log",
    conda:
        "../envs/runtime.yaml"
    threads: workflow.cores
    resources:
        **MEASUREMENT_RESOURCES,
    params:
        models_dir=get_models_dir,
        detector=config["gallery"]["detector"],
        seconds=RUNS["sampler_check_s"],
        period_s=RUNS["sampler_period_s"],
    script:
        "../scripts/measure_sampler_overhead.py"


rule probe_device:
    output:
        capabilities="results/runs/{device}/capabilities.json",
    log:
        "logs/runs/{device}/capabilities.log",
    conda:
        "../envs/runtime.yaml"
    resources:
        **PROBE_RESOURCES,
    params:
        gpu=get_declared_gpu,
    script:
        "../scripts/probe_device.py"


# With a remote executor, the jobs of this host's devices run here (localrules), the same
# rules constrained to them; every other device's jobs go to that device.
if DISPATCHED:

    use rule run_inference as run_inference_here with:
        wildcard_constraints:
            device=DEVICES_HERE,
        localrule: True

    use rule measure_sampler_overhead as measure_sampler_overhead_here with:
        wildcard_constraints:
            device=DEVICES_HERE,
        localrule: True

    use rule probe_device as probe_device_here with:
        wildcard_constraints:
            device=DEVICES_HERE,
        localrule: True

    ruleorder: run_inference_here > run_inference
    ruleorder: measure_sampler_overhead_here > measure_sampler_overhead
    ruleorder: probe_device_here > probe_device
