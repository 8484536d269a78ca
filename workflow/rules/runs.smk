import re
from functools import cache


@cache
def built_here(role, backend):
    """Whether this host builds ``backend``'s models (TensorRT engines need TensorRT and a GPU
    here) and, for a recognizer, enrolls its gallery (it must run here)."""
    spec = (DETECTORS if role == "detector" else RECOGNIZERS)[backend]
    if spec.framework == "tensorrt" and TENSORRT_SKIP_REASON:
        return False
    return role == "detector" or unavailable_reason(spec) is None


def device_inputs(wildcards, role, files):
    """``files`` of ``role``'s backend, unless a remote device's run needs what this host cannot
    build: that device brings its own (the run fails at start naming the missing file).
    """
    backend = wildcards.detector if role == "detector" else wildcards.recognizer
    if not plan.is_remote(device_spec(wildcards)) or built_here(role, backend):
        return files
    return []


def device_spec(wildcards):
    return RUNS["devices"][wildcards.device]


def get_run_detector_models(wildcards):
    models = backend_models("detector", wildcards.detector)
    return device_inputs(wildcards, "detector", models)


def get_run_recognizer_models(wildcards):
    models = backend_models("recognizer", wildcards.recognizer)
    return device_inputs(wildcards, "recognizer", models)


def get_run_gallery(wildcards):
    return device_inputs(wildcards, "recognizer", get_gallery_path(wildcards))


def get_gallery_path(wildcards):
    return f"resources/gallery/{wildcards.recognizer}.npz"


def get_run_matrix(wildcards):
    return run_matrix(wildcards.device)


def get_device_probe(wildcards):
    """The probe of a remote device: its runs check their pair against it at start, and its
    skipped list reads its reasons there."""
    if not plan.is_remote(device_spec(wildcards)):
        return []
    return str(capabilities_path(RUNS_DIR, wildcards.device))


def get_declared_gpu(wildcards):
    return device_spec(wildcards).get("gpu")


def get_run_params(wildcards):
    return plan.run_params(
        config, wildcards.device, wildcards.detector, wildcards.recognizer
    )


def slurm_resource(key):
    """The per-job resource ``key`` of a device's SLURM reach (None: unset)."""
    return lambda wildcards: plan.slurm_setting(device_spec(wildcards), key)


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
