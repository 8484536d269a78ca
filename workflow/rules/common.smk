import mimetypes
import os
import sys
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
from facebench.models.layout import FACENET, MTCNN_NETS, NETS, model_file

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
    """The user's video table (TSV), schema-validated; every path must exist."""
    columns = ["name", "path", "groundtruth"]
    if not table:
        return pd.DataFrame(columns=columns).set_index("name", drop=False)
    try:
        videos = pd.read_csv(table, sep="\t", dtype={"name": str, "path": str})
    except (OSError, ValueError) as error:
        raise WorkflowError(f"{table}: cannot read the video table: {error}")
    videos = videos.reindex(columns=columns).astype(object)
    videos = videos.where(videos.notna(), None)
    validate(videos, workflow.source_path("../schemas/videos.schema.yaml"))
    for row in videos.itertuples():
        for path in filter(None, (row.path, row.groundtruth)):
            if not Path(path).is_file():
                raise WorkflowError(f"{table}: {row.name}: file {path} does not exist")
    if clash := set(videos.name) & set(config["videos"]["generated"]):
        raise WorkflowError(
            f"{table}: names {sorted(clash)} clash with generated videos"
        )
    return videos.set_index("name", drop=False)


GENERATED_VIDEOS = config["videos"]["generated"]
USER_VIDEOS = load_user_videos(config["videos"].get("user_table", ""))
VIDEOS = [*GENERATED_VIDEOS, *USER_VIDEOS.index]
RESOLUTIONS = config["videos"]["resolutions"]


RUNS = config["runs"]
THIS_HOST = RUNS["this_host"]
DEVICE_CLASS = {name: spec["class"] for name, spec in RUNS["devices"].items()}
for key, names in (("this_host", THIS_HOST), ("pair", RUNS["pair"])):
    if unknown := [name for name in names if name not in RUNS["devices"]]:
        raise WorkflowError(f"runs.{key}: {unknown} not among runs.devices")
PAPER_DIR = Path(workflow.basedir).parent / "resources" / "paper"
NOTEBOOK = Path(workflow.basedir) / "notebooks" / "analysis.ipynb"


def run_matrix(device):
    """(detector, recognizer, reason) for every configured pair of ``device``; reason is None
    for pairs this host can run."""
    spec = RUNS["devices"][device]
    excluded = [tuple(pair) for pair in spec.get("exclude", [])]
    pairs = []
    for detector in spec["detectors"]:
        for recognizer in spec["recognizers"]:
            if (detector, recognizer) in excluded:
                pairs.append((detector, recognizer, "excluded in the config"))
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


def get_run_detector_models(wildcards):
    return backend_models("detector", wildcards.detector)


def get_run_matrix(wildcards):
    return run_matrix(wildcards.device)


def get_run_outputs(device):
    """Every run.json of ``device``: runnable pairs x videos x resolutions x repeats."""
    return [
        f"results/runs/{device}/{det}__{rec}/{video}_{res}/rep{repeat}/run.json"
        for det, rec, reason in run_matrix(device)
        if reason is None
        for video in VIDEOS
        for res in RESOLUTIONS
        for repeat in range(1, RUNS["repeats"] + 1)
    ]


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
        "batching": RUNS["batching"],
        "reader": RUNS["reader"],
        "sampler_period_s": RUNS["sampler_period_s"],
    }


def get_aggregate_runs(wildcards):
    """The runs of this host's devices, and those of other devices already under results/
    (copied from their hosts): every device's runs meet in the aggregate."""
    others = [d for d in RUNS["devices"] if d not in THIS_HOST]
    copied = map(str, device_run_files(Path("results/runs"), others))
    return [*(run for d in THIS_HOST for run in get_run_outputs(d)), *copied]


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


ANALYSIS_OUTPUTS = [
    *expand("results/figures/{name}.svg", name=FIGURES),
    *expand("results/tables/{name}.csv", name=TABLES),
    "results/claims.csv",
    "results/notebooks/analysis.ipynb",
]


def get_final_output():
    galleries = runnable("recognizer", config["gallery"]["recognizers"])
    return [
        *get_converted_models(),
        "results/parity/facenet_quality.json",
        "results/parity/parity.csv",
        *expand("resources/gallery/{recognizer}.npz", recognizer=galleries),
        *expand("results/videos/{video}/check.json", video=VIDEOS),
        *expand("results/runs/{device}/skipped.csv", device=THIS_HOST),
        *expand("results/runs/{device}/sampler_overhead.json", device=THIS_HOST),
        *(run for device in THIS_HOST for run in get_run_outputs(device)),
        *ANALYSIS_OUTPUTS,
    ]
