"""Claims 4-7 and 12, the frameworks against each other on the same platform: TensorRT MTCNN
and FaceNet against TensorFlow, TFLite FaceNet against TensorFlow and TensorRT, and the faces
each MTCNN finds."""

from __future__ import annotations

import math

import pandas as pd

from facebench.analysis.claims.engine import Part
from facebench.analysis.claims.intervals import NO_ROUNDING, Bounds, HalfUnits, grouped_means
from facebench.analysis.claims.quantities import framework_ratio
from facebench.analysis.paper import PaperClaims


def tensorrt_mtcnn_speedup(
    table: pd.DataFrame, paper: PaperClaims, half: HalfUnits = NO_ROUNDING
) -> list[Part]:
    """Claim 4: per device, tf detection time over tensorrt's."""
    speedup = paper.values(4)["tensorrt_mtcnn_speedup"]
    return [
        Part.of(
            "tensorrt MTCNN speed-up over tf",
            framework_ratio(table, "detector", "detection_time_s", "tf", "tensorrt", half),
            speedup.lo,
            speedup.hi,
            precision=paper.precision(4, "tensorrt_mtcnn_speedup"),
            missing="no device runs both the tensorrt and the tf detector",
        )
    ]


def tensorrt_facenet_saving(
    table: pd.DataFrame, paper: PaperClaims, half: HalfUnits = NO_ROUNDING
) -> list[Part]:
    """Claim 5: per device, 1 - tensorrt recognition time over tf's."""
    saved = paper.values(5)["tensorrt_facenet_time_saved"]
    ratio = framework_ratio(table, "recognizer", "recognition_time_s", "tensorrt", "tf", half)
    return [
        Part.of(
            "tensorrt FaceNet time saved over tf",
            1 - ratio,
            saved.lo,
            saved.hi,
            unit="%",
            precision=paper.precision(5, "tensorrt_facenet_time_saved"),
            missing="no device runs both the tensorrt and the tf recognizer",
        )
    ]


def tflite_change(
    table: pd.DataFrame, paper: PaperClaims, half: HalfUnits = NO_ROUNDING
) -> list[Part]:
    """Claim 6: tflite over tf recognition time - 1; a platform the paper names against its own
    change, any other against the paper's lowest and highest."""
    paper_change = paper.values(6)["tflite_change"]
    change = framework_ratio(table, "recognizer", "recognition_time_s", "tflite", "tf", half) - 1
    named = [device for device in change.value.index if device in paper_change]
    parts = [
        Part.of(
            f"tflite FaceNet time change vs tf (paper {paper_change[device]:+.0%})",
            change[[device]],
            paper_change[device],
            paper_change[device],
            unit="%",
            precision=paper.precision(6, "tflite_change", device),
        )
        for device in named
    ]
    others = change[~change.value.index.isin(list(paper_change))]
    if parts and others.value.empty:
        return parts
    return [
        *parts,
        Part.of(
            "tflite FaceNet time change vs tf (other devices)",
            others,
            min(paper_change.values()),
            max(paper_change.values()),
            unit="%",
            precision=min(paper.precision(6, "tflite_change", d) for d in paper_change),
            missing="no device runs both the tflite and the tf recognizer",
        ),
    ]


def face_counts(
    table: pd.DataFrame, paper: PaperClaims, half: HalfUnits = NO_ROUNDING
) -> list[Part]:
    """Claim 7: each detector's face-count spread across devices, and tensorrt finding more
    faces than tf."""
    numbers, one_sided = paper.values(7), paper.claims[7].one_sided
    return [
        *(
            Part.of(
                f"{detector} MTCNN face-count spread across devices",
                _face_spread(table, detector, half),
                numbers[key].lo,
                numbers[key].hi,
                unit="%",
                precision=paper.precision(7, key),
                one_sided=key in one_sided,
                missing=f"fewer than two devices run the {detector} detector",
            )
            for detector, key in (("tf", "tf_face_spread"), ("tensorrt", "tensorrt_face_spread"))
        ),
        Part.of(
            "tensorrt over tf MTCNN faces",
            framework_ratio(table, "detector", "faces", "tensorrt", "tf", half),
            1.0,
            math.inf,
            exact=True,
            missing="no device runs both the tensorrt and tf detector",
        ),
    ]


def _face_spread(table: pd.DataFrame, detector: str, half: HalfUnits) -> Bounds:
    """1 - the fewest over the most mean faces across devices, with the bounds rounding
    allows."""
    faces = table[table["detector"] == detector].groupby("device", observed=True)["faces"].mean()
    if len(faces) < 2:
        return Bounds.empty()
    fewest, most, h = faces.min(), faces.max(), half.get("faces", 0.0)
    return Bounds(
        *(
            pd.Series({"all devices": value})
            for value in (
                1 - fewest / most,
                max(0.0, 1 - (fewest + h) / (most - h)),
                1 - (fewest - h) / (most + h),
            )
        )
    )


def tflite_vs_tensorrt(
    table: pd.DataFrame, paper: PaperClaims, half: HalfUnits = NO_ROUNDING
) -> list[Part]:
    """Claim 12: per device and detector, 1 - FPS with tflite over with tensorrt FaceNet."""
    lost = paper.values(12)["fps_lost_tflite_vs_tensorrt"]
    fps = grouped_means(table, ["device", "detector", "recognizer"], "fps", half)
    fps = fps.unstack("recognizer")
    values = Bounds.empty()
    if {"tflite", "tensorrt"} <= set(fps.value.columns):
        values = (1 - fps["tflite"] / fps["tensorrt"]).dropna()
        values = values.set_axis([f"{dev}/{det}" for dev, det in values.value.index])
    return [
        Part.of(
            "FPS lost with tflite instead of tensorrt FaceNet",
            values,
            lost.lo,
            lost.hi,
            unit="%",
            precision=paper.precision(12, "fps_lost_tflite_vs_tensorrt"),
            missing="no device runs both the tflite and the tensorrt recognizer",
        )
    ]
