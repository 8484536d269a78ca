import mimetypes
import os
import re
import sys
from functools import cache
from pathlib import Path

import pandas as pd
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

sys.path.insert(
    0, str(Path(workflow.basedir).parent / "src")
)  # facebench, installed or not

from facebench.analysis.aggregate import device_run_files
from facebench.analysis.figures import REPORT_CATEGORY as FIGURES
from facebench.analysis.figures import report_labels as figure_labels
from facebench.analysis.stages import TABLES, table_report_labels
from facebench.backends.registry import (
    DETECTORS,
    RECOGNIZERS,
    unavailable_reason,
    unknown_backends,
)
from facebench.convert import tensorrt_build_reason
from facebench.devices import (
    capabilities_path,
    class_label,
    pair_reason,
    reach_kind,
    reach_settings,
    read_capabilities,
)
from facebench.models.layout import FACENET, MTCNN_NETS, NETS, model_file
from facebench.strategies.settings import settings_params
from facebench.strategies.links import link_profiles, network_emulation_reason
from facebench.workflow import run_dirs

validate(config, workflow.source_path("../schemas/config.schema.yaml"))
if unknown := unknown_backends(config):
    raise WorkflowError("; ".join(unknown))

# Rule scripts import facebench from this checkout, also inside a --sdm conda environment.
os.environ.update(
    PYTHONPATH=os.pathsep.join(
        filter(None, [sys.path[0], os.environ.get("PYTHONPATH")])
    )
)

# The report offers the executed notebook for download (no mimetype: shown as text).
mimetypes.add_type("application/x-ipynb+json", ".ipynb")
MODELS_DIR = Path("resources/models")
FACES_DIR = "resources/faces"
TENSORRT_SKIP_REASON = tensorrt_build_reason()


def load_user_videos(table):
    """The user's video table (TSV), each row schema-validated (an error names the
    table, video and column); every path must exist. ``fps`` is None unless set."""
    columns = ["name", "path", "groundtruth", "fps"]
    if not table:
        return pd.DataFrame(columns=columns).set_index("name", drop=False)
    try:
        videos = pd.read_csv(table, sep="\t", dtype={"name": str, "path": str})
    except (OSError, ValueError) as error:
        raise WorkflowError(f"{table}: cannot read the video table: {error}")
    videos = videos.reindex(columns=columns).astype(object)
    videos = videos.where(videos.notna(), None)
    schema = workflow.source_path("../schemas/videos.schema.yaml")
    for index, name in videos["name"].items():
        try:
            validate(videos.loc[[index]], schema)
        except WorkflowError as error:  # many lines; its cause, jsonschema's, fits one
            cause = error.__context__
            column = "".join(f"{key}: " for key in cause.absolute_path)
            raise WorkflowError(f"{table}: {name}: {column}{cause.message}") from None
    for row in videos.itertuples():
        for path in filter(None, (row.path, row.groundtruth)):
            if not Path(path).is_file():
                raise WorkflowError(f"{table}: {row.name}: file {path} does not exist")
    if clash := set(videos.name) & set(config["videos"]["generated"]):
        raise WorkflowError(
            f"{table}: names {sorted(clash)} clash with generated videos"
        )
    return videos.set_index("name", drop=False)


if missing_people := [
    d for d in config["gallery"]["people_dirs"] if not Path(d).is_dir()
]:
    raise WorkflowError(
        f"gallery.people_dirs: {', '.join(missing_people)}: no such folder"
    )
GENERATED_VIDEOS = config["videos"]["generated"]
USER_VIDEOS = load_user_videos(config["videos"].get("user_table", ""))
VIDEOS = [*GENERATED_VIDEOS, *USER_VIDEOS.index]
RESOLUTIONS = config["videos"]["resolutions"]


RUNS = config["runs"]
# `--config 'this_host=[DEVICE]'` (no dotted keys on Snakemake's command line) replaces it
THIS_HOST_KEY = "runs.this_host" if config.get("this_host") is None else "this_host"
THIS_HOST = (
    RUNS["this_host"] if THIS_HOST_KEY == "runs.this_host" else config["this_host"]
)
DEVICE_CLASS = {name: class_label(spec) for name, spec in RUNS["devices"].items()}
for key, names in ((THIS_HOST_KEY, THIS_HOST), ("runs.pair", RUNS["pair"])):
    if unknown := [name for name in names if name not in RUNS["devices"]]:
        raise WorkflowError(f"{key}: {unknown} not among runs.devices")
PAPER_DIR = Path(workflow.basedir).parent / "resources" / "paper"
NOTEBOOK = Path(workflow.basedir) / "notebooks" / "analysis.ipynb"
RUNS_DIR = Path("results/runs")


def snakemake_executor():
    """This invocation's --executor, also under --dry-run ("local" from the API or inside a
    submitted job). Snakemake gives a Snakefile no handle on it (``workflow.remote_exec`` is
    True only inside a submitted job, and the executor is set after parsing), so it is read
    from the parsed arguments of Snakemake's command line (snakemake.cli.args_to_api).
    """
    frame = sys._getframe()
    while frame is not None:
        if frame.f_code.co_name == "args_to_api" and "args" in frame.f_locals:
            return getattr(frame.f_locals["args"], "executor", None) or "local"
        frame = frame.f_back
    return "local"


# Devices one invocation schedules: this host's (run here, as localrules when the executor is
# remote), plus, with a remote executor, every device that executor reaches: SLURM partitions
# (--workflow-profile workflow/profiles/slurm) or ssh hosts (workflow/profiles/ssh-generic).
EXECUTOR = snakemake_executor()
DISPATCH_REACH = {"slurm": "slurm", "cluster-generic": "ssh"}.get(EXECUTOR)
DISPATCHED = [
    name
    for name, spec in RUNS["devices"].items()
    if DISPATCH_REACH and reach_kind(spec) == DISPATCH_REACH
]
HERE = [name for name in THIS_HOST if name not in DISPATCHED]
SCHEDULED = [*HERE, *DISPATCHED]
DEVICES_HERE = "|".join(map(re.escape, HERE)) or "(?!)"  # wildcard constraint


def device_capabilities(device):
    """The device's probed capabilities.json, or None before its probe ran."""
    path = capabilities_path(RUNS_DIR, device)
    return read_capabilities(path) if path.is_file() else None


def run_matrix(device):
    """(detector, recognizer, reason) for every configured pair of ``device``; reason is None
    for pairs it can run: by this host's backends for a device of this host, else by its
    capabilities.json once probed, else (a remote device not yet probed) every pair, its runs
    then waiting for the probe (get_device_probe) and failing at start if it cannot run.
    """
    spec = RUNS["devices"][device]
    capabilities = None
    if device not in HERE:
        capabilities = device_capabilities(device) or {
            "backends": availability_unknown(spec)
        }
    excluded = [tuple(pair) for pair in spec.get("exclude", [])]
    pairs = []
    for detector in spec["detectors"]:
        for recognizer in spec["recognizers"]:
            if (detector, recognizer) in excluded:
                pairs.append((detector, recognizer, "excluded in the config"))
                continue
            if capabilities is not None:
                pairs.append(
                    (
                        detector,
                        recognizer,
                        pair_reason(capabilities, detector, recognizer),
                    )
                )
                continue
            reasons = [
                f"{role} {name}: {reason}"
                for role, table, name in (
                    ("detector", DETECTORS, detector),
                    ("recognizer", RECOGNIZERS, recognizer),
                )
                if (reason := unavailable_reason(table[name]))
            ]
            pairs.append((detector, recognizer, "; ".join(reasons) or None))
    return pairs


def availability_unknown(spec):
    """Until a remote device is probed, each of its configured backends counts as available."""
    return [
        {"role": role, "backend": name, "available": True, "reason": ""}
        for role in ("detector", "recognizer")
        for name in spec[f"{role}s"]
    ]


wildcard_constraints:
    video="|".join(VIDEOS),
    device="|".join(RUNS["devices"]) or "none",
    detector="|".join(DETECTORS),
    repeat=r"\d+",
    res="|".join(RESOLUTIONS),
    recognizer="|".join(RECOGNIZERS),
    net="|".join(NETS),
    precision="fp32|fp16|int8",
    role="detector|recognizer",


def backend_models(role, backend):
    """Model files the ``backend`` needs to run as ``role``."""
    spec = (DETECTORS if role == "detector" else RECOGNIZERS)[backend]
    nets = MTCNN_NETS if role == "detector" else (FACENET,)
    return [model_file(MODELS_DIR, spec.framework, net, spec.precision) for net in nets]


def runnable(role, backends):
    """The configured backends of ``role`` that can run on this host."""
    table = DETECTORS if role == "detector" else RECOGNIZERS
    return [b for b in backends if unavailable_reason(table[b]) is None]


def get_models_dir(wildcards, input):
    """resources/models, inferred from the rule's model inputs (no hard-coded prefix)."""
    return str(Path(input.models[0]).parents[1])


def get_backend_models(wildcards):
    return backend_models(wildcards.role, wildcards.backend)


def get_parity_rows(wildcards):
    return [
        f"results/parity/{role}/{backend}.json"
        for role in ("detector", "recognizer")
        for backend in runnable(role, config["parity"][f"{role}s"])
    ]


def get_converted_models():
    """Every converted model file (and the TensorRT skip note where it cannot be built)."""
    files = [
        model_file(MODELS_DIR, fw, net) for fw in ("onnx", "openvino") for net in NETS
    ]
    files += [model_file(MODELS_DIR, "tflite", net) for net in NETS]
    files.append(model_file(MODELS_DIR, "tflite", FACENET, "int8"))
    if TENSORRT_SKIP_REASON:
        files.append(MODELS_DIR / "tensorrt" / "SKIPPED.json")
    else:
        files += [
            model_file(MODELS_DIR, "tensorrt", net, precision)
            for net in NETS
            for precision in config["models"]["tensorrt_precisions"]
        ]
    return files


def get_gallery_detector_models(wildcards):
    return backend_models("detector", config["gallery"]["detector"])


def get_recognizer_models(wildcards):
    return backend_models("recognizer", wildcards.recognizer)


def get_master_video(wildcards):
    if wildcards.video in GENERATED_VIDEOS:
        return f"resources/videos/{wildcards.video}/master.mp4"
    return USER_VIDEOS.loc[wildcards.video, "path"]


def get_master_groundtruth(wildcards):
    if wildcards.video in GENERATED_VIDEOS:
        return f"resources/videos/{wildcards.video}/groundtruth.csv"
    return USER_VIDEOS.loc[wildcards.video, "groundtruth"] or []


def get_video_spec(wildcards):
    return GENERATED_VIDEOS[wildcards.video]


def get_resolution_size(wildcards):
    return RESOLUTIONS[wildcards.res]


def get_video_outputs(wildcards):
    return {
        kind: expand(
            f"resources/videos/{{video}}/{{res}}.{kind}", **wildcards, res=RESOLUTIONS
        )
        for kind in ("mp4", "json", "groundtruth.csv")
    }


@cache
def built_here(role, backend):
    """Whether this host builds ``backend``'s models (TensorRT engines need TensorRT and a GPU
    here) and, for a recognizer, enrolls its gallery (it must run here)."""
    spec = (DETECTORS if role == "detector" else RECOGNIZERS)[backend]
    if spec.framework == "tensorrt" and TENSORRT_SKIP_REASON:
        return False
    return role == "detector" or unavailable_reason(spec) is None


def is_remote(device):
    """Whether ``device`` is reached through an executor (SLURM, ssh). A job's inputs depend on
    this and nothing else of the invocation (executor, this_host, probe done or not): inputs
    that change between invocations would rerun every finished run."""
    return reach_kind(RUNS["devices"][device]) != "local"


def device_inputs(wildcards, role, files):
    """``files`` of ``role``'s backend, unless a remote device's run needs what this host cannot
    build: that device brings its own (the run fails at start naming the missing file).
    """
    backend = wildcards.detector if role == "detector" else wildcards.recognizer
    if not is_remote(wildcards.device) or built_here(role, backend):
        return files
    return []


def get_run_detector_models(wildcards):
    return device_inputs(
        wildcards, "detector", backend_models("detector", wildcards.detector)
    )


def get_run_recognizer_models(wildcards):
    return device_inputs(
        wildcards, "recognizer", backend_models("recognizer", wildcards.recognizer)
    )


def get_run_gallery(wildcards):
    return device_inputs(
        wildcards, "recognizer", f"resources/gallery/{wildcards.recognizer}.npz"
    )


def get_gallery_path(wildcards):
    return f"resources/gallery/{wildcards.recognizer}.npz"


def get_run_matrix(wildcards):
    return run_matrix(wildcards.device)


def get_device_probe(wildcards):
    """The probe of a remote device: its runs check their pair against it at start, and its
    skipped list reads its reasons there."""
    if not is_remote(wildcards.device):
        return []
    return str(capabilities_path(RUNS_DIR, wildcards.device))


def get_declared_gpu(wildcards):
    return RUNS["devices"][wildcards.device].get("gpu")


# Per-job resources from the device's reach (None or 0: unset; only the device's executor reads
# them): the SLURM plugin's slurm_partition, slurm_account, constraint, gpu, gres, slurm_extra,
# runtime (minutes) and mem_mb, and ssh_host for workflow/profiles/ssh-generic.
def slurm_setting(device, key):
    spec = RUNS["devices"][device]
    return reach_settings(spec).get(key) if reach_kind(spec) == "slurm" else None


def get_slurm_partition(wildcards):
    return slurm_setting(wildcards.device, "partition")


def get_slurm_account(wildcards):
    return slurm_setting(wildcards.device, "account")


def get_slurm_constraint(wildcards):
    return slurm_setting(wildcards.device, "constraint")


def get_slurm_gpu(wildcards):
    return slurm_setting(wildcards.device, "gpu")


def get_slurm_gres(wildcards):
    return slurm_setting(wildcards.device, "gres")


def get_slurm_extra(wildcards):
    return slurm_setting(wildcards.device, "slurm_extra")


def get_slurm_extra_exclusive(wildcards):
    """A measurement job's sbatch flags: the node to itself (nothing beside a benchmark)."""
    if reach_kind(RUNS["devices"][wildcards.device]) != "slurm":
        return None
    return " ".join(filter(None, ("--exclusive", get_slurm_extra(wildcards))))


def get_runtime(wildcards):
    """Minutes; 0 = unset (Snakemake takes no None here; the plugin then passes no -t)."""
    return slurm_setting(wildcards.device, "runtime_min") or 0


def get_mem_mb(wildcards):
    """MB; 0 = unset (the plugin then passes no --mem: the partition's default)."""
    return slurm_setting(wildcards.device, "mem_mb") or 0


def get_ssh_host(wildcards):
    spec = RUNS["devices"][wildcards.device]
    return reach_settings(spec).get("host") if reach_kind(spec) == "ssh" else None


def get_bench(wildcards):
    """A measurement takes the invocation's one `bench` slot, unless it is sent to a SLURM
    node it has to itself (--exclusive); an ssh host has no such guard."""
    dispatched = wildcards.device in DISPATCHED and DISPATCH_REACH == "slurm"
    return 0 if dispatched else 1


def get_run_outputs(device):
    """Every run.json of ``device``: runnable pairs x videos x resolutions x repeats."""
    pairs = [(det, rec) for det, rec, reason in run_matrix(device) if reason is None]
    return [
        f"results/runs/{run}/run.json"
        for run in run_dirs(device, pairs, VIDEOS, RESOLUTIONS, RUNS["repeats"])
    ]


def get_configured_runs():
    """{device: run directories} of every configured device, every pair of its config (those
    it cannot run too): what results/missing.csv accounts for."""
    return {
        device: [
            f"results/runs/{run}"
            for run in run_dirs(
                device,
                [(det, rec) for det, rec, _ in run_matrix(device)],
                VIDEOS,
                RESOLUTIONS,
                RUNS["repeats"],
            )
        ]
        for device in RUNS["devices"]
    }


def get_excluded_pairs():
    """{device: the (detector, recognizer) pairs its config entry excludes}."""
    return {
        device: [list(pair) for pair in spec.get("exclude", [])]
        for device, spec in RUNS["devices"].items()
    }


def run_threads(device, backend):
    """Intra-op threads of ``backend`` on ``device`` (None = all cores of the job)."""
    if "threads" in (spec := RUNS["devices"][device]):
        return spec["threads"]
    return RUNS["threads_per_backend"].get(backend, RUNS["threads"])


def get_run_params(wildcards):
    """The settings of one benchmark run and nothing else of the config: adding a device or a
    video, or changing another device's entry, reruns no finished run."""
    return {
        "warmup_frames": RUNS["warmup_frames"],
        "detector_threads": run_threads(wildcards.device, wildcards.detector),
        "recognizer_threads": run_threads(wildcards.device, wildcards.recognizer),
        "batching": RUNS["devices"][wildcards.device].get("batching", RUNS["batching"]),
        "pyramid_resize": RUNS["devices"][wildcards.device]["pyramid_resize"],
        "reader": RUNS["reader"],
        "sampler_period_s": RUNS["sampler_period_s"],
    }


def get_aggregate_runs(wildcards):
    """The runs of this host's devices, and those of other devices already under results/
    (copied from their hosts): every device's runs meet in the aggregate."""
    others = [d for d in RUNS["devices"] if d not in SCHEDULED]
    copied = map(str, device_run_files(RUNS_DIR, others))
    return [*(run for d in SCHEDULED for run in get_run_outputs(d)), *copied]


def get_groundtruth(wildcards):
    return expand(
        "resources/videos/{video}/{res}.groundtruth.csv", video=VIDEOS, res=RESOLUTIONS
    )


def get_enrolled_gallery(wildcards):
    return f"resources/gallery/{runnable('recognizer', config['gallery']['recognizers'])[0]}.json"


def figure_output(name):
    return report(
        f"results/figures/{name}.svg",
        caption=f"../report/figures/{name}.rst",
        category=FIGURES[name],
        labels=figure_labels(name),
    )


def table_output(name):
    """The report's copy of a table: HTML, shown inline (a CSV is only offered for download)."""
    return report(
        f"results/tables/{name}.html",
        caption=f"../report/tables/{name}.rst",
        category="Paper vs ours" if name == "paper_vs_ours" else "Tables",
        labels=table_report_labels(name),
    )


# Each run judged by the validity rules (validity.smk); tables, claims and figures read it.
VALIDITY_CSV = "results/validity.csv"

ANALYSIS_OUTPUTS = [
    *expand("results/figures/{name}.svg", name=FIGURES),
    *expand("results/tables/{name}.csv", name=TABLES),
    VALIDITY_CSV,
    "results/claims.csv",
    "results/missing.csv",
    "results/notebooks/analysis.ipynb",
    "results/strategies/summary.csv",
    "results/serving/points.csv",
    "results/openset/openset.csv",
    "results/content/latency_model.csv",
    "results/content/latency_model_fps.csv",
    "results/content/latency_model.svg",
    "results/stability/drift.csv",
]


OPENSET_TABLES = ("thresholds", "openset", "distances")
OPENSET_FIGURES = ("det", "distances_figure", "rates", "min_face")


def openset_output(name, kind):
    """A report entry of the open-set analysis: a figure (SVG) or a table (HTML)."""
    stem = name.removesuffix("_figure")
    suffix = "svg" if kind == "figure" else "html"
    return report(
        f"results/openset/{stem}.{suffix}",
        caption=f"../report/openset/{name}.rst",
        category="Open-set identification",
        labels=(
            {"figure": "extra", "subject": stem.replace("_", " ")}
            if kind == "figure"
            else {"table": stem}
        ),
    )


def gallery_recognizers():
    return runnable("recognizer", config["gallery"]["recognizers"])


# One gallery's settings: the gallery section less the list of galleries to build, so adding a
# recognizer there (config/fast.yaml) does not rebuild every other gallery and every run.
GALLERY_SETTINGS = {k: v for k, v in config["gallery"].items() if k != "recognizers"}


def get_gallery_sidecars(wildcards):
    return expand(
        "resources/gallery/{recognizer}.json", recognizer=gallery_recognizers()
    )


def get_gallery_curves(wildcards):
    return expand(
        "resources/gallery/{recognizer}_lopo.csv", recognizer=gallery_recognizers()
    )


def get_final_output():
    galleries = gallery_recognizers()
    return [
        *get_converted_models(),
        "results/parity/facenet_quality.json",
        "results/parity/parity.csv",
        *expand("resources/gallery/{recognizer}.npz", recognizer=galleries),
        *expand("results/videos/{video}/check.json", video=VIDEOS),
        *expand("results/runs/{device}/capabilities.json", device=SCHEDULED),
        *expand("results/runs/{device}/skipped.csv", device=SCHEDULED),
        *expand("results/runs/{device}/sampler_overhead.json", device=SCHEDULED),
        *(run for device in SCHEDULED for run in get_run_outputs(device)),
        *ANALYSIS_OUTPUTS,
        *FAST_OUTPUTS,
    ]


# Cloud vs edge vs hybrid (strategies.smk): a configured experiment runs where this host can
# emulate links; elsewhere ("auto") its outputs say "not measured: <reason>".
STRATEGIES = config.get("strategies") or {}


def strategies_reason():
    """None when the strategies run here, else why not (the report says "not measured: " and
    this)."""
    if not STRATEGIES.get("links") or STRATEGIES.get("enabled", "auto") is False:
        return "the strategies experiment is not enabled in this configuration"
    if STRATEGIES["enabled"] is True:
        return None  # run_strategy fails with the reason where it cannot run
    reason = network_emulation_reason(link_profiles(STRATEGIES["links"]).values())
    return reason


def check_strategies():
    """Errors of an enabled strategies section that names what the workflow does not build."""
    if not STRATEGIES.get("links") or STRATEGIES.get("enabled", "auto") is False:
        return []
    errors = []
    if STRATEGIES["video"] not in VIDEOS:
        errors.append(
            f"strategies.video: {STRATEGIES['video']!r} is not a configured video"
        )
    for res in STRATEGIES["resolutions"]:
        if res not in RESOLUTIONS:
            errors.append(f"strategies.resolutions: {res!r} not in videos.resolutions")
    if STRATEGIES["recognizer"] not in config["gallery"]["recognizers"]:
        errors.append(
            f"strategies.recognizer: {STRATEGIES['recognizer']!r} has no gallery "
            "(add it to gallery.recognizers)"
        )
    return errors


if strategy_errors := check_strategies():
    raise WorkflowError("; ".join(strategy_errors))
STRATEGIES_REASON = strategies_reason()


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
    """Every strategy run's run.json, none where the experiment cannot run here."""
    if STRATEGIES_REASON:
        return []
    return expand(
        "results/strategies/runs/{strategy}/{link}/{video}_{res}/run.json",
        strategy=STRATEGIES["names"],
        link=STRATEGIES["links"],
        video=STRATEGIES["video"],
        res=STRATEGIES["resolutions"],
    )


def get_strategy_groundtruth(wildcards):
    if not STRATEGIES.get("links"):
        return []
    return expand(
        "resources/videos/{video}/{res}.groundtruth.csv",
        video=STRATEGIES["video"],
        res=STRATEGIES["resolutions"],
    )


STRATEGY_TABLES = ("table2", "summary", "winners")
STRATEGY_FIGURES = ("strategies_latency", "strategies_bandwidth", "strategies_accuracy")
STRATEGY_CATEGORY = "Cloud vs edge vs hybrid"


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


# One server, many cameras (serving.smk): on loopback, so it runs on every host.
SERVING = config.get("serving") or {}
SERVING_ON = bool(SERVING.get("enabled", True) and SERVING.get("recognizers"))


def check_serving():
    """Errors of a serving section that names what the workflow does not build."""
    if not SERVING_ON:
        return []
    errors = []
    if SERVING["video"] not in VIDEOS:
        errors.append(f"serving.video: {SERVING['video']!r} is not a configured video")
    if SERVING["resolution"] not in RESOLUTIONS:
        errors.append(
            f"serving.resolution: {SERVING['resolution']!r} not in videos.resolutions"
        )
    for recognizer in SERVING["recognizers"]:
        if recognizer not in config["gallery"]["recognizers"]:
            errors.append(
                f"serving.recognizers: {recognizer!r} has no gallery "
                "(add it to gallery.recognizers)"
            )
    return errors


if serving_errors := check_serving():
    raise WorkflowError("; ".join(serving_errors))
SERVING_REASON = None if SERVING_ON else "the serving experiment is not enabled"
NOOP = "noop"  # the harness check's model: no network runs


def serving_video(wildcards=None):
    return f"resources/videos/{SERVING['video']}/{SERVING['resolution']}.mp4"


def get_serving_models(wildcards):
    """The detector (the hybrid edge half, prepared once) and the server's recognizer."""
    recognizer = [] if wildcards.model == NOOP else [wildcards.model]
    return [
        *backend_models("detector", SERVING["detector"]),
        *(m for r in recognizer for m in backend_models("recognizer", r)),
    ]


def get_serving_gallery(wildcards):
    """The gallery the server identifies with (the hybrid edge half needs one too)."""
    return f"resources/gallery/{serving_recognizer(wildcards)}.npz"


def serving_recognizer(wildcards):
    """The recognizer of a serving run (the no-op run prepares hybrid crops with the first)."""
    return SERVING["recognizers"][0] if wildcards.model == NOOP else wildcards.model


def get_serving_params(wildcards):
    keys = (
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
    return {key: SERVING[key] for key in keys} | {
        "alignment": config["alignment"],
        "recognizer": serving_recognizer(wildcards),
    }


def get_serving_runs(wildcards):
    """Every serving run's run.json: each recognizer x max_batch x max_queue_delay_ms, and
    the no-op harness check at max_batch 1."""
    if not SERVING_ON:
        return []
    runs = expand(
        "results/serving/runs/{model}/b{batch}_d{delay:g}/run.json",
        model=SERVING["recognizers"],
        batch=SERVING["max_batch"],
        delay=SERVING["max_queue_delay_ms"],
    )
    if SERVING.get("noop_check", True):
        runs.append(f"results/serving/runs/{NOOP}/b1_d0/run.json")
    return runs


def get_serving_groundtruth(wildcards):
    if not SERVING_ON:
        return []
    return [
        f"resources/videos/{SERVING['video']}/{SERVING['resolution']}.groundtruth.csv"
    ]


SERVING_TABLES = ("points", "capacity", "batching", "harness")
SERVING_FIGURES = ("serving_throughput", "serving_latency", "serving_breakdown")
SERVING_CATEGORY = "One server, many cameras"


def serving_output(name, kind):
    suffix = "svg" if kind == "figure" else "html"
    labels = {"figure": "extra", "subject": name.replace("_", " ")}
    return report(
        f"results/serving/{name}.{suffix}",
        caption=f"../report/serving/{name}.rst",
        category=SERVING_CATEGORY,
        labels=labels if kind == "figure" else {"table": f"serving {name}"},
    )


# The fast preset (fast.smk, config/fast.yaml): its device's runs beside the baseline's.
FAST = config["fast"]


def check_fast():
    """Errors of a fast section that names runs the configuration does not make."""
    if not FAST["device"]:
        return []
    errors = []
    if FAST["device"] not in RUNS["devices"]:
        errors.append(f"fast.device: {FAST['device']!r} not among runs.devices")
    base = FAST["baseline"]
    spec = RUNS["devices"].get(base["device"], {"detectors": [], "recognizers": []})
    if (
        base["detector"] not in spec["detectors"]
        or base["recognizer"] not in spec["recognizers"]
    ):
        errors.append(
            f"fast.baseline: {base['device']} {base['detector']}/{base['recognizer']} "
            "is not a configured run of runs.devices"
        )
    return errors


if fast_errors := check_fast():
    raise WorkflowError("; ".join(fast_errors))
# made where this invocation runs both the preset's device and the baseline's
FAST_OUTPUTS = (
    expand("results/fast/comparison.{ext}", ext=("csv", "html", "svg"))
    if FAST["device"] and {FAST["device"], FAST["baseline"]["device"]} <= set(SCHEDULED)
    else []
)
