"""The accuracy set's open-set results into ``results/openset/``: its make-up, FNIR at FPIR 1 %
and 5 % per frame and per track with intervals and counts, the size-bin table, the threshold
calibrated on video faces of held-out people against the photo-calibrated one, the minimum face
size chosen from the data, and DET figures. One method per stored embeddings file (a recognizer
precision: fp32 backends that pass parity share one)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from facebench.analysis.aggregate import resolution_order
from facebench.analysis.openset import figures, video
from facebench.analysis.outputs import write_csv, write_html
from facebench.fileio import write_json
from facebench.report_entries import ACCURACY_TABLES
from facebench.videos.accuracy_embed import load_embeddings

CALIBRATION_FPIR = 0.05


@dataclass(frozen=True)
class VideoSettings:
    """Bootstrap replicates and seed, the person-split seed, and the closed-set rank-1 a
    face-size bin must reach to be recognised (the minimum face size's rule)."""

    replicates: int = 200
    seed: int = 0
    min_face_rank1: float = 0.9


def method_scores(npz: Path) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """The set's table and its leave-one-person-out trials per level."""
    table, embeddings = load_embeddings(npz)
    is_gallery = (table["kind"] == "gallery").to_numpy()
    gallery, gallery_vectors = table[is_gallery], embeddings[is_gallery]
    scores = {}
    for level in video.LEVELS:
        query, vectors = video.queries(table, embeddings, level)
        scores[level] = video.lopo_scores(gallery, gallery_vectors, query, vectors)
    return table, scores


def write_accuracy_set_outputs(
    npz_by_method: dict[str, Path],
    photo_thresholds: dict[str, float],
    out_dir: Path,
    settings: VideoSettings,
) -> list[Path]:
    """Every table (csv + html) of ``ACCURACY_TABLES``, the figures of ``ACCURACY_FIGURES``, and
    ``video_threshold.json`` (the video-calibrated threshold and minimum face size per method)."""
    out_dir = Path(out_dir)
    parts: dict[str, list[pd.DataFrame]] = {name: [] for name in ACCURACY_TABLES}
    curves, size_curves, chosen_json, first_curve = [], [], {}, None
    for method, npz in npz_by_method.items():
        table, scores = method_scores(npz)
        tag = {"method": method}
        parts["accuracy_set"].append(video.makeup_table(table).assign(**tag))
        rates = video.rate_table(scores, settings.replicates, settings.seed).assign(**tag)
        parts["video_rates"].append(rates)
        frame = scores["frame"]
        at5 = rates[(rates["level"] == "frame") & (rates["resolution"] == video.ALL)]
        threshold = float(at5.loc[at5["fpir_target"] == CALIBRATION_FPIR, "threshold_l2"].iloc[0])
        for level, level_scores in scores.items():
            bins = video.size_bin_table(level_scores, threshold).assign(level=level, **tag)
            parts["video_size_bins"].append(bins)
            if not size_curves or size_curves[0]["method"].iloc[0] == method:
                binned = pd.cut(level_scores["side_px"], video.SIZE_BINS, right=False)
                for interval, part in level_scores.groupby(binned, observed=True):
                    if part["genuine"].any() and not part["genuine"].all():
                        label = f"[{interval.left:g}, {interval.right:g})"
                        size_curves.append(
                            video.det_points(part).assign(level=level, side_px=label, **tag)
                        )
            for resolution in level_scores["resolution"].unique():
                part = level_scores[level_scores["resolution"] == resolution]
                curves.append(
                    video.det_points(part).assign(level=level, resolution=resolution, **tag)
                )
        calibration = video.calibrate(
            scores["track"],
            CALIBRATION_FPIR,
            photo_thresholds.get(method, float("nan")),
            settings.seed,
        )
        parts["video_threshold"].append(calibration.assign(level="track", **tag))
        calibration_half = video.held_out(frame, video.split_people(frame, settings.seed)[0])
        curve, min_face = video.min_face_curve(
            calibration_half, CALIBRATION_FPIR, settings.min_face_rank1
        )
        parts["video_min_face"].append(curve.assign(chosen=curve["min_face_px"] == min_face, **tag))
        chosen_json[method] = {
            "threshold_l2": float(
                calibration.loc[calibration["method"] == "video", "threshold_l2"].iloc[0]
            ),
            "fpir_target": CALIBRATION_FPIR,
            "min_face_px": min_face,
        }
        first_curve = first_curve if first_curve is not None else (curve, min_face)
    written = []
    for name in ACCURACY_TABLES:
        table = pd.concat(parts[name], ignore_index=True) if parts[name] else pd.DataFrame()
        written += [
            write_csv(table, out_dir / f"{name}.csv"),
            write_html(table, out_dir / f"{name}.html", name.replace("_", " ")),
        ]
    write_json(out_dir / "video_threshold.json", chosen_json)
    all_curves = pd.concat(curves, ignore_index=True) if curves else pd.DataFrame()
    rates = (
        pd.concat(parts["video_rates"], ignore_index=True)
        if parts["video_rates"]
        else pd.DataFrame()
    )
    resolutions = resolution_order(all_curves["resolution"].unique()) if len(all_curves) else []
    curve, min_face = first_curve if first_curve else (pd.DataFrame(), 0.0)
    return [
        *written,
        out_dir / "video_threshold.json",
        figures.video_det_figure(all_curves, rates, list(resolutions), out_dir / "video_det.svg"),
        figures.min_face_figure_video(curve, min_face, out_dir / "video_min_face.svg"),
        figures.video_det_sizes_figure(
            pd.concat(size_curves, ignore_index=True) if size_curves else pd.DataFrame(),
            next(iter(npz_by_method), ""),
            out_dir / "video_det_sizes.svg",
        ),
    ]
