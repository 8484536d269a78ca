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

from facebench import plan
from facebench.analysis.aggregate import device_run_files
from facebench.backends.registry import DETECTORS, RECOGNIZERS, unavailable_reason
from facebench.config import complete, read_layer
from facebench.convert import tensorrt_build_reason
from facebench.devices import capabilities_path, class_label, read_capabilities
from facebench.errors import FacebenchError
from facebench.models.layout import FACENET, MTCNN_NETS, NETS, model_file
from facebench.report_entries import FIGURE_CATEGORY, TABLES


def config_layers():
    """(source, raw settings) of every config file in the order Snakemake merged them, then
    --config: what an error names as the file to fix."""
    cli = [str(path) for path in workflow.overwrite_configfiles]
    files = [str(f) for f in workflow.configfiles if str(f) not in cli] + cli
    return [
        *(read_layer(path) for path in files),
        ("--config", dict(workflow.config_settings.config)),
    ]


try:  # Snakemake's merged config, completed in place: defaults, removals, cross references
    complete(config, config_layers())
except FacebenchError as error:
    raise WorkflowError(str(error)) from None

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


GENERATED_VIDEOS = config["videos"]["generated"]
USER_VIDEOS = load_user_videos(config["videos"]["user_table"])
VIDEOS = [*GENERATED_VIDEOS, *USER_VIDEOS.index]
RESOLUTIONS = config["videos"]["resolutions"]
RUNS = config["runs"]
DEVICE_CLASS = {name: class_label(spec) for name, spec in RUNS["devices"].items()}
PAPER_DIR = Path(workflow.basedir).parent / "resources" / "paper"
NOTEBOOK = Path(workflow.basedir) / "notebooks" / "analysis.ipynb"
RUNS_DIR = Path("results/runs")
# Devices one invocation schedules: this host's (run here, as localrules when the profile
# dispatches), plus every device the profile's `dispatch` reaches (SLURM partitions or ssh).
DISPATCHED = plan.dispatched(config)
HERE = plan.devices_here(config)
SCHEDULED = plan.scheduled(config)


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


def backend_reason(role, backend):
    """Why ``backend`` cannot run as ``role`` on this host (None: it can)."""
    spec = (DETECTORS if role == "detector" else RECOGNIZERS)[backend]
    return unavailable_reason(spec)


def backend_models(role, backend):
    """Model files the ``backend`` needs to run as ``role``."""
    spec = (DETECTORS if role == "detector" else RECOGNIZERS)[backend]
    nets = MTCNN_NETS if role == "detector" else (FACENET,)
    return [model_file(MODELS_DIR, spec.framework, net, spec.precision) for net in nets]


def run_matrix(device):
    """The device's pairs and why each does not run (plan.run_matrix): by this host's backends
    for a device of this host, else by its capabilities.json once probed, else (a remote
    device not yet probed) every pair, its runs waiting for the probe and failing at start if
    it cannot run."""
    spec = RUNS["devices"][device]
    capabilities = None
    if device not in HERE:
        path = capabilities_path(RUNS_DIR, device)
        probed = read_capabilities(path) if path.is_file() else None
        capabilities = probed or plan.availability_unknown(spec)
    return plan.run_matrix(spec, capabilities, backend_reason)


def get_run_outputs(device):
    return plan.run_outputs(config, device, run_matrix(device), VIDEOS)


def get_models_dir(wildcards, input):
    """resources/models, inferred from the rule's model inputs (no hard-coded prefix)."""
    return str(Path(input.models[0]).parents[1])


def get_gallery_detector_models(wildcards):
    return backend_models("detector", config["gallery"]["detector"])


def get_groundtruth(wildcards):
    return expand(
        "resources/videos/{video}/{res}.groundtruth.csv", video=VIDEOS, res=RESOLUTIONS
    )


def get_enrolled_gallery(wildcards):
    return f"resources/gallery/{gallery_recognizers()[0]}.json"


def gallery_recognizers():
    return plan.gallery_recognizers(config, backend_reason)


# Each run judged by the validity rules (validity.smk); tables, claims and figures read it.
VALIDITY_CSV = "results/validity.csv"

ANALYSIS_OUTPUTS = [
    *expand("results/figures/{name}.svg", name=FIGURE_CATEGORY),
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


def get_final_output():
    return [
        *get_converted_models(),
        "results/parity/facenet_quality.json",
        "results/parity/parity.csv",
        *(["results/openset/crop_distance.svg"] if GENERATED_VIDEOS else []),
        *expand("resources/gallery/{recognizer}.npz", recognizer=gallery_recognizers()),
        *expand("results/videos/{video}/check.json", video=VIDEOS),
        *expand("results/runs/{device}/capabilities.json", device=SCHEDULED),
        *expand("results/runs/{device}/skipped.csv", device=SCHEDULED),
        *expand("results/runs/{device}/sampler_overhead.json", device=SCHEDULED),
        *(run for device in SCHEDULED for run in get_run_outputs(device)),
        *ANALYSIS_OUTPUTS,
        *(["results/openset/video_rates.csv"] if accuracy_recognizers() else []),
        *FAST_OUTPUTS,
    ]
