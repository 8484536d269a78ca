"""Claims 4-7 and 12, the frameworks against each other on the same platform: TensorRT MTCNN
and FaceNet against TensorFlow, TFLite FaceNet against TensorFlow and TensorRT, and the faces
each MTCNN finds."""

from __future__ import annotations

import math

import pandas as pd

from facebench.analysis.claims.engine import Data, Part
from facebench.analysis.claims.intervals import NO_ROUNDING, Bounds, HalfUnits, grouped_means
from facebench.analysis.claims.quantities import framework_ratio, matched_rows
from facebench.analysis.paper import PaperClaims


def tensorrt_mtcnn_speedup(
    table: pd.DataFrame,
    paper: PaperClaims,
    half: HalfUnits = NO_ROUNDING,
    faces_per_frame: float | None = None,
) -> list[Part]:
    """Claim 4: per device, tf detection time over tensorrt's (the same recognizers)."""
    speedup = paper.values(4)["tensorrt_mtcnn_speedup"]
    return [
        Part.of(
            "tensorrt MTCNN speed-up over tf",
            framework_ratio(table, "detector", "detection_time_s", "tf", "tensorrt", half),
            speedup.lo,
            speedup.hi,
            precision=paper.precision(4, "tensorrt_mtcnn_speedup"),
            null=1.0,
            missing="no device runs both the tensorrt and the tf detector (same recognizer)",
        )
    ]


def tensorrt_facenet_saving(
    table: pd.DataFrame,
    paper: PaperClaims,
    half: HalfUnits = NO_ROUNDING,
    faces_per_frame: float | None = None,
) -> list[Part]:
    """Claim 5: per device, 1 - tensorrt recognition time over tf's (the same detectors)."""
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
            null=0.0,
            complement=True,
            missing="no device runs both the tensorrt and the tf recognizer (same detector)",
        )
    ]


def tflite_change(
    table: pd.DataFrame,
    paper: PaperClaims,
    half: HalfUnits = NO_ROUNDING,
    faces_per_frame: float | None = None,
    extremes_from: pd.DataFrame | None = None,
) -> list[Part]:
    """Claim 6: "depends on the platform", as the tflite over tf recognition-time change of the
    device where it is largest minus that where it is smallest (chosen on ``extremes_from``,
    default ``table``): more than zero."""
    change = _tflite_change(table, half)
    chosen = change if extremes_from is None else _tflite_change(extremes_from, NO_ROUNDING)
    name = "tflite FaceNet time change vs tf, largest minus smallest across devices"
    missing = "needs two devices that run the tflite and the tf recognizer behind one detector"
    if len(chosen.value) < 2:
        return [
            Part(name, pd.Series(dtype=float), 0.0, math.inf, "%", strict=True, missing=missing)
        ]
    most, least = chosen.value.idxmax(), chosen.value.idxmin()
    label = f"{most} - {least}"
    if most in change.value and least in change.value:
        difference = Bounds(
            *(
                pd.Series({label: a - b})
                for a, b in (
                    (change.value[most], change.value[least]),
                    (change.low[most], change.high[least]),
                    (change.high[most], change.low[least]),
                )
            )
        )
    else:
        difference = Bounds.exact(pd.Series({label: math.nan})).dropna()
    return [Part.of(name, difference, 0.0, math.inf, unit="%", strict=True, missing=missing)]


def tflite_change_ours(data: Data) -> list[Part]:
    """Claim 6 on our data, the extreme devices chosen on the data a replicate is drawn from."""
    return tflite_change(data.table6, data.paper, extremes_from=data.original.table6)


def _tflite_change(table: pd.DataFrame, half: HalfUnits) -> Bounds:
    return framework_ratio(table, "recognizer", "recognition_time_s", "tflite", "tf", half) - 1


def face_counts(
    table: pd.DataFrame,
    paper: PaperClaims,
    half: HalfUnits = NO_ROUNDING,
    faces_per_frame: float | None = None,
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
            strict=True,
            missing="no device runs both the tensorrt and tf detector (same recognizer)",
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
    table: pd.DataFrame,
    paper: PaperClaims,
    half: HalfUnits = NO_ROUNDING,
    faces_per_frame: float | None = None,
) -> list[Part]:
    """Claim 12: per device and detector, 1 - FPS with tflite over with tensorrt FaceNet."""
    lost = paper.values(12)["fps_lost_tflite_vs_tensorrt"]
    rows = matched_rows(table, "recognizer", "tflite", "tensorrt", ["detector"])
    fps = grouped_means(
        rows.astype({"recognizer": str}), ["device", "detector", "recognizer"], "fps", half
    )
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
            null=0.0,
            complement=True,
            missing="no device runs both the tflite and the tensorrt recognizer",
        )
    ]
