"""What one workflow invocation makes, as pure functions of the validated configuration
(facebench.config): the devices it schedules and where their jobs go, each device's run matrix,
the runs and their settings, and which experiments run. The workflow's input functions are thin
wrappers over these; this host's backend availability and the probed capabilities of remote
devices are passed in.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any

from facebench.config import serving_enabled, this_host
from facebench.devices import pair_reason, reach_kind, reach_settings
from facebench.errors import FacebenchError
from facebench.workflow import run_dirs

Config = dict[str, Any]
# Why ``backend`` cannot run as ``role`` ("detector" or "recognizer") on this host, or None.
BackendReason = Callable[[str, str], "str | None"]
Pair = tuple[str, str, "str | None"]  # (detector, recognizer, why it does not run or None)
NOOP = "noop"  # the serving harness check's model: no network runs
SERVING_KEYS = (
    "strategy",
    "detector",
    "cameras",
    "duration_s",
    "warmup_s",
    "p99_bound_ms",
    "peak_iterations",
    "queue_size",
    "reidentify_s",
)


def dispatched(config: Config) -> list[str]:
    """Devices whose jobs the invocation's executor sends away: with ``dispatch`` (set by the
    workflow profile) slurm or ssh, every device reached that way."""
    dispatch = config["dispatch"]
    if dispatch == "local":
        return []
    return [
        name for name, spec in config["runs"]["devices"].items() if reach_kind(spec) == dispatch
    ]


def devices_here(config: Config) -> list[str]:
    """This host's devices whose jobs run here (those not dispatched)."""
    away = dispatched(config)
    return [name for name in this_host(config)[1] if name not in away]


def scheduled(config: Config) -> list[str]:
    """Every device whose jobs this invocation schedules: this host's, then the dispatched."""
    return [*devices_here(config), *dispatched(config)]


def availability_unknown(spec: dict) -> dict:
    """Capabilities of a remote device not yet probed: each configured backend available."""
    return {
        "backends": [
            {"role": role, "backend": name, "available": True, "reason": ""}
            for role in ("detector", "recognizer")
            for name in spec[f"{role}s"]
        ]
    }


def run_matrix(spec: dict, capabilities: dict | None, here: BackendReason) -> list[Pair]:
    """(detector, recognizer, reason) for every configured pair of device ``spec``; reason is
    None for pairs it can run: by ``capabilities`` (a remote device's probe) when given, else
    by this host's backends (``here``)."""
    excluded = [tuple(pair) for pair in spec.get("exclude", [])]
    pairs = []
    for detector in spec["detectors"]:
        for recognizer in spec["recognizers"]:
            if (detector, recognizer) in excluded:
                reason = "excluded in the config"
            elif capabilities is not None:
                reason = pair_reason(capabilities, detector, recognizer)
            else:
                reasons = [
                    f"{role} {name}: {why}"
                    for role, name in (("detector", detector), ("recognizer", recognizer))
                    if (why := here(role, name))
                ]
                reason = "; ".join(reasons) or None
            pairs.append((detector, recognizer, reason))
    return pairs


def runnable(role: str, backends: Sequence[str], here: BackendReason) -> list[str]:
    """The ``backends`` of ``role`` that can run on this host."""
    return [backend for backend in backends if here(role, backend) is None]


def is_remote(spec: dict) -> bool:
    """Whether a device is reached through an executor (SLURM, ssh). A job's inputs depend on
    this and nothing else of the invocation (executor, this_host, probe done or not): inputs
    that change between invocations would rerun every finished run."""
    return reach_kind(spec) != "local"


def slurm_setting(spec: dict, key: str) -> Any:
    """A SLURM reach's ``key`` (None for a device not in a SLURM partition)."""
    return reach_settings(spec).get(key) if reach_kind(spec) == "slurm" else None


def slurm_extra(spec: dict, exclusive: bool) -> str | None:
    """sbatch flags of a job; a measurement's (``exclusive``) asks for the node to itself."""
    extra = slurm_setting(spec, "slurm_extra")
    if not exclusive or reach_kind(spec) != "slurm":
        return extra
    return " ".join(filter(None, ("--exclusive", extra)))


def ssh_host(spec: dict) -> str | None:
    return reach_settings(spec).get("host") if reach_kind(spec) == "ssh" else None


def bench_slot(config: Config, device: str) -> int:
    """A measurement takes the invocation's one `bench` slot, unless it is sent to a SLURM
    node it has to itself (--exclusive); an ssh host has no such guard."""
    return 0 if config["dispatch"] == "slurm" and device in dispatched(config) else 1


def timed_videos(config: Config, videos: Sequence[str]) -> list[str]:
    """The ``videos`` (every configured one, generated and user) the timed runs play: the
    user's, and the generated ones ``runs.videos`` names (all of them where it is null or
    empty)."""
    wanted = config["runs"]["videos"] or config["videos"]["generated"]
    generated = config["videos"]["generated"]
    return [video for video in videos if video in wanted or video not in generated]


def run_outputs(
    config: Config, device: str, matrix: list[Pair], videos: Sequence[str]
) -> list[str]:
    """Every run.json of ``device``: runnable pairs of its ``matrix`` x timed videos (of
    ``videos``) x resolutions x repeats."""
    pairs = [(detector, recognizer) for detector, recognizer, reason in matrix if reason is None]
    return [f"results/runs/{run}/run.json" for run in _run_dirs(config, device, pairs, videos)]


def configured_runs(
    config: Config, matrices: dict[str, list[Pair]], videos: Sequence[str]
) -> dict[str, list[str]]:
    """{device: run directories} of every configured device, every pair of its ``matrices``
    entry (those it cannot run too) on the timed videos of ``videos``: what
    results/missing.csv accounts for."""
    return {
        device: [
            f"results/runs/{run}"
            for run in _run_dirs(config, device, [(d, r) for d, r, _ in matrices[device]], videos)
        ]
        for device in config["runs"]["devices"]
    }


def _run_dirs(config: Config, device: str, pairs: list, videos: Sequence[str]) -> list[str]:
    timed, resolutions = timed_videos(config, videos), config["videos"]["resolutions"]
    return run_dirs(device, pairs, timed, resolutions, config["runs"]["repeats"])


def run_priority(
    config: Config,
    videos: Sequence[str],
    run: tuple[str, str, str, str, str],
    repeat: int,
) -> int:
    """The scheduling priority (higher first, 1 and up) of the run of ``run`` (device,
    detector, recognizer, video, resolution) as repeat ``repeat``: every run of repeat 1
    before any of repeat 2, and so on, and within a repeat the configurations in a permutation
    seeded by the repeat number, so neither drift over the invocation nor a place in a pass
    lines up with one configuration. Every pair of every device on every one of ``videos``
    has a place, so a run asked for by name has one too; repeats beyond ``runs.repeats`` go
    with the last."""
    runs = config["runs"]
    keys = sorted(
        (device, detector, recognizer, video, res)
        for device, spec in runs["devices"].items()
        for detector in spec["detectors"]
        for recognizer in spec["recognizers"]
        for video in videos
        for res in config["videos"]["resolutions"]
    )
    if run not in keys:
        raise FacebenchError(f"run {'/'.join(run)}: not a pair of its device in runs.devices")
    random.Random(repeat).shuffle(keys)
    passes_after = max(runs["repeats"] - repeat, 0)
    return passes_after * len(keys) + len(keys) - keys.index(run)


def excluded_pairs(config: Config) -> dict[str, list[list[str]]]:
    """{device: the (detector, recognizer) pairs its config entry excludes}."""
    return {
        device: [list(pair) for pair in spec.get("exclude", [])]
        for device, spec in config["runs"]["devices"].items()
    }


def run_threads(config: Config, device: str, backend: str) -> int | None:
    """Intra-op threads of ``backend`` on ``device`` (None = all cores of the job)."""
    runs = config["runs"]
    if "threads" in (spec := runs["devices"][device]):
        return spec["threads"]
    return runs["threads_per_backend"].get(backend, runs["threads"])


def run_params(config: Config, device: str, detector: str, recognizer: str) -> dict:
    """The settings of one benchmark run and nothing else of the config: adding a device or a
    video, or changing another device's entry, reruns no finished run."""
    runs, spec = config["runs"], config["runs"]["devices"][device]
    return {
        "warmup_frames": runs["warmup_frames"],
        "detector_threads": run_threads(config, device, detector),
        "recognizer_threads": run_threads(config, device, recognizer),
        "batching": spec.get("batching", runs["batching"]),
        "pyramid_resize": spec["pyramid_resize"],
        "reader": runs["reader"],
        "sampler_period_s": runs["sampler_period_s"],
    }


def gallery_recognizers(config: Config, here: BackendReason) -> list[str]:
    """The galleries this host enrolls: its runnable recognizers of gallery.recognizers."""
    return runnable("recognizer", config["gallery"]["recognizers"], here)


def gallery_settings(config: Config) -> dict:
    """One gallery's settings: the gallery section less the list of galleries to build, so
    adding a recognizer there (config/fast.yaml) does not rebuild every other gallery."""
    return {key: value for key, value in config["gallery"].items() if key != "recognizers"}


def strategies_enabled(config: Config) -> bool:
    strategies = config["strategies"]
    return bool(strategies.get("links")) and strategies["enabled"] is not False


def strategies_reason(config: Config, emulation_reason: Callable[[dict], str | None]) -> str | None:
    """None when the strategies run here, else why not (the report says "not measured: " and
    this); ``emulation_reason`` says why this host cannot emulate the configured links."""
    if not strategies_enabled(config):
        return "the strategies experiment is not enabled in this configuration"
    if config["strategies"]["enabled"] is True:
        return None  # run_strategy fails with the reason where it cannot run
    return emulation_reason(config["strategies"]["links"])


def strategy_runs(config: Config, reason: str | None) -> list[str]:
    """Every strategy run's run.json, none where the experiment does not run (``reason``)."""
    if reason:
        return []
    strategies = config["strategies"]
    return [
        f"results/strategies/runs/{strategy}/{link}/{strategies['video']}_{res}/run.json"
        for strategy in strategies["names"]
        for link in strategies["links"]
        for res in strategies["resolutions"]
    ]


def serving_reason(config: Config) -> str | None:
    return None if serving_enabled(config) else "the serving experiment is not enabled"


def serving_recognizer(config: Config, model: str) -> str:
    """The recognizer of a serving run (the no-op run prepares hybrid crops with the first)."""
    return config["serving"]["recognizers"][0] if model == NOOP else model


def serving_params(config: Config, model: str) -> dict:
    serving = config["serving"]
    return {key: serving[key] for key in SERVING_KEYS} | {
        "alignment": config["alignment"],
        "recognizer": serving_recognizer(config, model),
    }


def serving_runs(config: Config) -> list[str]:
    """Every serving run's run.json: each recognizer x max_batch x max_queue_delay_ms, and the
    no-op harness check at max_batch 1."""
    if not serving_enabled(config):
        return []
    serving = config["serving"]
    runs = [
        f"results/serving/runs/{model}/b{batch}_d{delay:g}/run.json"
        for model in serving["recognizers"]
        for batch in serving["max_batch"]
        for delay in serving["max_queue_delay_ms"]
    ]
    if serving.get("noop_check", True):
        runs.append(f"results/serving/runs/{NOOP}/b1_d0/run.json")
    return runs


def fast_compared(config: Config) -> bool:
    """Whether this invocation compares the fast preset: it runs both the preset's device and
    the baseline's."""
    fast = config["fast"]
    return bool(fast["device"]) and {fast["device"], fast["baseline"]["device"]} <= set(
        scheduled(config)
    )


def accuracy_recognizers(config: Config, here: BackendReason) -> list[str]:
    """The recognizers the accuracy set is embedded with on this host: the first of
    ``accuracy.recognizers`` (the fp32 reference) and the others that a gallery or a device
    uses (a reduced precision nobody runs is not measured); none when the mode is off."""
    accuracy = config["accuracy"]
    if not accuracy["enabled"]:
        return []
    used = set(config["gallery"]["recognizers"]) | {
        name
        for spec in config["runs"]["devices"].values()
        for name in (spec or {}).get("recognizers", [])
    }
    wanted = [name for i, name in enumerate(accuracy["recognizers"]) if i == 0 or name in used]
    return runnable("recognizer", wanted, here)


def accuracy_settings(config: Config) -> dict:
    """What the accuracy set's rendering and embedding depend on: the section less the
    analysis-only keys, so a new bootstrap count does not re-embed the set."""
    analysis_only = {"recognizers", "bootstrap_replicates", "min_face_rank1", "enabled"}
    return {key: value for key, value in config["accuracy"].items() if key not in analysis_only}
