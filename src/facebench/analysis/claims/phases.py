"""Claims 1-2, the phases' shares of the time: frame reading is negligible, detection and
recognition take about half each."""

from __future__ import annotations

import pandas as pd

from facebench.analysis.claims.engine import Data, Part
from facebench.analysis.claims.intervals import NO_ROUNDING, HalfUnits, grouped_means
from facebench.analysis.paper import PaperClaims


def read_share(data: Data) -> list[Part]:
    """Claim 1: per device, mean frame-read time over mean total time."""
    paper = data.paper
    share = paper.values(1)["read_share"]
    means = data.table6.groupby("device", observed=True)[["read_time_s", "total_time_s"]].mean()
    values = (means["read_time_s"] / means["total_time_s"]).dropna().rename(index=str)
    return [
        Part(
            "frame read share of total time",
            values,
            share.lo,
            share.hi,
            "%",
            paper.precision(1, "read_share"),
            one_sided="read_share" in paper.claims[1].one_sided,
        )
    ]


def phase_balance(
    table: pd.DataFrame,
    paper: PaperClaims,
    half: HalfUnits = NO_ROUNDING,
    faces_per_frame: float | None = None,
) -> list[Part]:
    """Claim 2: each phase's share of detection + recognition time (Table 6 has no read time;
    reading is about 1 %, claim 1) per device that runs the tf detector (the Nano could not).
    Recognition time grows with the faces per frame, which the video sets: it is taken per face
    and times the paper's mean faces per frame (``faces_per_frame``; None: shown, not judged)."""
    share = paper.values(2)["phase_share"]
    with_tf = table.loc[table["detector"] == "tf", "device"].unique()
    table = table[table["device"].isin(with_tf)]
    detection = grouped_means(table, "device", "detection_time_s", half)
    recognition = grouped_means(table, "device", "recognition_time_s", half)
    aside = "recognition time follows the video's faces per frame (no paper Table 6 to scale to)"
    if faces_per_frame is not None:
        faces = grouped_means(table, "device", "faces", half)
        recognition = recognition / faces * faces_per_frame
        aside = ""
    missing = "no device runs the tf detector (the paper excepts Nano, which could not)"
    scaled = f" at the paper's {faces_per_frame:.2f} faces a frame" if faces_per_frame else ""
    return [
        Part.of(
            f"{name} share of detection + recognition time{scaled}",
            (1 / (1 + other / this)).dropna().text_labels(),
            share.lo,
            share.hi,
            unit="%",
            precision=paper.precision(2, "phase_share"),
            missing=missing,
            aside=aside,
        )
        for name, this, other in (
            ("detection", detection, recognition),
            ("recognition", recognition, detection),
        )
    ]
