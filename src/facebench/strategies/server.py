"""The recognition server: frames (cloud), face crops (hybrid) or metadata (edge) in; identities
out.

``python -m facebench.strategies.server --host H --port P ...`` loads the pipeline, prints one
JSON line ``{"ready": ...}`` on stdout and serves until SIGTERM. Each connection's messages
enter one bounded queue; a single worker runs them in arrival order on an executor thread, so
the event loop keeps reading and answering while a frame is computed. A full queue rejects the
message with a counted error reply; a malformed message gets an error reply (and the connection
is closed only when the stream cannot be parsed past it); a client too slow to read its replies
is disconnected rather than allowed to grow the server's buffers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("OPENCV_IO_MAX_IMAGE_PIXELS", str(4096 * 4096))  # before cv2 is imported
import cv2
import numpy as np

from facebench.faces import FACE_SIZE_PX
from facebench.measure import peak_rss_mb
from facebench.strategies.protocol import (
    PeerClosed,
    ProtocolError,
    encode,
    now_ns,
    read_message,
)

QUEUE_SIZE = 8
MAX_WRITE_BUFFER = 4 << 20  # a client holding this much unread reply data is disconnected
WORK_KINDS = ("frame", "faces", "meta")


@dataclass
class Connection:
    """One client: its writer and the identity of each of its tracks (hybrid)."""

    writer: asyncio.StreamWriter
    tracks: dict[int, tuple[str, float]] = field(default_factory=dict)

    def send(self, header: dict) -> None:
        """Queue a reply without waiting; drop a client that stopped reading."""
        if self.writer.is_closing():
            return
        self.writer.write(encode(header))
        if self.writer.transport.get_write_buffer_size() > MAX_WRITE_BUFFER:
            self.writer.transport.abort()


@dataclass
class Counters:
    """What the server did, for the ``stats`` reply."""

    messages: int = 0
    rejected: int = 0
    errors: int = 0
    connections: int = 0


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
    empty = np.zeros((0, FACE_SIZE_PX, FACE_SIZE_PX, 3), np.uint8)
    return tracks, np.stack(crops) if crops else empty


def _face_rows(header: dict) -> list[dict]:
    faces = header.get("faces", [])
    if not isinstance(faces, list) or not all(
        isinstance(f, dict) and isinstance(f.get("track", -1), int) for f in faces
    ):
        raise ValueError("faces must be a list of objects with integer tracks")
    return faces


class RecognitionServer:
    """The pipeline behind an asyncio TCP server (see the module docstring)."""

    def __init__(self, pipeline) -> None:
        self.pipeline = pipeline
        self.queue: asyncio.Queue = asyncio.Queue(QUEUE_SIZE)
        self.counters = Counters()
        self.executor = ThreadPoolExecutor(1, thread_name_prefix="compute")
        self.cpu_start_s = time.process_time()
        self.worker_task: asyncio.Task | None = None

    def compute(self, connection: Connection, header: dict, payload: bytes) -> dict:
        """The work of one message (executor thread): identities of its faces."""
        cpu_start, t_start = time.process_time(), now_ns()
        kind = header["kind"]
        if kind == "frame":
            result = self.pipeline.process(decode_jpeg(payload))
            found = result.detections
            faces = [
                {"box": box.tolist(), "score": float(s), "identity": str(n), "distance": float(d)}
                for box, s, n, d in zip(
                    found.boxes, found.scores, result.identities, result.distances, strict=True
                )
            ]
        elif kind == "faces":
            tracks, crops = split_crops(header, payload)
            faces = _face_rows(header)
            identities, distances = self.pipeline.recognize(crops)
            for track, name, distance in zip(tracks, identities, distances, strict=True):
                connection.tracks[track] = (str(name), float(distance))
            recognised = set(tracks)
            for face in faces:
                name, distance = connection.tracks.get(face.get("track", -1), ("unknown", np.nan))
                source = "server" if face.get("track") in recognised else "cache"
                face.update(identity=name, distance=distance, source=source)
        else:  # meta: the edge identified its faces itself
            _face_rows(header)
            faces = None
        reply = {
            "kind": "result",
            "frame": header.get("frame"),
            "t_start_ns": t_start,
            "t_done_ns": now_ns(),
            "server_cpu_s": time.process_time() - cpu_start,
        }
        if faces is not None:
            reply["faces"] = faces
        return reply

    async def worker(self) -> None:
        """Run queued messages one at a time, in arrival order."""
        loop = asyncio.get_running_loop()
        while True:
            connection, header, payload, t_recv = await self.queue.get()
            try:
                reply = await loop.run_in_executor(
                    self.executor, self.compute, connection, header, payload
                )
                reply["t_recv_ns"] = t_recv
            except ValueError as error:
                self.counters.errors += 1
                reply = {"kind": "error", "frame": header.get("frame"), "error": str(error)}
            connection.send(reply)

    def stats(self) -> dict:
        """Totals since the server became ready."""
        return {
            "kind": "stats",
            "cpu_s": time.process_time() - self.cpu_start_s,
            "peak_rss_mb": peak_rss_mb(),
            **vars(self.counters),
        }

    async def serve_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        """Read one client's messages until it leaves; never raises."""
        connection = Connection(writer)
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
                self._dispatch(connection, header, payload)
        except (PeerClosed, ConnectionError):
            pass
        finally:
            writer.close()

    def _dispatch(self, connection: Connection, header: dict, payload: bytes) -> None:
        kind = header["kind"]
        if kind == "hello":
            connection.send({"kind": "hello", "pid": os.getpid()})
        elif kind == "stats":
            connection.send(self.stats())
        elif kind not in WORK_KINDS:
            self.counters.errors += 1
            connection.send({"kind": "error", "error": f"unknown kind {kind!r}"})
        elif self.queue.full():
            self.counters.rejected += 1
            connection.send(
                {"kind": "error", "frame": header.get("frame"), "error": "server queue full"}
            )
        else:
            self.queue.put_nowait((connection, header, payload, now_ns()))


async def listen(server: RecognitionServer, host: str, port: int) -> asyncio.Server:
    """Start accepting clients and the worker; the listener (port 0: any free port)."""
    listener = await asyncio.start_server(server.serve_connection, host, port)
    server.worker_task = asyncio.create_task(server.worker())
    return listener


async def serve(server: RecognitionServer, host: str, port: int, ready: dict) -> None:
    """Listen on ``host:port``, announce readiness on stdout, serve until SIGTERM/SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    listener = await listen(server, host, port)
    print(json.dumps({"ready": True, **ready}, default=str), flush=True)
    await stop.wait()
    listener.close()
    server.worker_task.cancel()
    server.executor.shutdown(wait=False, cancel_futures=True)


def main(argv: list[str] | None = None) -> None:
    """Command line: load the models, then serve."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--models-dir", type=Path, required=True)
    parser.add_argument("--gallery", type=Path, required=True)
    parser.add_argument("--detector", required=True)
    parser.add_argument("--recognizer", required=True)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--alignment", default="crop")
    args = parser.parse_args(argv)
    from facebench.strategies.endpoints import load_pipeline

    pipeline = load_pipeline(
        args.models_dir, args.gallery, args.detector, args.recognizer, args.threads, args.alignment
    )
    ready = {"pid": os.getpid(), "detector": pipeline.detector.info}
    ready["recognizer"] = pipeline.recognizer.info
    asyncio.run(serve(RecognitionServer(pipeline), args.host, args.port, ready))


if __name__ == "__main__":
    try:
        main()
    except Exception as error:  # one line for the orchestrator, which reports it
        print(f"server: {error}", file=sys.stderr)
        sys.exit(1)
