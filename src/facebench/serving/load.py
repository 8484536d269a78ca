"""Many cameras against one recognition server: the MLPerf Server scenario, open loop.

``python -m facebench.serving.load ...`` computes the edge half of every frame of a clip once
(JPEGs for cloud; detection, tracking and crops for hybrid), then replays those messages over
fresh TCP connections: N cameras paced at the clip's frame rate (``--cameras``), Poisson
arrivals at a rate (``--poisson-rate``), or the highest Poisson rate whose p99 latency stays
within a bound (``--poisson-peak``). Every request is sent on schedule whatever is outstanding;
the server's bounded queue rejects what it cannot take. Writes requests.parquet, faces.parquet
and points.json into ``--out``; exits 3 with one line when the server cannot be reached.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from facebench.fileio import atomic_path, write_json
from facebench.remote.endpoints import (
    ServerGone,
    add_pipeline_arguments,
    exit_on_error,
    load_pipeline,
    missing_pipeline_flags,
    read_clip,
)
from facebench.remote.protocol import PeerClosed, ProtocolError, encode, now_ns, read_message
from facebench.serving.peak import find_peak_rate
from facebench.strategies import edge
from facebench.strategies.edge import CONNECT_TIMEOUT_S, Edge, EdgeSettings

SETTLE_S = 10.0  # replies still outstanding this long after the last send are lost
START_DELAY_S = 0.1  # the first send is scheduled this long after every connection is up
POINT_PAUSE_S = 1.0  # between points, so one point's backlog never meets the next
MAX_FAILED_FRACTION = 0.01  # a trial with more requests not answered ok fails the p99 bound
QUEUE_FULL = "server queue full"
STATUSES = ("ok", "rejected", "error", "lost")
SERVER_FIELDS = {  # reply field -> column; the server's reply time beside ours
    "t_recv_ns": "t_recv_ns",
    "t_enqueue_ns": "t_enqueue_ns",
    "t_batch_start_ns": "t_batch_start_ns",
    "t_assembled_ns": "t_assembled_ns",
    "t_start_ns": "t_start_ns",
    "t_done_ns": "t_done_ns",
    "t_reply_ns": "t_server_reply_ns",
    "server_cpu_s": "server_cpu_s",
    "batch_size": "batch_size",
    "batch_faces": "batch_faces",
}
REQUEST_COLUMNS = [
    "camera",
    "frame",
    "clip_frame",
    "is_warmup",
    "status",
    "t_send_ns",
    "t_sent_ns",
    "t_reply_ns",
    "latency_s",
    "n_faces_sent",
    "n_faces",
    *SERVER_FIELDS.values(),
]
FACE_COLUMNS = ["camera", *edge.FACE_COLUMNS]


@dataclass(frozen=True)
class ClipMessages:
    """The work message of every frame of a clip, computed before any clock runs."""

    strategy: str
    fps: float
    messages: list[tuple[dict, bytes]]  # header without its frame number, payload

    @property
    def n_frames(self) -> int:
        return len(self.messages)

    @property
    def faces_per_frame(self) -> list[int]:
        """Faces the edge found in each frame (hybrid; a cloud camera finds none itself)."""
        return [len(header.get("faces", [])) for header, _ in self.messages]


def prepare_messages(
    video: Path,
    strategy: str,
    models_dir: Path | None,
    gallery: Path | None,
    detector: str | None,
    recognizer: str | None,
    alignment: str,
    reidentify_s: float,
    jpeg_quality: int,
    threads: int = 1,
) -> ClipMessages:
    """Each frame's message as the strategy's edge makes it at capture time ``i / fps`` (cloud:
    the JPEG, no models; hybrid: detection, tracking, crops), held in memory only."""
    clip, fps = read_clip(video)
    pipeline = None
    if strategy != "cloud":
        pipeline = load_pipeline(models_dir, gallery, detector, recognizer, threads, alignment)
    settings = EdgeSettings(strategy, jpeg_quality, reidentify_s=reidentify_s, alignment=alignment)
    camera, messages = Edge(settings, pipeline), []
    for i, rgb in enumerate(clip):
        header, payload, _ = camera.message(i, rgb, i / fps)
        del header["frame"]
        messages.append((header, payload))
    return ClipMessages(strategy, fps, messages)


async def _connect(host: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    try:
        return await asyncio.wait_for(asyncio.open_connection(host, port), CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError) as error:
        raise ServerGone(f"server {host}:{port}: cannot connect ({error})") from error


async def check_server(host: str, port: int) -> None:
    """Raise ServerGone unless the server answers a hello."""
    reader, writer = await _connect(host, port)
    try:
        writer.write(encode({"kind": "hello"}))
        await asyncio.wait_for(read_message(reader), CONNECT_TIMEOUT_S)
    except (PeerClosed, ProtocolError, OSError, TimeoutError) as error:
        raise ServerGone(f"server {host}:{port}: no answer to hello ({error!r})") from error
    finally:
        writer.close()


class Session:
    """One connection (a camera): requests sent as scheduled, one reader task matching the
    replies to them by frame number."""

    def __init__(
        self, camera: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.camera, self.reader, self.writer = camera, reader, writer
        self.rows: list[dict] = []
        self.faces: list[dict] = []
        self.pending: dict[int, dict] = {}  # frame -> its row, until a reply comes
        self.closed = False  # by the server
        self.idle = asyncio.Event()  # nothing pending, or closed
        self.reading = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            while True:
                header, _, _ = await read_message(self.reader)
                self._answer(header, now_ns())
        except (PeerClosed, ProtocolError, OSError):
            self.closed = True
            self.idle.set()

    def _answer(self, header: dict, t_reply_ns: int) -> None:
        frame = header.get("frame")
        row = self.pending.pop(frame, None) if isinstance(frame, int) else None
        if row is None:  # a control reply, or an error about no request
            return
        row["t_reply_ns"] = t_reply_ns
        if header["kind"] == "error":
            row["status"] = "rejected" if header.get("error") == QUEUE_FULL else "error"
        else:
            faces = header.get("faces", [])
            row.update(status="ok", n_faces=len(faces))
            row.update({column: header.get(key, np.nan) for key, column in SERVER_FIELDS.items()})
            rows = edge._faces_rows(frame, row["clip_frame"], faces, "server")
            self.faces += [{"camera": self.camera, **face} for face in rows]
        if not self.pending:
            self.idle.set()

    def send(self, frame: int, clip_frame: int, t_send_ns: int, message: tuple) -> None:
        """Send one request now (scheduled at ``t_send_ns``); once the server has closed the
        connection it is only recorded, as lost."""
        header, payload = message
        row = {
            "camera": self.camera,
            "frame": frame,
            "clip_frame": clip_frame,
            "status": "lost",
            "t_send_ns": t_send_ns,
            "t_sent_ns": np.nan,
            "t_reply_ns": np.nan,
            "n_faces_sent": len(header.get("crop_tracks", [])),
            "n_faces": np.nan,
            **dict.fromkeys(SERVER_FIELDS.values(), np.nan),
        }
        self.rows.append(row)
        if self.closed or self.writer.is_closing():
            return
        self.pending[frame] = row
        self.idle.clear()
        row["t_sent_ns"] = now_ns()
        self.writer.write(encode({**header, "frame": frame}, payload))

    async def settle(self, timeout_s: float) -> None:
        """Wait at most ``timeout_s`` for the outstanding replies; the rest stay lost."""
        if self.pending:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.idle.wait(), timeout_s)

    def close(self) -> None:
        self.reading.cancel()
        self.writer.close()


async def _send_on_schedule(session: Session, clip: ClipMessages, times_ns: np.ndarray) -> None:
    """Send the clip's messages in order (looping) at ``times_ns``, whatever is outstanding."""
    for frame, t_ns in enumerate(times_ns.tolist()):
        if not session.closed:  # a closed camera records the rest of its schedule at once
            await asyncio.sleep(max(0, t_ns - now_ns()) / 1e9)
        clip_frame = frame % clip.n_frames
        session.send(frame, clip_frame, t_ns, clip.messages[clip_frame])


def camera_offsets_ns(n_cameras: int, fps: float, total_s: float) -> list[np.ndarray]:
    """Capture times of each camera: ``fps`` for ``total_s``, camera k offset k / (N fps)."""
    n_frames = math.ceil(round(total_s * fps, 6))  # 0.7 s at 10 fps: 7 frames, not 8
    return [
        np.round((np.arange(n_frames) + k / n_cameras) * 1e9 / fps).astype(np.int64)
        for k in range(n_cameras)
    ]


def poisson_offsets_ns(
    rate_per_s: float, total_s: float, n_connections: int, seed: int
) -> list[np.ndarray]:
    """Poisson arrivals at ``rate_per_s`` for ``total_s``, dealt round-robin to connections."""
    bound = math.ceil(2 * rate_per_s * total_s + 100)  # exceeded by chance ~never
    arrivals = np.cumsum(np.random.default_rng(seed).exponential(1e9 / rate_per_s, bound))
    arrivals = arrivals[arrivals < total_s * 1e9].astype(np.int64)
    return [arrivals[c::n_connections] for c in range(n_connections)]


async def replay(
    host: str,
    port: int,
    clip: ClipMessages,
    offsets_ns: list[np.ndarray],
    warmup_s: float,
    settle_s: float = SETTLE_S,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One connection per schedule (send times from a common start), all replayed at once;
    the requests and the faces of their replies."""
    sessions: list[Session] = []
    try:
        for camera in range(len(offsets_ns)):
            sessions.append(Session(camera, *await _connect(host, port)))
        t0 = now_ns() + round(START_DELAY_S * 1e9)
        await asyncio.gather(
            *(_send_on_schedule(s, clip, t0 + o) for s, o in zip(sessions, offsets_ns, strict=True))
        )
        await asyncio.gather(*(s.settle(settle_s) for s in sessions))
    finally:
        for session in sessions:
            session.close()
    requests = pd.DataFrame([row for s in sessions for row in s.rows])
    requests["is_warmup"] = requests["t_send_ns"] - t0 < warmup_s * 1e9
    requests["latency_s"] = (requests["t_reply_ns"] - requests["t_send_ns"]) / 1e9
    faces = pd.DataFrame([face for s in sessions for face in s.faces], columns=FACE_COLUMNS)
    return requests[REQUEST_COLUMNS], faces


async def run_cameras(
    host: str,
    port: int,
    clip: ClipMessages,
    n_cameras: int,
    duration_s: float,
    warmup_s: float,
    settle_s: float = SETTLE_S,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``n_cameras`` paced at the clip's frame rate for ``warmup_s + duration_s``."""
    offsets = camera_offsets_ns(n_cameras, clip.fps, warmup_s + duration_s)
    return await replay(host, port, clip, offsets, warmup_s, settle_s)


async def run_poisson(
    host: str,
    port: int,
    clip: ClipMessages,
    rate_per_s: float,
    duration_s: float,
    warmup_s: float,
    n_connections: int = 8,
    seed: int = 0,
    settle_s: float = SETTLE_S,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Poisson arrivals at ``rate_per_s`` over ``n_connections`` for ``warmup_s + duration_s``;
    each connection replays the clip in order, so its track ids stay consistent."""
    offsets = poisson_offsets_ns(rate_per_s, warmup_s + duration_s, n_connections, seed)
    return await replay(host, port, clip, offsets, warmup_s, settle_s)


def summarize(requests: pd.DataFrame, duration_s: float) -> dict:
    """Counts by status, ok replies per second and latency percentiles after the warm-up."""
    measured = requests[~requests["is_warmup"]]
    counts = measured["status"].value_counts()
    latency = measured.loc[measured["status"] == "ok", "latency_s"]
    p50, p99 = latency.quantile(0.5), latency.quantile(0.99)
    return {
        "requests": len(measured),
        **{status: int(counts.get(status, 0)) for status in STATUSES},
        "ok_per_s": int(counts.get("ok", 0)) / duration_s,
        "p50_latency_s": None if math.isnan(p50) else float(p50),
        "p99_latency_s": None if math.isnan(p99) else float(p99),
    }


def trial_p99_s(summary: dict) -> float:
    """A trial's p99 latency; +inf when more than 1 % of its requests were not answered ok."""
    failed = summary["requests"] - summary["ok"]
    if failed > MAX_FAILED_FRACTION * summary["requests"] or summary["p99_latency_s"] is None:
        return math.inf
    return summary["p99_latency_s"]


class Recorder:
    """Every point's tables and summary, rewritten atomically into ``out`` after each point."""

    def __init__(self, out: Path, args: dict) -> None:
        self.out, self.args = out, args
        self.requests: list[pd.DataFrame] = []
        self.faces: list[pd.DataFrame] = []
        self.points: list[dict] = []

    def add(self, point: dict, tables: tuple[pd.DataFrame, pd.DataFrame]) -> dict:
        """Record one point (``point``: its name and mode); its summary."""
        requests, faces = tables
        summary = {**point, **summarize(requests, self.args["duration_s"])}
        self.requests.append(requests.assign(point=point["point"]))
        self.faces.append(faces.assign(point=point["point"]))
        self.points.append(summary)
        self.write()
        p99 = summary["p99_latency_s"]
        print(
            f"load: {point['point']}: {summary['requests']} requests, "
            + ", ".join(f"{s} {summary[s]}" for s in STATUSES)
            + f", {summary['ok_per_s']:.1f} ok/s, p99 "
            + ("-" if p99 is None else f"{p99 * 1e3:.0f} ms"),
            file=sys.stderr,
            flush=True,
        )
        return summary

    def write(self, **extra) -> None:
        for name, tables in (("requests", self.requests), ("faces", self.faces)):
            with atomic_path(self.out / f"{name}.parquet") as tmp:
                pd.concat(tables, ignore_index=True).to_parquet(tmp, index=False)
        write_json(self.out / "points.json", {**self.args, "points": self.points, **extra})


def _points(args: argparse.Namespace, clip: ClipMessages, recorder: Recorder) -> None:
    timing = (args.duration_s, args.warmup_s)
    if args.cameras:
        for i, n_cameras in enumerate(args.cameras):
            time.sleep(POINT_PAUSE_S if i else 0)
            tables = asyncio.run(run_cameras(args.host, args.port, clip, n_cameras, *timing))
            recorder.add(
                {"point": f"cameras={n_cameras}", "mode": "cameras", "cameras": n_cameras}, tables
            )

    def measure(rate: float) -> float:
        time.sleep(POINT_PAUSE_S if recorder.points else 0)
        tables = asyncio.run(
            run_poisson(args.host, args.port, clip, rate, *timing, args.connections, args.seed)
        )
        point = {"point": f"poisson={rate:g}", "mode": "poisson", "rate_per_s": rate}
        return trial_p99_s(recorder.add(point, tables))

    if args.poisson_rate:
        measure(args.poisson_rate)
    if not args.poisson_peak:
        return
    peak, _ = find_peak_rate(
        measure, args.rate_lo, args.rate_hi or clip.fps, args.p99_bound_ms / 1e3, args.iterations
    )
    recorder.write(peak_rate_per_s=peak)
    print(f"load: peak {peak:g} requests/s within p99 {args.p99_bound_ms:g} ms", file=sys.stderr)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--video", type=Path, required=True)
    parser.add_argument("--strategy", choices=("cloud", "hybrid"), required=True)
    add_pipeline_arguments(parser, threads=1)  # hybrid only: its messages' edge half
    parser.add_argument("--reidentify-s", type=float, default=1.0)
    parser.add_argument("--jpeg-quality", type=int, default=90)
    parser.add_argument("--duration-s", type=float, required=True, help="measured, per point")
    parser.add_argument("--warmup-s", type=float, default=0.0, help="before it, flagged")
    parser.add_argument("--cameras", type=int, nargs="+", help="paced cameras, per point")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--poisson-rate", type=float, help="Poisson arrivals per second")
    mode.add_argument("--poisson-peak", action="store_true", help="search the peak rate")
    parser.add_argument("--p99-bound-ms", type=float, default=500.0)
    parser.add_argument("--iterations", type=int, default=5, help="bisections of the search")
    parser.add_argument("--rate-lo", type=float, default=1.0)
    parser.add_argument("--rate-hi", type=float, default=0.0, help="first upper bound (0: fps)")
    parser.add_argument("--connections", type=int, default=8, help="for Poisson arrivals")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    if not (args.cameras or args.poisson_rate or args.poisson_peak):
        parser.error("give --cameras, --poisson-rate or --poisson-peak (cameras go first)")
    if args.strategy == "hybrid" and (missing := missing_pipeline_flags(args)):
        parser.error(f"hybrid needs {', '.join(missing)}")
    return args


def main(argv: list[str] | None = None) -> None:
    """Command line: check the server, prepare the clip's messages, run every point."""
    args = parse_args(argv)
    asyncio.run(check_server(args.host, args.port))
    clip = prepare_messages(
        args.video,
        args.strategy,
        args.models_dir,
        args.gallery,
        args.detector,
        args.recognizer,
        args.alignment,
        args.reidentify_s,
        args.jpeg_quality,
        args.threads,
    )
    recorded = {"strategy", "video", "duration_s", "warmup_s", "reidentify_s", "jpeg_quality"}
    recorder = Recorder(args.out, {k: v for k, v in vars(args).items() if k in recorded})
    _points(args, clip, recorder)


if __name__ == "__main__":
    exit_on_error("load", main)
