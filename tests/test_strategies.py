"""The strategies' wire protocol, tracker and recognition server (loopback, no root needed)."""

from __future__ import annotations

import asyncio
import socket
import struct
import threading
import time
from collections.abc import Iterator

import cv2
import numpy as np
import pytest

from facebench.backends.base import Detections
from facebench.pipeline import FrameResult
from facebench.strategies import server as server_module
from facebench.strategies.endpoints import encode_jpeg
from facebench.strategies.protocol import (
    MAX_PAYLOAD_BYTES,
    PREFIX,
    ProtocolError,
    check_sizes,
    encode,
    parse_header,
    recv_message,
)
from facebench.strategies.server import RecognitionServer, listen, split_crops
from facebench.strategies.tracker import IouTracker

BOX = np.array([[100.0, 100.0, 160.0, 180.0]])


def test_message_round_trip_over_a_socket() -> None:
    left, right = socket.socketpair()
    with left, right:
        left.sendall(encode({"kind": "frame", "frame": 3}, b"\x01\x02"))
        header, payload, size = recv_message(right)
    assert header == {"kind": "frame", "frame": 3}
    assert payload == b"\x01\x02"
    assert size == PREFIX.size + len(b'{"kind":"frame","frame":3}') + 2


@pytest.mark.parametrize(
    ("prefix", "fragment"),
    [
        (struct.pack(">II", 0, 0), "header of 0 B"),
        (struct.pack(">II", 1 << 20, 0), "header of 1048576 B"),
        (struct.pack(">II", 10, MAX_PAYLOAD_BYTES + 1), "payload of"),
    ],
)
def test_sizes_beyond_the_limits_are_fatal(prefix: bytes, fragment: str) -> None:
    with pytest.raises(ProtocolError, match=fragment) as error:
        check_sizes(prefix)
    assert error.value.fatal


@pytest.mark.parametrize("raw", [b"not json", b"[1, 2]", b'{"frame": 1}', b"\xff\xfe"])
def test_a_header_that_is_no_json_object_with_a_kind_is_not_fatal(raw: bytes) -> None:
    with pytest.raises(ProtocolError) as error:
        parse_header(raw)
    assert not error.value.fatal


def test_tracker_keeps_ids_of_overlapping_boxes_and_starts_new_ones() -> None:
    tracker = IouTracker(min_iou=0.3, max_age_s=0.5)
    first = tracker.update(np.vstack([BOX, BOX + 400]), 0.0)
    moved = tracker.update(np.vstack([BOX + 400 + 5, BOX + 5]), 0.1)  # order swapped
    assert list(moved) == [first[1], first[0]]
    far = tracker.update(BOX + 1000, 0.2)
    assert far[0] not in first


def test_tracker_forgets_a_track_unseen_for_longer_than_max_age() -> None:
    tracker = IouTracker(max_age_s=0.5)
    (track,) = tracker.update(BOX, 0.0)
    assert tracker.update(BOX, 0.4)[0] == track
    assert tracker.update(BOX, 1.0)[0] != track  # last seen at 0.4: gone after 0.9


def test_split_crops_checks_sizes_and_shapes() -> None:
    crop = encode_jpeg(np.full((160, 160, 3), 128, np.uint8), 90)
    tracks, crops = split_crops({"crop_bytes": [len(crop)], "crop_tracks": [7]}, crop)
    assert tracks == [7] and crops.shape == (1, 160, 160, 3)
    with pytest.raises(ValueError, match="add up"):
        split_crops({"crop_bytes": [len(crop) + 1], "crop_tracks": [7]}, crop)
    small = encode_jpeg(np.zeros((80, 80, 3), np.uint8), 90)
    with pytest.raises(ValueError, match="not 160x160x3"):
        split_crops({"crop_bytes": [len(small)], "crop_tracks": [1]}, small)


class SlowPipeline:
    """Finds no face in ``delay_s`` per frame: the server's behaviour, not a measurement."""

    def __init__(self, delay_s: float = 0.0) -> None:
        self.delay_s = delay_s

    def process(self, rgb: np.ndarray) -> FrameResult:
        time.sleep(self.delay_s)
        none = Detections(
            np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros((0, 5, 2))
        )
        return FrameResult((0,) * 5, none, np.array([]), np.array([]), {})

    def recognize(self, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.array(["someone"] * len(faces)), np.full(len(faces), 0.5)


@pytest.fixture
def serving() -> Iterator[tuple[RecognitionServer, int]]:
    """A RecognitionServer on a free loopback port, its loop in a thread."""
    recognition = RecognitionServer(SlowPipeline(0.05))
    loop = asyncio.new_event_loop()
    listener = loop.run_until_complete(listen(recognition, "127.0.0.1", 0))
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield recognition, listener.sockets[0].getsockname()[1]

    async def shutdown() -> None:
        listener.close()
        recognition.worker_task.cancel()
        await asyncio.gather(recognition.worker_task, return_exceptions=True)

    asyncio.run_coroutine_threadsafe(shutdown(), loop).result(5)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    recognition.executor.shutdown(wait=False)


def _connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=10)


def _request(sock: socket.socket, header: dict, payload: bytes = b"") -> dict:
    sock.sendall(encode(header, payload))
    return recv_message(sock)[0]


def test_server_answers_a_frame_with_its_faces_and_times(serving) -> None:
    _, port = serving
    jpeg = encode_jpeg(np.zeros((48, 64, 3), np.uint8), 90)
    with _connect(port) as sock:
        reply = _request(sock, {"kind": "frame", "frame": 0}, jpeg)
    assert reply["kind"] == "result" and reply["frame"] == 0 and reply["faces"] == []
    assert reply["t_recv_ns"] <= reply["t_start_ns"] <= reply["t_done_ns"]
    assert reply["server_cpu_s"] >= 0


def test_server_rejects_garbage_and_keeps_serving(serving) -> None:
    recognition, port = serving
    with _connect(port) as sock:  # bad JSON: an error reply, the connection stays usable
        raw = b"{nope"
        sock.sendall(struct.pack(">II", len(raw), 0) + raw)
        assert "not JSON" in recv_message(sock)[0]["error"]
        assert _request(sock, {"kind": "hello"})["kind"] == "hello"
        bad = _request(sock, {"kind": "frame", "frame": 5}, b"not a jpeg")
        assert bad["kind"] == "error" and bad["frame"] == 5 and "JPEG" in bad["error"]
        assert "unknown kind" in _request(sock, {"kind": "launch"})["error"]
    with _connect(port) as sock:  # an oversized payload: error reply, then closed
        sock.sendall(struct.pack(">II", 2, MAX_PAYLOAD_BYTES + 1) + b"{}")
        assert "payload of" in recv_message(sock)[0]["error"]
        assert sock.recv(1) == b""
    with _connect(port) as sock:  # random bytes, then a disconnect mid-message
        sock.sendall(np.random.default_rng(0).bytes(4096))
    with _connect(port) as sock:
        sock.sendall(encode({"kind": "frame", "frame": 1}, b"x" * 1000)[:500])
    with _connect(port) as sock:
        stats = _request(sock, {"kind": "stats"})
    assert stats["errors"] >= 4 and stats["connections"] >= 5
    assert recognition.counters.messages == 4  # hello, frame, launch, stats


def test_a_flooded_server_rejects_cleanly_and_recovers(serving) -> None:
    _, port = serving
    jpeg = encode_jpeg(np.zeros((48, 64, 3), np.uint8), 90)
    n = 3 * server_module.QUEUE_SIZE
    with _connect(port) as sock:
        for frame in range(n):
            sock.sendall(encode({"kind": "frame", "frame": frame}, jpeg))
        replies = [recv_message(sock)[0] for _ in range(n)]
        rejected = [r for r in replies if r["kind"] == "error"]
        assert rejected and all(r["error"] == "server queue full" for r in rejected)
        assert sum(r["kind"] == "result" for r in replies) >= server_module.QUEUE_SIZE
        assert _request(sock, {"kind": "frame", "frame": n}, jpeg)["kind"] == "result"
        assert _request(sock, {"kind": "stats"})["rejected"] == len(rejected)


def test_hybrid_faces_take_identities_from_crops_then_from_the_track(serving) -> None:
    _, port = serving
    crop = cv2.imencode(".jpg", np.zeros((160, 160, 3), np.uint8))[1].tobytes()
    face = {"box": [0, 0, 10, 10], "score": 0.9, "track": 4}
    with _connect(port) as sock:
        first = _request(
            sock,
            {
                "kind": "faces",
                "frame": 0,
                "faces": [face],
                "crop_tracks": [4],
                "crop_bytes": [len(crop)],
            },
            crop,
        )
        later = _request(sock, {"kind": "faces", "frame": 1, "faces": [face]})
    assert first["faces"][0]["identity"] == "someone" and first["faces"][0]["source"] == "server"
    assert later["faces"][0]["identity"] == "someone" and later["faces"][0]["source"] == "cache"
