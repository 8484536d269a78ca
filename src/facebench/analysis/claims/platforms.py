"""Claims 3 and 9, the platform: cloud devices are faster than edge ones, and the older Ubuntu
is faster than the newer on identical hardware."""

from __future__ import annotations

import math

import pandas as pd

from facebench.analysis.claims.engine import Data, Part
from facebench.analysis.claims.intervals import (
    NO_ROUNDING,
    Bounds,
    HalfUnits,
    grouped_means,
    pairwise_ratios,
)
from facebench.analysis.claims.quantities import framework_ratio
from facebench.analysis.paper import PaperClaims


def edge_vs_cloud(
    table: pd.DataFrame,
    paper: PaperClaims,
    half: HalfUnits = NO_ROUNDING,
    faces_per_frame: float | None = None,
) -> list[Part]:
    """Claim 3: each edge platform against each cloud platform, detection + recognition time
    edge over cloud: over the configurations both run (like for like: more than 1), and as the
    paper averaged it, over each platform's own configurations (the paper's range: the Nano ran
    only TensorRT's MTCNN, so its mean left out TensorFlow's)."""
    ratio = paper.values(3)["edge_over_cloud_time"]
    precision = paper.precision(3, "edge_over_cloud_time")
    classes = sorted(map(str, table["device_class"].unique()))
    missing = f"needs an edge and a cloud device: the data has {', '.join(classes)} only" + (
        " (emulated devices never count as either)" if "emulated" in str(classes) else ""
    )
    matched, averaged, unmatched = Bounds.empty(), Bounds.empty(), missing
    if {"edge", "cloud"} <= set(classes):
        unmatched = "no configuration runs on both an edge and a cloud device"
        matched = _edge_over_cloud(table, half)
        by = ["device_class", "device"]
        time = grouped_means(table, by, "detection_time_s", half) + grouped_means(
            table, by, "recognition_time_s", half
        )
        time = time.dropna()
        averaged = pairwise_ratios(time["edge"], time["cloud"])
    return [
        Part.of(
            "edge over cloud time, the configurations both run, per pair",
            matched,
            1.0,
            math.inf,
            strict=True,
            missing=unmatched,
        ),
        Part.of(
            "edge over cloud time (detection + recognition), platform means, per pair",
            averaged,
            ratio.lo,
            ratio.hi,
            precision=precision,
            null=1.0,
            missing=missing,
        ),
    ]


def _edge_over_cloud(table: pd.DataFrame, half: HalfUnits) -> Bounds:
    """Per edge/cloud device pair: summed detection + recognition time of the configurations
    both run, edge over cloud, with the bounds the rows' rounding allows."""
    config = ["detector", "recognizer"]
    rows = table.astype({c: str for c in ["device", "device_class", *config]})
    time = rows["detection_time_s"] + rows["recognition_time_s"]
    h = half.get("detection_time_s", 0.0) + half.get("recognition_time_s", 0.0)
    rows = rows.assign(time=time, low=time - h, high=time + h)
    edge = rows[rows["device_class"] == "edge"]
    cloud = rows[rows["device_class"] == "cloud"]
    pairs = edge.merge(cloud, on=config, suffixes=("_edge", "_cloud"))
    if pairs.empty:
        return Bounds.empty()
    sums = pairs.groupby(["device_edge", "device_cloud"])[
        ["time_edge", "low_edge", "high_edge", "time_cloud", "low_cloud", "high_cloud"]
    ].sum()
    labels = [f"{e}/{c}" for e, c in sums.index]
    return Bounds(
        *(
            (sums[num] / sums[den].clip(lower=0)).set_axis(labels)
            for num, den in (
                ("time_edge", "time_cloud"),
                ("low_edge", "high_cloud"),
                ("high_edge", "low_cloud"),
            )
        )
    )


def os_difference(data: Data) -> list[Part]:
    """Claim 9 between two of our devices with the same CPU and GPU, one on each Ubuntu."""
    paper = data.paper
    pair = _os_pair(data.runs, paper.old_os, paper.new_os)
    if isinstance(pair, str):
        return [
            Part(
                f"Ubuntu {paper.old_os} vs {paper.new_os} on identical hardware",
                pd.Series(dtype=float),
                1.0,
                math.inf,
                strict=True,
                missing=pair,
            )
        ]
    return _os_difference_between(data.table6, paper, *pair, NO_ROUNDING)


def os_difference_in_table6(
    table: pd.DataFrame,
    paper: PaperClaims,
    half: HalfUnits = NO_ROUNDING,
    faces_per_frame: float | None = None,
) -> list[Part]:
    """Claim 9 between the paper's own two devices (``os_pair`` of ``claims.yaml``)."""
    return _os_difference_between(table, paper, *paper.os_pair_devices, half)


def _os_difference_between(
    table: pd.DataFrame, paper: PaperClaims, old: str, new: str, half: HalfUnits
) -> list[Part]:
    """Claim 9 between devices ``old`` (the paper's older Ubuntu) and ``new`` of a Table 6:
    FPS higher on the old one, each framework's time new over old as the paper's."""
    pair = table[table["device"].isin([old, new])].assign(
        os=lambda t: t["device"].map({old: "old", new: "new"})
    )
    configuration = ["detector", "recognizer"]
    fps = framework_ratio(
        pair.assign(device="pair"), "os", "fps", "old", "new", half, configuration
    )
    parts = [
        Part.of(
            f"FPS Ubuntu {paper.old_os} over {paper.new_os} (the same configurations)",
            fps,
            1.0,
            math.inf,
            strict=True,
            missing="no configuration runs on both",
        )
    ]
    for role, frameworks in paper.values(9)["time_new_over_old"].items():
        for framework, expected in frameworks.items():
            column = "detection_time_s" if role == "detector" else "recognition_time_s"
            rows = pair[pair[role] == framework].assign(device=f"{role} {framework}")
            parts.append(
                Part.of(
                    f"{role} {framework} time {paper.new_os} over {paper.old_os}",
                    framework_ratio(rows, "os", column, "new", "old", half, configuration),
                    expected,
                    expected,
                    precision=paper.precision(9, "time_new_over_old", role, framework),
                    null=1.0,
                    missing=f"no {role} {framework} runs on both",
                )
            )
    return parts


def _os_pair(runs: pd.DataFrame | None, old_os: str, new_os: str) -> tuple[str, str] | str:
    """Two devices with the same CPU and GPU, one on Ubuntu ``old_os`` and one on ``new_os``,
    or why not."""
    if runs is None:
        return "no run metadata"
    hosts = runs.astype({"device": str})[["device", "os", "cpu_model", "gpu"]].drop_duplicates()
    for _, same in hosts.groupby(["cpu_model", "gpu"]):
        old = same[same["os"].str.contains(old_os, regex=False)]
        new = same[same["os"].str.contains(new_os, regex=False)]
        if len(old) and len(new):
            return old["device"].iloc[0], new["device"].iloc[0]
    systems = sorted(hosts["os"].unique())
    return f"needs Ubuntu {old_os} and {new_os} on identical hardware; the data has " + (
        f"only one OS ({systems[0]})" if len(systems) == 1 else ", ".join(systems)
    )
