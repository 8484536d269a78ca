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
    conda:
        "../envs/runtime.yaml"
    threads: workflow.cores
    resources:
        bench=get_bench,
        slurm_partition=get_slurm_partition,
        slurm_account=get_slurm_account,
        constraint=get_slurm_constraint,
        gpu=get_slurm_gpu,
        gres=get_slurm_gres,
        slurm_extra=get_slurm_extra_exclusive,
        runtime=get_runtime,
        mem_mb=get_mem_mb,
        ssh_host=get_ssh_host,
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
        bench=get_bench,
        slurm_partition=get_slurm_partition,
        slurm_account=get_slurm_account,
        constraint=get_slurm_constraint,
        gpu=get_slurm_gpu,
        gres=get_slurm_gres,
        slurm_extra=get_slurm_extra_exclusive,
        runtime=get_runtime,
        mem_mb=get_mem_mb,
        ssh_host=get_ssh_host,
    params:
        models_dir=get_models_dir,
        detector=config["gallery"]["detector"],
        seconds=config["runs"].get("sampler_check_s", 20),
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
        slurm_partition=get_slurm_partition,
        slurm_account=get_slurm_account,
        constraint=get_slurm_constraint,
        gpu=get_slurm_gpu,
        gres=get_slurm_gres,
        slurm_extra=get_slurm_extra,
        runtime=get_runtime,
        mem_mb=get_mem_mb,
        ssh_host=get_ssh_host,
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
