"""The paper's 12 claims, each recomputed from our data and from the paper's own Table 6, with a
computed verdict for both (rules: :mod:`.engine`).

The paper's numbers, the precision it gave them to, the claims' prose and where each comes from
are data (``resources/paper/claims.yaml``, read by :mod:`facebench.analysis.paper`); each claim
below only declares what it computes, in the module of its subject.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import pandas as pd

from facebench.analysis.claims.engine import Claim, Data, judge
from facebench.analysis.claims.frameworks import (
    face_counts,
    tensorrt_facenet_saving,
    tensorrt_mtcnn_speedup,
    tflite_change,
    tflite_vs_tensorrt,
)
from facebench.analysis.claims.intervals import NO_ROUNDING, half_units
from facebench.analysis.claims.memory import gpu_memory, process_rss
from facebench.analysis.claims.phases import phase_balance, read_share
from facebench.analysis.claims.platforms import (
    edge_vs_cloud,
    os_difference,
    os_difference_in_table6,
)
from facebench.analysis.claims.power import power
from facebench.analysis.claims.quantities import OthersAgainst
from facebench.analysis.claims.resolution import resolution_scaling
from facebench.analysis.paper import CLAIMS_YAML, read_paper_claims
from facebench.analysis.tables import per_resolution_table, read_paper_table6, table6

CLAIMS = (  # by the paper's numbering
    Claim(1, ours=read_share, not_in_table6="Table 6 has no frame-read time"),
    Claim(2, table6_parts=phase_balance),
    Claim(3, table6_parts=edge_vs_cloud),
    Claim(
        4,
        table6_parts=tensorrt_mtcnn_speedup,
        context=OthersAgainst("detector", "detection_time_s", "tf", "tensorrt"),
    ),
    Claim(
        5,
        table6_parts=tensorrt_facenet_saving,
        context=OthersAgainst("recognizer", "recognition_time_s", "tf", "tensorrt"),
    ),
    Claim(6, table6_parts=tflite_change),
    Claim(
        7, table6_parts=face_counts, context=OthersAgainst("detector", "faces", "tf", "tensorrt")
    ),
    Claim(
        8,
        ours=resolution_scaling,
        not_in_table6="Table 6 averages the resolutions",
        note=(
            "faces growth, and recognition time with it, depends on the video: the paper's 480 "
            "input lost small faces, a generated video has the same faces at every resolution; "
            "recognition time per face does not depend on it"
        ),
    ),
    Claim(9, table6_parts=os_difference_in_table6, ours=os_difference),
    Claim(10, ours=gpu_memory, not_in_table6="Table 6 has no GPU memory", context=process_rss),
    Claim(11, ours=power, not_in_table6="Table 6 has no power"),
    Claim(
        12,
        table6_parts=tflite_vs_tensorrt,
        context=OthersAgainst("recognizer", "fps", "tflite", "tensorrt"),
    ),
)


def check_claims(
    frames: pd.DataFrame,
    runs: pd.DataFrame | None = None,
    paper_table6_csv: Path | None = None,
    paper_claims_yaml: Path = CLAIMS_YAML,
) -> pd.DataFrame:
    """One row per claim (:class:`~.engine.ClaimRow`): text, the paper's numbers, the same
    computation on the paper's Table 6 with its verdict where the table holds the quantity, our
    quantity, verdict and reason, and the tolerance applied."""
    paper = read_paper_claims(paper_claims_yaml)
    paper_table6 = read_paper_table6(paper_table6_csv) if paper_table6_csv else None
    half = half_units(paper_table6) if paper_table6 is not None else NO_ROUNDING
    data = Data(frames, table6(frames), per_resolution_table(frames), runs, paper)
    return pd.DataFrame([asdict(judge(claim, data, paper_table6, half)) for claim in CLAIMS])
