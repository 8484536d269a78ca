"""Claim 8, resolution: between consecutive resolutions FPS drops, detection time grows with
the pixels (TensorRT's less), recognition time and detected faces grow."""

from __future__ import annotations

import numpy as np
import pandas as pd

from facebench.analysis.claims.engine import Data, Part
from facebench.analysis.tables import paper_resolution_ratios, resolution_ratios

# How many faces a video shows at each resolution is the video's (the paper's 480 input lost
# small faces; a generated video has the same faces at every resolution), and recognition time
# follows the faces.
VIDEO_DEPENDENT = ("faces growth", "recognition-time growth")


def resolution_scaling(data: Data) -> list[Part]:
    """Each of the paper's resolution ratios per framework, and recognition time per face,
    whose range is the paper's recognition-time range over its faces range, each with its
    rounding; the video-dependent ratios shown but not judged on generated videos."""
    ratios = resolution_ratios(data.per_resolution)
    if ratios.empty:
        return [
            Part(
                "resolution steps",
                pd.Series(dtype=float),
                0,
                0,
                missing="fewer than two resolutions in the data",
            )
        ]
    paper = data.paper
    videos = set(data.frames["video"].astype(str).unique())
    generated = bool(videos) and videos <= data.generated_videos
    parts, rounded = [], {}
    for (quantity, step, framework), (lo, hi) in paper_resolution_ratios(paper).items():
        rows = _step_rows(ratios, quantity, step, framework)
        which = {"all": "", "tf": " (detectors but tensorrt)"}.get(framework, f" ({framework})")
        part = Part(
            f"{quantity} {step}{which}",
            rows.groupby("framework")["value"].mean(),
            lo,
            hi,
            precision=paper.precision(8, "resolution_ratios", quantity, step, framework),
            null=1.0,
            missing=f"no runs{which} at both resolutions",
            aside="set by the generated video" if generated and quantity in VIDEO_DEPENDENT else "",
        )
        parts.append(part)
        rounded[quantity, step] = part.band(0.0)
    per_face_ratios = resolution_ratios(_recognition_time_per_face(data.per_resolution))
    for step in dict.fromkeys(s for _, s in rounded):
        if ("recognition-time growth", step) not in rounded or (
            "faces growth",
            step,
        ) not in rounded:
            continue
        (rec_lo, rec_hi), (faces_lo, faces_hi) = (
            rounded["recognition-time growth", step],
            rounded["faces growth", step],
        )
        rows = _step_rows(per_face_ratios, "recognition-time growth", step, "all")
        parts.append(
            Part(
                f"recognition time per face growth {step} (paper: recognition over faces growth)",
                rows.groupby("framework")["value"].mean(),
                rec_lo / faces_hi,
                rec_hi / faces_lo,
                null=1.0,
                missing=f"no runs with faces at both resolutions of {step}",
            )
        )
    return parts


def _recognition_time_per_face(per_resolution: pd.DataFrame) -> pd.DataFrame:
    """``per_resolution`` with recognition time per face in place of recognition time (NaN
    where no face was found)."""
    per_face = per_resolution["recognition_time_s"] / per_resolution["faces"]
    return per_resolution.assign(recognition_time_s=per_face.replace([np.inf, -np.inf], np.nan))


def _step_rows(ratios: pd.DataFrame, quantity: str, step: str, framework: str) -> pd.DataFrame:
    """The rows of ``resolution_ratios`` a paper ratio is set against: "all" is each framework
    on its own (pooled for the FPS drop), "tf" every detector but tensorrt."""
    rows = ratios[(ratios["quantity"] == quantity) & (ratios["step"] == step)]
    if framework == "tf":
        return rows[~rows["framework"].isin(["all", "tensorrt"])]
    if framework == "all" and quantity != "fps drop":
        return rows[rows["framework"] != "all"]
    return rows[rows["framework"] == framework]
