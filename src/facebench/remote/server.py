"""The recognition server: frames (cloud), face crops (hybrid) or metadata (edge) in; identities
out.

``python -m facebench.remote.server --host H --port P ...`` loads the pipeline, prints one
JSON line ``{"ready": ...}`` on stdout and serves until SIGTERM. Every connection's messages
enter one bounded dynamic batcher (``facebench.remote.batcher``): a batch runs when
``--max-batch`` messages wait or the oldest has waited ``--max-queue-delay-ms``, on an executor
thread, so the event loop keeps reading and answering meanwhile. With ``--max-batch 1`` (the
default) each message is computed alone as the paper's pipeline does (faces embedded one by
one); with more, every face of a batch goes through one recognizer call. A full queue rejects
the message with a counted error reply; a malformed message gets an error reply (and the
connection is closed only when the stream cannot be parsed past it); a client too slow to read
its replies is disconnected rather than allowed to grow the server's buffers; a client that
left has its waiting messages withdrawn and its results dropped, counted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import partial
from typing import ClassVar

os.environ.setdefault("OPENCV_IO_MAX_IMAGE_PIXELS", str(4096 * 4096))  # before cv2 is imported
import cv2
import numpy as np

from facebench.backends.base import Detections
from facebench.harness.latency import peak_rss_mb
from facebench.models.layout import FACE_SIZE_PX, FACENET_EMBEDDING_SIZE
from facebench.recognition.faces import extract_faces
from facebench.recognition.gallery import TOO_SMALL, UNKNOWN, Gallery
from facebench.recognition.pipeline import FacePipeline
from facebench.recognition.tracks import TrackIdentity, face_quality
from facebench.remote.batcher import DynamicBatcher, QueueFull
from facebench.remote.endpoints import (
    add_pipeline_arguments,
    missing_pipeline_flags,
    pipeline_from_args,
)
from facebench.remote.protocol import (
    PeerClosed,
    ProtocolError,
    encode,
    now_ns,
    read_message,
)

QUEUE_SIZE = 8
MAX_WRITE_BUFFER = 4 << 20  # a client holding this much unread reply data is disconnected
MAX_TRACKS = 1024  # per client: the least recently seen track's identity is forgotten beyond
MAX_CROPS = 64  # per faces message: 64 x 160 x 160 x 3 B = 4.9 MB of decoded pixels at most
WORK_KINDS = ("frame", "faces", "meta")
MODELS = ("pipeline", "noop")
NO_FACES = np.zeros((0, FACE_SIZE_PX, FACE_SIZE_PX, 3), np.uint8)
NOOP_INFO = {"backend": "noop", "note": "harness check, not a model"}


@dataclass
class Counters:
    """What the server did, for the ``stats`` reply (the batcher counts its own)."""

    messages: int = 0
    errors: int = 0
    connections: int = 0
    dropped: int = 0  # results not sent because their client had left
    slow_clients: int = 0  # clients disconnected for not reading their replies
    tracks_forgotten: int = 0  # track identities dropped beyond MAX_TRACKS of a client


@dataclass
class Connection:
    """One client: its writer, the identity of each of its tracks (hybrid) and the futures of
    its messages not answered yet."""

    writer: asyncio.StreamWriter
    counters: Counters
    tracks: OrderedDict[int, TrackIdentity] = field(default_factory=OrderedDict)
    pending: set[asyncio.Future] = field(default_factory=set)

    def track(self, track: int) -> TrackIdentity:
        """The identity of ``track``, created if new, as the most recently seen; the least
        recently seen beyond :data:`MAX_TRACKS` are forgotten (a long-lived client's cache stays
        bounded)."""
        identity = self.tracks.setdefault(track, TrackIdentity())
        self.tracks.move_to_end(track)
        while len(self.tracks) > MAX_TRACKS:
            self.tracks.popitem(last=False)
            self.counters.tracks_forgotten += 1
        return identity

    def send(self, header: dict) -> None:
        """Queue a reply without waiting; drop a client that stopped reading."""
        if self.writer.is_closing():
            return
        try:
            message = encode(header)
        except ValueError as error:  # a reply beyond the protocol's limits (too many faces)
            frame = header.get("frame")
            frame = frame if isinstance(frame, int) else None
            message = encode({"kind": "error", "frame": frame, "error": str(error)})
        self.writer.write(message)
        if self.writer.transport.get_write_buffer_size() > MAX_WRITE_BUFFER:
            self.counters.slow_clients += 1
            self.writer.transport.abort()


@dataclass(frozen=True)
class Work:
    """A message for the batcher, and when it had been read in full."""

    connection: Connection
    header: dict
    payload: bytes
    t_recv_ns: int


@dataclass(frozen=True)
class Assembled:
    """A message made ready for the recognizer: the faces to embed and what its reply needs."""

    kind: str
    faces: np.ndarray  # (N, 160, 160, 3) uint8
    found: Detections | None = None  # frame: where its faces are
    rows: list[dict] | None = None  # faces: the edge's face rows
    tracks: list[int] = field(default_factory=list)  # faces: the track of each crop


def decode_jpeg(payload: bytes) -> np.ndarray:
    """RGB uint8 pixels of a JPEG; ValueError when it is not one."""
    bgr = cv2.imdecode(np.frombuffer(payload, np.uint8), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError("payload is not a decodable JPEG image")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def split_crops(header: dict, payload: bytes) -> tuple[list[int], np.ndarray]:
    """Track ids and (N, 160, 160, 3) crops of a ``faces`` message; ValueError if malformed."""
    sizes, tracks = header.get("crop_bytes", []), header.get("crop_tracks", [])
    if not isinstance(sizes, list) or not isinstance(tracks, list) or len(sizes) != len(tracks):
        raise ValueError("crop_bytes and crop_tracks must be lists of one length")
    if len(sizes) > MAX_CROPS:
        raise ValueError(f"{len(sizes)} crops in one message (at most {MAX_CROPS})")
    if not all(isinstance(n, int) and n > 0 for n in sizes) or sum(sizes) != len(payload):
        raise ValueError("crop_bytes do not add up to the payload")
    if not all(isinstance(t, int) for t in tracks):
        raise ValueError("crop_tracks must be integers")
    crops, offset = [], 0
    for size in sizes:
        crop = decode_jpeg(payload[offset : offset + size])
        if crop.shape != (FACE_SIZE_PX, FACE_SIZE_PX, 3):
            raise ValueError(f"a crop is {crop.shape}, not {FACE_SIZE_PX}x{FACE_SIZE_PX}x3")
        crops.append(crop)
        offset += size
    return tracks, np.stack(crops) if crops else NO_FACES


def _face_rows(header: dict) -> list[dict]:
    faces = header.get("faces", [])
    if not isinstance(faces, list) or not all(
        isinstance(f, dict) and isinstance(f.get("track", -1), int) for f in faces
    ):
        raise ValueError("faces must be a list of objects with integer tracks")
    return faces


def _frame_faces(found: Detections, identities: np.ndarray, distances: np.ndarray) -> list[dict]:
    return [
        {"box": box.tolist(), "score": float(s), "identity": str(n), "distance": float(d)}
        for box, s, n, d in zip(found.boxes, found.scores, identities, distances, strict=True)
    ]


def _track_faces(
    connection: Connection,
    message: Assembled,
    gallery: Gallery,
    distances: np.ndarray,
    embeddings: np.ndarray,
) -> list[dict]:
    """A faces message's rows, each with its track's label (:class:`TrackIdentity`: the
    template of the track's crops so far, refined by each new crop rather than overwritten by
    it), the distance of the crop it came with, else unknown before the track's first crop."""
    rows = {face.get("track", -1): face for face in message.rows}
    for track, distance, embedding in zip(message.tracks, distances, embeddings, strict=True):
        connection.track(track).add(
            gallery, embedding, _quality(rows.get(track, {})), float(distance)
        )
    recognised = set(message.tracks)
    for face in message.rows:
        if face.pop("small", False):  # below the gallery's minimum size: never sent
            face.update(identity=TOO_SMALL, distance=np.nan, source="edge")
            continue
        track = connection.tracks.get(face.get("track", -1))
        name, distance = (track.label, track.last_distance) if track else (UNKNOWN, np.nan)
        source = "server" if face.get("track") in recognised else "cache"
        face.update(identity=name, distance=distance, source=source)
    return message.rows


def _quality(row: dict) -> float:
    """:func:`face_quality` of an edge's face row; 0 (no weight) where its box or score is
    not numbers."""
    try:
        x1, y1, x2, y2 = (float(v) for v in row["box"][:4])
        return face_quality(min(x2 - x1, y2 - y1), float(row["score"]))
    except (KeyError, TypeError, ValueError):
        return 0.0


def _outcome(
    faces: list[dict] | None, batch_faces: int, t_assembled_ns: int, t_done_ns: int
) -> dict:
    """A reply's compute fields."""
    outcome = {"t_assembled_ns": t_assembled_ns, "t_done_ns": t_done_ns, "batch_faces": batch_faces}
    if faces is not None:  # a meta message's reply carries none
        outcome["faces"] = faces
    return outcome


def current_rss_mb() -> float:
    """This process's resident memory now (``peak_rss_mb`` is its maximum so far)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


class NoFaceDetector:
    """Harness check, not a model: finds no face and runs no network."""

    info: ClassVar[dict] = NOOP_INFO

    def detect(self, rgb: np.ndarray, stages: dict | None = None) -> Detections:
        return Detections(
            np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros((0, 5, 2), np.float32)
        )


class ZeroRecognizer:
    """Harness check, not a model: a zero embedding per face, no network run."""

    info: ClassVar[dict] = NOOP_INFO

    def embed(self, faces: np.ndarray) -> np.ndarray:
        return np.zeros((len(faces), FACENET_EMBEDDING_SIZE), np.float32)


class NoopPipeline(FacePipeline):
    """``--model noop``: no face in any frame, every crop ``unknown``, no model file; measures
    the server and its clients themselves (a harness check, not a model)."""

    def __init__(self) -> None:
        nobody = Gallery(np.array(["noop"]), np.eye(1, FACENET_EMBEDDING_SIZE), 0.0)
        super().__init__(NoFaceDetector(), ZeroRecognizer(), nobody)


class RecognitionServer:
    """The pipeline behind an asyncio TCP server (see the module docstring)."""

    def __init__(
        self,
        pipeline,
        max_batch: int = 1,
        max_queue_delay_s: float = 0.0,
        queue_limit: int = QUEUE_SIZE,
    ) -> None:
        self.pipeline = pipeline
        self.batcher = DynamicBatcher(self.run_batch, max_batch, max_queue_delay_s, queue_limit)
        self.one_call = None  # max_batch > 1: the same models, a batch's faces in one call
        if max_batch > 1:
            parts = (pipeline.detector, pipeline.recognizer, pipeline.gallery, pipeline.alignment)
            self.one_call = FacePipeline(*parts, batching="per_frame")
        self.counters = Counters()
        self.cpu_start_s = time.process_time()

    def run_batch(self, works: list[Work]) -> list[dict | ValueError]:
        """Each message's compute fields, or why it is malformed (executor thread); the
        process's CPU time over the batch is shared out per message."""
        cpu_start = time.process_time()
        if self.one_call is None:
            outcomes = [self._compute_one(work) for work in works]  # one work: max_batch 1
        else:
            outcomes = self._compute_batch(works)
        cpu_s = (time.process_time() - cpu_start) / len(works)
        for outcome in outcomes:
            if isinstance(outcome, dict):
                outcome["server_cpu_s"] = cpu_s
        return outcomes

    def _assemble(self, work: Work) -> Assembled:
        """Decode a message: a frame's faces detected and cut out, a faces message's crops."""
        header, kind = work.header, work.header["kind"]
        if kind == "frame":
            rgb = decode_jpeg(work.payload)
            found = self.pipeline.detector.detect(rgb)
            faces = extract_faces(
                rgb,
                found.boxes,
                found.landmarks,
                self.pipeline.alignment,
                self.pipeline.gallery.crop_margin,
            )
            return Assembled(kind, faces, found=found)
        if kind == "faces":
            tracks, crops = split_crops(header, work.payload)
            return Assembled(kind, crops, rows=_face_rows(header), tracks=tracks)
        _face_rows(header)  # meta: the edge identified its faces itself
        return Assembled(kind, NO_FACES)

    def _reply_faces(
        self,
        work: Work,
        message: Assembled,
        identities: np.ndarray,
        distances: np.ndarray,
        embeddings: np.ndarray,
    ) -> list[dict] | None:
        if message.kind == "frame":
            return _frame_faces(message.found, identities, distances)
        if message.kind == "faces":
            gallery = self.pipeline.gallery
            return _track_faces(work.connection, message, gallery, distances, embeddings)
        return None

    def _compute_one(self, work: Work) -> dict | ValueError:
        """max_batch 1: one message as the paper's pipeline computes it."""
        try:
            if work.header["kind"] == "frame":
                result = self.pipeline.process(decode_jpeg(work.payload))
                t_done_ns = now_ns()
                found = result.detections
                faces = _frame_faces(found, result.identities, result.distances)
                embed_identify_ns = result.boundaries_ns[-1] - result.boundaries_ns[2]
                return _outcome(faces, len(found), t_done_ns - embed_identify_ns, t_done_ns)
            message = self._assemble(work)
            t_assembled_ns = now_ns()
            recognized = self.pipeline.recognize(message.faces)
            t_done_ns = now_ns()
        except ValueError as error:
            return error
        faces = self._reply_faces(work, message, *recognized)
        return _outcome(faces, len(message.faces), t_assembled_ns, t_done_ns)

    def _compute_batch(self, works: list[Work]) -> list[dict | ValueError]:
        """max_batch > 1: each message decoded, its faces detected and cut out, then every face
        of the batch through one recognizer call, identities split back per message."""
        messages: list[Assembled | ValueError] = []
        for work in works:
            try:
                messages.append(self._assemble(work))
            except ValueError as error:  # fails this message only
                messages.append(error)
        crops = [m.faces for m in messages if isinstance(m, Assembled)]
        faces = np.concatenate([NO_FACES, *crops])
        t_assembled_ns = now_ns()
        recognized = self.one_call.recognize(faces)
        t_done_ns = now_ns()
        outcomes, start = [], 0
        for work, message in zip(works, messages, strict=True):
            if isinstance(message, ValueError):
                outcomes.append(message)
                continue
            end = start + len(message.faces)
            rows = self._reply_faces(work, message, *(part[start:end] for part in recognized))
            outcomes.append(_outcome(rows, len(faces), t_assembled_ns, t_done_ns))
            start = end
        return outcomes

    def _reply(self, work: Work, future: asyncio.Future) -> None:
        """Answer a message once its batch has run (event loop, never waits)."""
        connection = work.connection
        connection.pending.discard(future)
        if future.cancelled() or connection.writer.is_closing():
            self.counters.dropped += 1
            return
        frame = work.header.get("frame")
        outcome = future.exception()  # the whole batch failed
        if outcome is None:
            outcome, timing = future.result()
        if isinstance(outcome, Exception):
            self.counters.errors += 1
            connection.send({"kind": "error", "frame": frame, "error": str(outcome)})
            return
        reply = {
            "kind": "result",
            "frame": frame,
            "t_recv_ns": work.t_recv_ns,
            "t_enqueue_ns": timing.t_enqueue_ns,
            "t_start_ns": timing.t_batch_start_ns,
            "t_batch_start_ns": timing.t_batch_start_ns,
            "batch_size": timing.batch_size,
            **outcome,
        }
        reply["t_reply_ns"] = now_ns()
        connection.send(reply)

    def stats(self) -> dict:
        """Totals since the server became ready, and its memory now."""
        return {
            "kind": "stats",
            "cpu_s": time.process_time() - self.cpu_start_s,
            "peak_rss_mb": peak_rss_mb(),
            "rss_mb": current_rss_mb(),
            **vars(self.counters),
            **vars(self.batcher.counters),
        }

    async def serve_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        """Read one client's messages until it leaves; never raises."""
        connection = Connection(writer, self.counters)
        self.counters.connections += 1
        try:
            while True:
                try:
                    header, payload, _ = await read_message(reader)
                except ProtocolError as error:
                    self.counters.errors += 1
                    connection.send({"kind": "error", "error": str(error)})
                    if error.fatal:
                        break
                    continue
                self.counters.messages += 1
                self._dispatch(Work(connection, header, payload, now_ns()))
        except (PeerClosed, ConnectionError):
            pass
        finally:
            for future in list(connection.pending):  # its messages still waiting are withdrawn
                future.cancel()
            writer.close()

    def _dispatch(self, work: Work) -> None:
        connection, header = work.connection, work.header
        kind = header["kind"]
        if kind == "hello":
            connection.send({"kind": "hello", "pid": os.getpid()})
        elif kind == "stats":
            connection.send(self.stats())
        elif kind not in WORK_KINDS:
            self.counters.errors += 1
            connection.send({"kind": "error", "error": f"unknown kind {kind!r}"})
        else:
            try:
                future = self.batcher.submit(work)
            except QueueFull:
                connection.send(
                    {"kind": "error", "frame": header.get("frame"), "error": "server queue full"}
                )
                return
            connection.pending.add(future)
            future.add_done_callback(partial(self._reply, work))


async def listen(server: RecognitionServer, host: str, port: int) -> asyncio.Server:
    """Start accepting clients and the batcher; the listener (port 0: any free port)."""
    listener = await asyncio.start_server(server.serve_connection, host, port)
    server.batcher.start()
    return listener


async def serve(server: RecognitionServer, host: str, port: int, ready: dict) -> None:
    """Listen on ``host:port`` (0: a free port), announce readiness and the port on stdout,
    serve until SIGTERM/SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    listener = await listen(server, host, port)
    port = listener.sockets[0].getsockname()[1]
    print(json.dumps({"ready": True, "port": port, **ready}, default=str), flush=True)
    await stop.wait()
    listener.close()
    await server.batcher.stop()


def main(argv: list[str] | None = None) -> None:
    """Command line: load the models, then serve."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument(
        "--model",
        choices=MODELS,
        default="pipeline",
        help="noop: no network run, a harness check of the server and its clients, not a model",
    )
    add_pipeline_arguments(parser, threads=os.cpu_count() or 1)
    parser.add_argument("--max-batch", type=int, default=1, help="messages per batch at most")
    parser.add_argument(
        "--max-queue-delay-ms",
        type=float,
        default=0.0,
        help="a batch runs when its oldest message has waited this long",
    )
    parser.add_argument("--queue-size", type=int, default=QUEUE_SIZE, help="messages waiting")
    args = parser.parse_args(argv)
    if args.model == "noop":
        pipeline = NoopPipeline()
    else:
        if missing := missing_pipeline_flags(args):
            parser.error(f"{', '.join(missing)} required unless --model noop")
        pipeline = pipeline_from_args(args)
    server = RecognitionServer(
        pipeline, args.max_batch, args.max_queue_delay_ms / 1e3, args.queue_size
    )
    ready = {
        "pid": os.getpid(),
        "model": args.model,
        "detector": pipeline.detector.info,
        "recognizer": pipeline.recognizer.info,
        "max_batch": args.max_batch,
        "max_queue_delay_ms": args.max_queue_delay_ms,
        "queue_size": args.queue_size,
    }
    asyncio.run(serve(server, args.host, args.port, ready))


if __name__ == "__main__":
    try:
        main()
    except Exception as error:  # one line for the orchestrator, which reports it
        print(f"server: {error}", file=sys.stderr)
        sys.exit(1)
