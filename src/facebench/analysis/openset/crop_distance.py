"""Crop margin before and after: video faces re-embedded with the paper's fixed 44 px margin
and with the margin in proportion to the box (``results/openset/crop_distance.*``).

Every ground-truth face of a person with val photos is cut at its box both ways and embedded;
its *distance to its own photo* is the L2 distance to the nearest embedding of that person's val
photos (the videos are composited from the val photos; the ground truth names the person, not
the photo, so the nearest of them stands for the source photo), each photo cropped the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from facebench.analysis.plotting import figure
from facebench.models.layout import FACE_SIZE_PX
from facebench.recognition.faces import crop_with_margin, prewhiten
from facebench.recognition.photos import Photo, read_rgb
from facebench.videos.reader import open_reader

PAPER_MARGIN_PX = 44  # davidsandberg/facenet's fixed margin, source pixels, half per side
# Every third frame's faces: neighbouring frames show the same photos a few pixels apart, and
# the figure is about face height, which they share (a third of the embedding time, ~35 s).
FRAME_STEP = 3


def crop_fixed_px(rgb: np.ndarray, box: np.ndarray, margin_px: float) -> np.ndarray:
    """The paper's crop: box plus ``margin_px`` (half per side) clipped to the frame, resized."""
    height, width = rgb.shape[:2]
    x1, y1 = (
        int(max(np.floor(box[0] - margin_px / 2), 0)),
        int(max(np.floor(box[1] - margin_px / 2), 0)),
    )
    x2 = int(min(np.ceil(box[2] + margin_px / 2), width))
    y2 = int(min(np.ceil(box[3] + margin_px / 2), height))
    if x2 <= x1 or y2 <= y1:
        return np.zeros((FACE_SIZE_PX, FACE_SIZE_PX, 3), np.uint8)
    return cv2.resize(
        rgb[y1:y2, x1:x2], (FACE_SIZE_PX, FACE_SIZE_PX), interpolation=cv2.INTER_LINEAR
    )


@dataclass(frozen=True)
class Crop:
    """One way of cropping: its label and the function from (frame, box) to a 160x160 face."""

    label: str
    margin: float  # px for the paper's crop, a fraction of the box side otherwise
    in_proportion: bool

    def cut(self, rgb: np.ndarray, box: np.ndarray) -> np.ndarray:
        if self.in_proportion:
            return crop_with_margin(rgb, box, self.margin)
        return crop_fixed_px(rgb, box, self.margin)


def before_and_after(margin: float) -> tuple[Crop, Crop]:
    """The paper's 44 px crop and the crop ``margin`` x the box side."""
    return Crop("44 px (paper)", PAPER_MARGIN_PX, False), Crop(
        f"{margin:g} x box side", margin, True
    )


def embed_boxes(recognizer, video: Path, faces: pd.DataFrame, crop: Crop) -> np.ndarray:
    """(len(faces), 128) embeddings of ``faces`` (x, y, w, h, frame) cut from ``video``."""
    out = np.zeros((len(faces), 128), np.float32)
    by_frame = faces.groupby("frame").indices
    with open_reader(video, "opencv") as reader:
        for frame, rgb in enumerate(reader):
            rows = by_frame.get(frame)
            if rows is None:
                continue
            boxes = faces[["x", "y", "w", "h"]].to_numpy()[rows]
            corners = np.c_[boxes[:, :2], boxes[:, :2] + boxes[:, 2:]]
            cut = np.stack([crop.cut(rgb, box) for box in corners])
            out[rows] = recognizer.embed(prewhiten(cut))
    return out


def photo_embeddings(
    detector, recognizer, photos: list[Photo], crop: Crop
) -> dict[str, np.ndarray]:
    """Each person's val photos embedded with ``crop`` (largest face per photo)."""
    people: dict[str, list[np.ndarray]] = {}
    for photo in photos:
        rgb = read_rgb(photo.path)
        found = detector.detect(rgb)
        if not len(found):
            continue
        areas = (found.boxes[:, 2] - found.boxes[:, 0]) * (found.boxes[:, 3] - found.boxes[:, 1])
        face = crop.cut(rgb, found.boxes[int(areas.argmax())])
        people.setdefault(photo.person, []).append(recognizer.embed(prewhiten(face[None]))[0])
    return {person: np.stack(rows) for person, rows in people.items()}


def truth_distances(
    detector,
    recognizer,
    photos: list[Photo],
    videos: dict[tuple[str, str], tuple[Path, pd.DataFrame]],
    crops: tuple[Crop, ...],
) -> pd.DataFrame:
    """Per ground-truth face of every (video, resolution) in ``videos`` (its file and ground
    truth) of a person with val ``photos``, per crop: face height and the distance to its own
    photo; faces cut at the ground-truth box, so a missed detection does not drop a face. Only
    every :data:`FRAME_STEP`-th frame's faces."""
    tables = []
    for crop in crops:
        own = photo_embeddings(detector, recognizer, photos, crop)
        for (video, resolution), (path, truth) in videos.items():
            shown = truth["identity"].isin(list(own)) & (truth["frame"] % FRAME_STEP == 0)
            faces = truth[shown].reset_index(drop=True)
            embeddings = embed_boxes(recognizer, path, faces, crop)
            nearest = [
                np.sqrt(max(2 - 2 * (own[name] @ row).max(), 0.0))
                for name, row in zip(faces["identity"], embeddings, strict=True)
            ]
            tables.append(
                pd.DataFrame(
                    {
                        "video": video,
                        "resolution": resolution,
                        "crop": crop.label,
                        "identity": faces["identity"].astype(str),
                        "face_h_px": faces["h"].astype(float),
                        "distance": nearest,
                    }
                )
            )
    return pd.concat(tables, ignore_index=True)


def draw(distances: pd.DataFrame, svg: Path, threshold_l2: float) -> None:
    """Distance to the own photo against face height, one colour per crop (log x axis)."""
    with figure(svg, size=(7, 4.5)) as (ax,):
        for crop, rows in distances.groupby("crop", sort=False):
            ax.scatter(rows["face_h_px"], rows["distance"], s=8, alpha=0.5, label=crop)
        ax.axhline(threshold_l2, color="grey", linestyle="--", linewidth=1, label="threshold")
        ax.set_xscale("log")
        ax.set_xlabel("face height in the frame (px, log scale)")
        ax.set_ylabel("L2 distance to the person's own photo")
        n_faces = len(distances) // max(distances["crop"].nunique(), 1)
        n_people = distances["identity"].nunique()
        ax.set_title(f"Crop margin: {n_faces} video faces of {n_people} people, each crop")
        ax.legend(title="crop margin")
