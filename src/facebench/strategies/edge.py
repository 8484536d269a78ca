"""The camera and its edge device: a clip replayed on a clock, each frame handled per strategy.

``python -m facebench.strategies.edge --strategy cloud|edge|hybrid ...`` holds the clip decoded
in memory and captures frame ``i`` at ``t0 + i / fps`` (looping the clip for ``duration_s``).
When the edge is free it takes the newest captured frame; frames captured while it was busy
are dropped and counted, as is a frame that finds ``max_inflight`` messages still unanswered
(the MLPerf Server view, not the runner's as-fast-as-possible one). Per strategy a frame
becomes a JPEG sent to the server (cloud), the whole pipeline's identities sent as metadata
(edge), or detection + tracking with crops of unidentified tracks sent (hybrid). Every time is
CLOCK_MONOTONIC, shared with the server process on this host. Writes frames.csv, faces.csv and
edge.json into ``--out``; exits 3 with one line when the server goes away.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from facebench.fileio import write_json
from facebench.harness.latency import peak_rss_mb
from facebench.recognition.faces import extract_faces
from facebench.recognition.tracker import IouTracker
from facebench.remote.endpoints import (
    ServerGone,
    add_pipeline_arguments,
    encode_jpeg,
    exit_on_error,
    missing_pipeline_flags,
    pipeline_from_args,
    read_clip,
)
from facebench.remote.protocol import (
    TRANSPORT,
    PeerClosed,
    ProtocolError,
    encode,
    now_ns,
    recv_message,
)

STRATEGIES = ("cloud", "edge", "hybrid")
CONNECT_TIMEOUT_S = 10.0
REQUEST_TIMEOUT_S = 30.0
SMALL = {"small": True}  # a hybrid face row below the minimum face size (no crop sent)
FACE_COLUMNS = [
    "frame",
    "clip_frame",
    "x",
    "y",
    "w",
    "h",
    "score",
    "identity",
    "distance",
    "track_id",
    "source",
]


class ServerLink:
    """A connection to the server with a thread collecting its replies as they come."""

    def __init__(self, address: tuple[str, int]) -> None:
        self.address = address
        try:
            self.sock = socket.create_connection(address, timeout=CONNECT_TIMEOUT_S)
        except OSError as error:
            raise ServerGone(
                f"server {address[0]}:{address[1]}: cannot connect ({error})"
            ) from error
        self.sock.settimeout(None)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.replies: dict[int, tuple[dict, int, int]] = {}  # frame -> reply, bytes, t_ns
        self.control: dict[str, dict] = {}  # hello / stats replies
        self.inflight: set[int] = set()
        self.gone: str | None = None
        self.changed = threading.Condition()
        self.receiver = threading.Thread(target=self._receive, daemon=True)
        self.receiver.start()

    def _receive(self) -> None:
        while True:
            try:
                header, _, size = recv_message(self.sock)
            except (PeerClosed, ProtocolError, OSError) as error:
                with self.changed:
                    self.gone = f"server closed the connection ({error})"
                    self.changed.notify_all()
                return
            t_ns = now_ns()
            with self.changed:
                frame = header.get("frame")
                if header["kind"] in ("result", "error") and isinstance(frame, int):
                    self.replies[frame] = (header, size, t_ns)
                    self.inflight.discard(frame)
                else:
                    self.control[header["kind"]] = header
                self.changed.notify_all()

    def send(self, header: dict, payload: bytes = b"") -> int:
        """Send one message; its size on the wire."""
        message = encode(header, payload)
        with self.changed:
            if self.gone:
                raise ServerGone(self.gone)
            if isinstance(header.get("frame"), int):
                self.inflight.add(header["frame"])
        try:
            self.sock.sendall(message)
        except OSError as error:
            raise ServerGone(f"server closed the connection ({error})") from error
        return len(message)

    def wait(self, predicate, timeout_s: float, what: str) -> None:
        """Block until ``predicate()`` holds (under the lock); ServerGone if the server left or
        it did not hold within ``timeout_s``."""
        with self.changed:
            if not self.changed.wait_for(lambda: predicate() or self.gone, timeout_s):
                raise ServerGone(f"no {what} from the server within {timeout_s:.0f} s")
            if self.gone and not predicate():
                raise ServerGone(self.gone)

    def request(self, kind: str) -> dict:
        """A control request (hello, stats) and its reply."""
        self.control.pop(kind, None)
        self.send({"kind": kind})
        self.wait(lambda: kind in self.control, REQUEST_TIMEOUT_S, f"{kind} reply")
        return self.control[kind]

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()


@dataclass(frozen=True)
class EdgeSettings:
    """How the edge handles frames (recorded in edge.json)."""

    strategy: str
    jpeg_quality: int = 90
    max_inflight: int = 2
    reidentify_s: float = 1.0
    alignment: str = "crop"


def _faces_rows(frame: int, clip_frame: int, faces: list[dict], source: str) -> list[dict]:
    rows = []
    for face in faces:
        x1, y1, x2, y2 = face["box"]
        rows.append(
            {
                "frame": frame,
                "clip_frame": clip_frame,
                "x": x1,
                "y": y1,
                "w": x2 - x1,
                "h": y2 - y1,
                "score": face["score"],
                "identity": face["identity"],
                "distance": face["distance"],
                "track_id": face.get("track", -1),
                "source": face.get("source", source),
            }
        )
    return rows


class Edge:
    """One strategy's edge half: turns a captured frame into a message and its local faces."""

    def __init__(self, settings: EdgeSettings, pipeline=None) -> None:
        self.settings, self.pipeline = settings, pipeline
        self.tracker = IouTracker()
        self.crop_sent_s: dict[int, float] = {}  # track -> capture time of its last crop sent

    def message(self, frame: int, rgb: np.ndarray, t_s: float) -> tuple[dict, bytes, list[dict]]:
        """Header, payload and the faces known at the edge (edge strategy) for one frame."""
        header = {"kind": "", "frame": frame}
        strategy = self.settings.strategy
        if strategy == "cloud":
            header["kind"] = "frame"
            return header, encode_jpeg(rgb, self.settings.jpeg_quality), []
        if strategy == "edge":
            result = self.pipeline.process(rgb)
            found = result.detections
            faces = [
                {"box": b.tolist(), "score": float(s), "identity": str(n), "distance": float(d)}
                for b, s, n, d in zip(
                    found.boxes, found.scores, result.identities, result.distances, strict=True
                )
            ]
            return {**header, "kind": "meta", "faces": faces}, b"", faces
        return self._hybrid(header, rgb, t_s)

    def _hybrid(self, header: dict, rgb: np.ndarray, t_s: float) -> tuple[dict, bytes, list[dict]]:
        found = self.pipeline.detector.detect(rgb)
        tracks = self.tracker.update(found.boxes, t_s)
        big = self.pipeline.gallery.big_enough(found.boxes)
        stale = [
            k
            for k, track in enumerate(tracks)
            if big[k]
            and t_s - self.crop_sent_s.get(int(track), -math.inf) > self.settings.reidentify_s
        ]
        crops = extract_faces(
            rgb,
            found.boxes[stale],
            found.landmarks[stale],
            self.settings.alignment,
            self.pipeline.gallery.crop_margin,
        )
        encoded = [encode_jpeg(crop, self.settings.jpeg_quality) for crop in crops]
        for k in stale:
            self.crop_sent_s[int(tracks[k])] = t_s
        header.update(
            kind="faces",
            faces=[
                {"box": b.tolist(), "score": float(s), "track": int(t)} | ({} if g else SMALL)
                for b, s, t, g in zip(found.boxes, found.scores, tracks, big, strict=True)
            ],
            crop_tracks=[int(tracks[k]) for k in stale],
            crop_bytes=[len(e) for e in encoded],
        )
        return header, b"".join(encoded), []


def _paced_loop(
    link: ServerLink,
    edge: Edge,
    clip: list[np.ndarray],
    fps: float,
    n_frames: int,
    max_inflight: int,
) -> tuple[list[dict], list[dict]]:
    """Capture ``n_frames`` on the clock; rows per captured frame and per locally known face."""
    period_ns = 1e9 / fps
    t0 = now_ns() + int(0.1e9)
    rows = [
        {
            "frame": i,
            "clip_frame": i % len(clip),
            "t_capture_ns": t0 + round(i * period_ns),
            "status": "dropped",
            "bytes_up": 0,
            "edge_cpu_s": np.nan,
            "n_sent_faces": 0,
        }
        for i in range(n_frames)
    ]
    faces: list[dict] = []
    i = 0
    while i < n_frames:
        now = now_ns()
        if now < rows[i]["t_capture_ns"]:
            time.sleep((rows[i]["t_capture_ns"] - now) / 1e9)
            continue
        if link.gone:
            raise ServerGone(f"{link.gone} at frame {i}")
        i = max(i, min(n_frames - 1, int((now - t0) // period_ns)))  # newest captured frame
        if len(link.inflight) >= max_inflight:
            i += 1  # the send window is full: this frame is dropped
            continue
        row = rows[i]
        cpu = time.process_time()
        header, payload, local = edge.message(
            i, clip[row["clip_frame"]], (row["t_capture_ns"] - t0) / 1e9
        )
        row["edge_cpu_s"] = time.process_time() - cpu
        try:
            row["bytes_up"] = link.send(header, payload)
        except ServerGone as error:
            raise ServerGone(f"{error} at frame {i}") from error
        row["status"] = "sent"
        row["n_sent_faces"] = len(header.get("crop_tracks", []))
        faces += _faces_rows(i, row["clip_frame"], local, "edge")
        i += 1
    return rows, faces


def _settle(link: ServerLink, rows: list[dict], faces: list[dict], timeout_s: float) -> int:
    """Wait for the replies still in flight, then fill each frame's row from its reply;
    returns the number of error replies."""
    link.wait(lambda: not link.inflight, timeout_s, "reply to the last frames")
    errors = 0
    for row in rows:
        if row["status"] != "sent":
            continue
        reply = link.replies.get(row["frame"])
        if reply is None or reply[0]["kind"] == "error":
            errors += reply is not None
            row["status"] = "lost"
            continue
        header, size, t_reply = reply
        row.update(
            status="processed",
            t_done_ns=header["t_done_ns"],
            t_reply_ns=t_reply,
            bytes_down=size,
            server_cpu_s=header["server_cpu_s"],
        )
        if "faces" in header:
            faces += _faces_rows(row["frame"], row["clip_frame"], header["faces"], "server")
    return errors


def frames_table(rows: list[dict], faces: pd.DataFrame, warmup_frames: int) -> pd.DataFrame:
    """frames.csv: one row per captured frame (see the module docstring)."""
    table = pd.DataFrame(rows)
    for column in ("t_done_ns", "t_reply_ns", "bytes_down", "server_cpu_s"):
        if column not in table:
            table[column] = np.nan
    t0 = table["t_capture_ns"].iloc[0]
    counts = faces.groupby("frame").size() if len(faces) else pd.Series(dtype=int)
    return pd.DataFrame(
        {
            "frame": table["frame"],
            "clip_frame": table["clip_frame"],
            "is_warmup": table["frame"] < warmup_frames,
            "t_capture_s": (table["t_capture_ns"] - t0) / 1e9,
            "status": table["status"],
            "latency_s": (table["t_done_ns"] - table["t_capture_ns"]) / 1e9,
            "reply_latency_s": (table["t_reply_ns"] - table["t_capture_ns"]) / 1e9,
            "bytes_up": table["bytes_up"].astype(np.int64),
            "bytes_down": table["bytes_down"].fillna(0).astype(np.int64),
            "edge_cpu_s": table["edge_cpu_s"],
            "server_cpu_s": table["server_cpu_s"],
            "n_faces": counts.reindex(table["frame"], fill_value=0).to_numpy(),
            "n_sent_faces": table["n_sent_faces"],
        }
    )


def run_edge(args: argparse.Namespace) -> dict:
    """Load, warm up, run the clock for ``duration_s``, write the outputs; a summary."""
    if args.cpus:
        os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[-args.cpus :])
    settings = EdgeSettings(
        args.strategy, args.jpeg_quality, args.max_inflight, args.reidentify_s, args.alignment
    )
    t_load = time.perf_counter()
    pipeline = None
    if args.strategy != "cloud":
        pipeline = pipeline_from_args(args)
    clip, fps = read_clip(args.video)
    fps = args.fps or fps
    load_s = time.perf_counter() - t_load
    link = ServerLink((args.host, args.port))
    try:
        hello = link.request("hello")
        t_warm = time.perf_counter()
        header, payload, _ = Edge(settings, pipeline).message(-1, clip[0], 0.0)
        link.send({**header, "frame": -1}, payload)  # warms the server (and the edge) up
        link.wait(lambda: -1 in link.replies, REQUEST_TIMEOUT_S, "reply to the warm-up frame")
        warmup_s = time.perf_counter() - t_warm
        link.replies.clear()
        n_frames = max(1, math.ceil(args.duration_s * fps))
        rows, faces = _paced_loop(
            link, Edge(settings, pipeline), clip, fps, n_frames, args.max_inflight
        )
        errors = _settle(link, rows, faces, REQUEST_TIMEOUT_S)
        server_stats = link.request("stats")
    finally:
        link.close()
    faces_table = pd.DataFrame(faces, columns=FACE_COLUMNS)
    frames = frames_table(rows, faces_table, args.warmup_frames)
    out = Path(args.out)
    frames.to_csv(out / "frames.csv", index=False, float_format="%.9g")
    faces_table.to_csv(out / "faces.csv", index=False, float_format="%.6g")
    status = frames["status"].value_counts()
    summary = {
        "strategy": args.strategy,
        "fps": fps,
        "duration_s": args.duration_s,
        "clip_frames": len(clip),
        "frames": {
            "captured": len(frames),
            **{s: int(status.get(s, 0)) for s in ("processed", "dropped", "lost")},
            "error_replies": errors,
        },
        "settings": vars(settings),
        "transport": TRANSPORT,
        "encoding": f"JPEG quality {args.jpeg_quality} (OpenCV)"
        if args.strategy != "edge"
        else "none (JSON metadata)",
        "edge_cpus": sorted(os.sched_getaffinity(0)),
        "edge_threads": args.threads,
        "edge_backends": (
            {"detector": pipeline.detector.info, "recognizer": pipeline.recognizer.info}
            if pipeline
            else None
        ),
        "edge_load_s": load_s,
        "warmup_frame_s": warmup_s,
        "edge_peak_rss_mb": peak_rss_mb(),
        "server_hello": hello,
        "server_stats": server_stats,
    }
    write_json(out / "edge.json", summary)
    return summary


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strategy", choices=STRATEGIES, required=True)
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--video", type=Path, required=True)
    parser.add_argument("--fps", type=float, default=0.0, help="capture rate (0: the video's)")
    parser.add_argument("--duration-s", type=float, required=True)
    parser.add_argument("--warmup-frames", type=int, default=5)
    add_pipeline_arguments(parser, threads=1)
    parser.add_argument("--cpus", type=int, default=0, help="cores the edge may use (0: all)")
    parser.add_argument("--jpeg-quality", type=int, default=90)
    parser.add_argument("--max-inflight", type=int, default=2)
    parser.add_argument("--reidentify-s", type=float, default=1.0)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.strategy != "cloud" and (missing := missing_pipeline_flags(args)):
        parser.error(f"{', '.join(missing)} required for the {args.strategy} strategy")
    return args


if __name__ == "__main__":
    exit_on_error("edge", lambda: run_edge(parse_args()))
