"""The paper's 12 claims, each recomputed from our data with bootstrap intervals and from the
paper's own Table 6 with the intervals its rounding allows, and judged by one rule
(:mod:`.engine`).

The paper's numbers, the precision it gave them to, the claims' prose and where each comes from
are data (``resources/paper/claims.yaml``, read by :mod:`facebench.analysis.paper`); each claim
below only declares what it computes, in the module of its subject.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from facebench.analysis.claims.engine import Claim, Data, Part, judge
from facebench.analysis.claims.frameworks import (
    face_counts,
    tensorrt_facenet_saving,
    tensorrt_mtcnn_speedup,
    tflite_change,
    tflite_change_ours,
    tflite_vs_tensorrt,
)
from facebench.analysis.claims.intervals import NO_ROUNDING, half_units
from facebench.analysis.claims.memory import gpu_memory, paper_inconsistencies, process_rss
from facebench.analysis.claims.phases import phase_balance, read_share
from facebench.analysis.claims.platforms import (
    edge_vs_cloud,
    os_difference,
    os_difference_in_table6,
)
from facebench.analysis.claims.power import power
from facebench.analysis.claims.quantities import OthersAgainst
from facebench.analysis.claims.resolution import resolution_scaling
from facebench.analysis.paper import CLAIMS_YAML, PaperClaims, read_paper_claims
from facebench.analysis.resampling import Resampling, replicates
from facebench.analysis.tables import CONFIG, mean_table, read_paper_table6

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
    Claim(6, table6_parts=tflite_change, ours=tflite_change_ours),
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
    Claim(
        10,
        ours=gpu_memory,
        not_in_table6="Table 6 has no GPU memory",
        context=process_rss,
        paper_note=paper_inconsistencies,
    ),
    Claim(11, ours=power, not_in_table6="Table 6 has no power"),
    Claim(
        12,
        table6_parts=tflite_vs_tensorrt,
        context=OthersAgainst("recognizer", "fps", "tflite", "tensorrt"),
    ),
)


@dataclass(frozen=True)
class Inputs:
    """What our side of the check is computed from, beside the frames."""

    runs: pd.DataFrame | None
    paper: PaperClaims
    generated_videos: frozenset[str]
    paper_faces_per_frame: float | None

    def data(self, frames: pd.DataFrame, reference: Data | None = None) -> Data:
        return Data(
            frames,
            mean_table(frames),
            mean_table(frames, [*CONFIG, "resolution"]),
            self.runs,
            self.paper,
            self.generated_videos,
            self.paper_faces_per_frame,
            reference,
        )


def with_intervals(
    parts: dict[int, list[Part]], data: Data, inputs: Inputs, resampling: Resampling
) -> dict[int, list[Part]]:
    """``parts`` (from ``data``) with the bootstrap interval of each value: the claims with a
    value recomputed on each replicate of ``data.frames``, the value of the part of the same
    name and label."""
    drawn: dict[tuple[int, str], list[pd.Series]] = {
        (number, p.name): [] for number, found in parts.items() for p in found if p.tested
    }
    if not drawn:
        return parts
    tested = [claim for claim in CLAIMS if any(number == claim.number for number, _ in drawn)]
    for frames in replicates(data.frames, resampling):
        replicate = inputs.data(frames, reference=data)
        for number, found in ((claim.number, claim.parts(replicate)) for claim in tested):
            for part in found:
                if (number, part.name) in drawn:
                    drawn[number, part.name].append(part.values)
    out = {}
    for number, found in parts.items():
        out[number] = []
        for part in found:
            if not part.tested:
                out[number].append(part)
                continue
            samples = np.array(
                [s.reindex(part.values.index).to_numpy(float) for s in drawn[number, part.name]]
            ).reshape(-1, len(part.values))
            low, high = resampling.bounds(samples)
            index = part.values.index
            out[number].append(
                part.with_interval(pd.Series(low, index=index), pd.Series(high, index=index))
            )
    return out


def paper_faces_per_frame(paper_table6: pd.DataFrame | None) -> float | None:
    """The paper's mean detected faces per frame over its Table 6 rows."""
    return None if paper_table6 is None else float(paper_table6["faces"].mean())


def check_claims(
    frames: pd.DataFrame,
    runs: pd.DataFrame | None = None,
    paper_table6_csv: Path | None = None,
    paper_claims_yaml: Path = CLAIMS_YAML,
    resampling: Resampling | None = None,
    generated_videos: frozenset[str] = frozenset(),
) -> pd.DataFrame:
    """One row per claim (:class:`~.engine.ClaimRow`): text, the paper's numbers, the same
    computation on the paper's Table 6 with its verdicts where the table holds the quantity,
    ours with intervals (``resampling``; None: values taken as exact) and verdicts, and the
    rule. ``generated_videos``: the videos whose content the generator set."""
    paper = read_paper_claims(paper_claims_yaml)
    paper_table6 = read_paper_table6(paper_table6_csv) if paper_table6_csv else None
    half = half_units(paper_table6) if paper_table6 is not None else NO_ROUNDING
    inputs = Inputs(runs, paper, frozenset(generated_videos), paper_faces_per_frame(paper_table6))
    data = inputs.data(frames)
    parts = {claim.number: claim.parts(data) for claim in CLAIMS}
    if resampling is not None:
        parts = with_intervals(parts, data, inputs, resampling)
    confidence = resampling.confidence if resampling else float("nan")
    rows = []
    for claim in CLAIMS:
        paper_parts = None
        if paper_table6 is not None and claim.table6_parts is not None:
            paper_parts = claim.table6_parts(
                paper_table6, paper, half, inputs.paper_faces_per_frame
            )
        context = claim.context(data) if claim.context else ""
        rows.append(
            asdict(judge(claim, parts[claim.number], paper_parts, paper, confidence, context))
        )
    return pd.DataFrame(rows)
