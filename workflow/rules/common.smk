import os
import sys
from pathlib import Path

from snakemake.utils import validate

sys.path.insert(0, str(Path(workflow.basedir) / "src"))  # facebench, installed or not

from facebench.backends.registry import DETECTORS, EMBEDDERS, unavailable_reason
from facebench.convert import tensorrt_build_reason
from facebench.models.layout import FACENET, MTCNN_NETS, NETS, model_file

validate(config, workflow.source_path("../schemas/config.schema.yaml"))

# Rule scripts import facebench from this checkout, also inside a --sdm conda environment.
os.environ.update(
    PYTHONPATH=os.pathsep.join(
        filter(None, [sys.path[0], os.environ.get("PYTHONPATH")])
    )
)
CONDA_ENV = "../../envs/facebench.yaml"

MODELS_DIR = Path("resources/models")
FACES_DIR = "resources/faces"
TENSORRT_SKIP_REASON = tensorrt_build_reason()


wildcard_constraints:
    net="|".join(NETS),
    precision="fp32|fp16|int8",
    role="detector|embedder",


def backend_models(role, backend):
    """Model files the ``backend`` needs to run as ``role``."""
    spec = (DETECTORS if role == "detector" else EMBEDDERS)[backend]
    nets = MTCNN_NETS if role == "detector" else (FACENET,)
    return [model_file(MODELS_DIR, spec.framework, net, spec.precision) for net in nets]


def runnable(role, backends):
    """The configured backends of ``role`` that can run on this host."""
    table = DETECTORS if role == "detector" else EMBEDDERS
    return [b for b in backends if unavailable_reason(table[b]) is None]


def get_models_dir(wildcards, input):
    """resources/models, inferred from the rule's model inputs (no hard-coded prefix)."""
    return str(Path(input.models[0]).parents[1])


def get_backend_models(wildcards):
    return backend_models(wildcards.role, wildcards.backend)


def get_parity_rows(wildcards):
    return [
        f"results/parity/{role}/{backend}.json"
        for role in ("detector", "embedder")
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


def get_final_output():
    return [
        *get_converted_models(),
        "results/parity/facenet_quality.json",
        "results/parity/parity.csv",
    ]
