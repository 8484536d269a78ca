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


def get_run_priority(wildcards):
    w = wildcards
    run = (w.device, w.detector, w.recognizer, w.video, w.res)
    return plan.run_priority(config, VIDEOS, run, int(w.repeat))


def slurm_resource(key):
    """The per-job resource ``key`` of a device's SLURM reach (None: unset)."""
    return lambda wildcards: plan.slurm_setting(device_spec(wildcards), key)
