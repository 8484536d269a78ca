"""The strategies' wire protocol, tracker and recognition server (loopback, no root needed)."""

from __future__ import annotations

import contextlib
import socket
import struct
import time
from collections.abc import Iterator

import cv2
import numpy as np
import pytest
from helpers import SlowPipeline, on_loop

from facebench.backends.base import Detections, l2_normalize
from facebench.recognition.gallery import TOO_SMALL, Gallery
from facebench.recognition.pipeline import FacePipeline
from facebench.recognition.tracker import IouTracker
from facebench.remote import server as server_module
from facebench.remote.endpoints import encode_jpeg
from facebench.remote.protocol import (
    MAX_PAYLOAD_BYTES,
    PREFIX,
    ProtocolError,
    check_sizes,
    encode,
    parse_header,
    recv_message,
)
from facebench.remote.server import (
    MAX_CROPS,
    MAX_TRACKS,
    Connection,
    NoopPipeline,
    RecognitionServer,
    listen,
    split_crops,
)
from facebench.strategies.edge import Edge, EdgeSettings

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


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"[1, 2]",
        b'{"frame": 1}',
        b"\xff\xfe",
        b"[" * 30_000 + b"]" * 30_000,  # deeper than the parser recurses
        b'{"kind": "frame", "frame": ' + b"9" * 5000 + b"}",  # beyond int conversion's limit
    ],
)
def test_a_header_that_is_no_json_object_with_a_kind_is_not_fatal(raw: bytes) -> None:
    with pytest.raises(ProtocolError) as error:
        parse_header(raw)
    assert not error.value.fatal


def test_a_bad_header_leaves_the_stream_at_the_next_message() -> None:
    left, right = socket.socketpair()
    with left, right:
        raw = b"{nope"
        left.sendall(struct.pack(">II", len(raw), 3) + raw + b"abc")
        left.sendall(encode({"kind": "hello"}))
        with pytest.raises(ProtocolError):
            recv_message(right)
        assert recv_message(right)[0] == {"kind": "hello"}


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
    many = {"crop_bytes": [1] * (MAX_CROPS + 1), "crop_tracks": [0] * (MAX_CROPS + 1)}
    with pytest.raises(ValueError, match=f"at most {MAX_CROPS}"):  # before any is decoded
        split_crops(many, b"x" * (MAX_CROPS + 1))


def running(recognition: RecognitionServer) -> contextlib.AbstractContextManager[int]:
    """``recognition`` on a free loopback port, its loop in a thread; the port."""
    return on_loop(lambda: listen(recognition, "127.0.0.1", 0), recognition.batcher.stop)


@pytest.fixture
def serving() -> Iterator[tuple[RecognitionServer, int]]:
    """A RecognitionServer on a free loopback port, its loop in a thread."""
    recognition = RecognitionServer(SlowPipeline(0.05))
    with running(recognition) as port:
        yield recognition, port


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
    # one error each: bad JSON, bad JPEG, unknown kind, oversized payload, random bytes (their
    # first 8 bytes declare an oversized payload); a message cut off by a disconnect is none.
    # The last connections are served concurrently with this one: ask until they are counted.
    with _connect(port) as sock:
        polls, deadline = 1, time.monotonic() + 10
        while (stats := _request(sock, {"kind": "stats"}))["errors"] < 5:
            assert time.monotonic() < deadline, stats
            polls += 1
            time.sleep(0.02)
        time.sleep(0.2)  # nothing more comes
        stats = _request(sock, {"kind": "stats"})
    assert (stats["errors"], stats["connections"]) == (5, 5)
    assert recognition.counters.messages == 3 + polls + 1  # hello, frame, launch, the stats


def test_a_clients_track_identities_are_bounded(serving) -> None:
    """A client with ever new track ids cannot grow the server's memory: beyond MAX_TRACKS the
    least recently seen track is forgotten, and counted."""
    recognition, _ = serving
    connection = Connection(None, recognition.counters)
    for track in range(MAX_TRACKS + 10):
        connection.track(track)
    connection.track(10)  # seen again: the most recent now
    connection.track(MAX_TRACKS + 10)
    assert len(connection.tracks) == MAX_TRACKS
    assert 10 in connection.tracks and 11 not in connection.tracks
    assert recognition.counters.tracks_forgotten == 11


def test_a_header_nested_too_deep_is_answered_and_counted(serving) -> None:
    recognition, port = serving
    with _connect(port) as sock:
        raw = b"[" * 30_000 + b"]" * 30_000
        sock.sendall(struct.pack(">II", len(raw), 0) + raw)
        assert "nested too deep" in recv_message(sock)[0]["error"]
        assert _request(sock, {"kind": "hello"})["kind"] == "hello"
    assert recognition.counters.errors == 1


def _flood(port: int, queue_size: int) -> tuple[list[dict], dict]:
    """Three queues' worth of frames at once, then one more frame; the replies to the flood
    and the stats after."""
    jpeg = encode_jpeg(np.zeros((48, 64, 3), np.uint8), 90)
    n = 3 * queue_size
    with _connect(port) as sock:
        for frame in range(n):
            sock.sendall(encode({"kind": "frame", "frame": frame}, jpeg))
        replies = [recv_message(sock)[0] for _ in range(n)]
        assert _request(sock, {"kind": "frame", "frame": n}, jpeg)["kind"] == "result"
        return replies, _request(sock, {"kind": "stats"})


def test_a_flooded_server_rejects_cleanly_and_recovers(serving) -> None:
    _, port = serving
    replies, stats = _flood(port, server_module.QUEUE_SIZE)
    rejected = [r for r in replies if r["kind"] == "error"]
    assert rejected and all(r["error"] == "server queue full" for r in rejected)
    assert sum(r["kind"] == "result" for r in replies) >= server_module.QUEUE_SIZE
    assert stats["rejected"] == len(rejected)


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


COLOURS = ("red", "green", "blue")


class HalvesDetector:
    """A face in the middle of each half of a frame that is not black, after ``delay_s``."""

    def __init__(self, delay_s: float) -> None:
        self.delay_s = delay_s

    def detect(self, rgb: np.ndarray, stages: dict | None = None) -> Detections:
        time.sleep(self.delay_s)
        height, width = rgb.shape[:2]
        half = width // 2
        boxes = [
            [x + half / 2 - 20, height / 2 - 20, x + half / 2 + 20, height / 2 + 20]
            for x in (0, half)
            if rgb[:, x : x + half].mean() > 20
        ]
        n = len(boxes)
        return Detections(
            np.array(boxes, np.float32).reshape(n, 4),
            np.full(n, 0.9, np.float32),
            np.zeros((n, 5, 2), np.float32),
        )


class ColourRecognizer:
    """The mean of each colour channel of a face as its embedding: deterministic, per row."""

    def embed(self, faces: np.ndarray) -> np.ndarray:
        means = faces.mean(axis=(1, 2))
        return l2_normalize(np.pad(means, ((0, 0), (0, 125))))


def colour_pipeline(delay_s: float = 0.0) -> FacePipeline:
    """Red, green and blue faces enrolled; a detector that takes ``delay_s`` per frame."""
    gallery = Gallery(np.array(COLOURS), np.eye(3, 128, dtype=np.float32), 1.2)
    return FacePipeline(HalvesDetector(delay_s), ColourRecognizer(), gallery)


def _painted(*colours: str | None, size: tuple[int, int] = (100, 200)) -> np.ndarray:
    """An RGB image in vertical stripes, one per colour (None: black)."""
    rgb = np.zeros((*size, 3), np.uint8)
    width = size[1] // len(colours)
    for i, colour in enumerate(colours):
        if colour:
            rgb[:, i * width : (i + 1) * width, COLOURS.index(colour)] = 255
    return rgb


def _crops_message(frame: int, colours: list[str], tracks: list[int]) -> tuple[dict, bytes]:
    crops = [encode_jpeg(_painted(c, size=(160, 160)), 90) for c in colours]
    rows = [{"box": [0, 0, 10, 10], "score": 0.9, "track": t} for t in [*tracks, 99]]
    header = {"kind": "faces", "frame": frame, "faces": rows}
    header.update(crop_tracks=tracks, crop_bytes=[len(c) for c in crops])
    return header, b"".join(crops)


def test_hybrid_sends_no_crop_of_a_face_below_the_minimum_size(serving) -> None:
    """The edge keeps a too-small face's crop; the server reports it ``too_small``."""
    pipeline = colour_pipeline()
    pipeline.gallery.min_face_px = 41  # HalvesDetector's boxes are 40 px
    edge = Edge(EdgeSettings("hybrid"), pipeline)
    header, payload, _ = edge.message(0, _painted("red", "green"), 0.0)
    assert header["crop_tracks"] == [] and payload == b""
    assert all(face["small"] for face in header["faces"]) and len(header["faces"]) == 2
    _, port = serving
    with _connect(port) as sock:
        reply = _request(sock, header, payload)
    assert [f["identity"] for f in reply["faces"]] == [TOO_SMALL, TOO_SMALL]


def test_a_hybrid_track_label_is_refined_by_a_crop_not_overwritten() -> None:
    """Five red crops then a blue one of the same track: its template stays nearest red."""
    with running(RecognitionServer(colour_pipeline())) as port, _connect(port) as sock:
        labels = [
            _request(sock, *_crops_message(frame, [colour], [1]))["faces"][0]["identity"]
            for frame, colour in enumerate(["red"] * 5 + ["blue"])
        ]
        other = _request(sock, *_crops_message(6, ["blue"], [2]))["faces"][0]["identity"]
    assert labels == ["red"] * 6 and other == "blue"


def _together(port: int, messages: list[tuple[dict, bytes]]) -> list[dict]:
    """Each message from its own client, all sent before any reply is read."""
    socks = [_connect(port) for _ in messages]
    try:
        for sock, (header, payload) in zip(socks, messages, strict=True):
            sock.sendall(encode(header, payload))
        return [recv_message(sock)[0] for sock in socks]
    finally:
        for sock in socks:
            sock.close()


def _seen(reply: dict) -> list[tuple]:
    return [(f["identity"], f.get("source"), f["box"]) for f in reply["faces"]]


def test_a_batch_answers_every_client_as_one_at_a_time_would() -> None:
    messages = [
        ({"kind": "frame", "frame": 0}, encode_jpeg(_painted("red", "blue"), 95)),
        ({"kind": "frame", "frame": 1}, encode_jpeg(_painted("green", None), 95)),
        _crops_message(2, ["blue", "red"], [1, 2]),
        ({"kind": "frame", "frame": 3}, encode_jpeg(_painted(None, None), 95)),
    ]
    batched = RecognitionServer(colour_pipeline(0.05), max_batch=4, max_queue_delay_s=10.0)
    with running(batched) as port:
        start = time.monotonic()
        replies = _together(port, messages)
        elapsed_s = time.monotonic() - start
    with running(RecognitionServer(colour_pipeline(0.05))) as port:
        alone = _together(port, messages)
    assert elapsed_s < 5.0  # the batch ran when full, not after the 10-s delay
    assert [_seen(r) for r in replies] == [_seen(r) for r in alone]
    assert [[f["identity"] for f in r["faces"]] for r in replies] == [
        ["red", "blue"],
        ["green"],
        ["blue", "red", "unknown"],
        [],
    ]
    for batch, one in zip(replies, alone, strict=True):
        distances = [f["distance"] for f in batch["faces"]]
        assert distances == pytest.approx([f["distance"] for f in one["faces"]], nan_ok=True)
        assert batch["batch_size"] == 4 and batch["batch_faces"] == 5
        assert one["batch_size"] == 1 and one["batch_faces"] == len(one["faces"]) - (
            one["frame"] == 2
        )
        times = ["t_recv_ns", "t_enqueue_ns", "t_batch_start_ns", "t_assembled_ns", "t_done_ns"]
        assert [batch[t] for t in times] == sorted(batch[t] for t in times)
        assert batch["t_done_ns"] <= batch["t_reply_ns"] and batch["server_cpu_s"] >= 0
        assert batch["t_assembled_ns"] - batch["t_batch_start_ns"] >= 0.15e9  # 3 frames detected


def test_a_malformed_message_fails_alone_in_its_batch() -> None:
    jpeg = encode_jpeg(_painted("red", None), 95)
    messages = [
        ({"kind": "frame", "frame": 0}, jpeg),
        ({"kind": "frame", "frame": 1}, b"not a jpeg"),
        ({"kind": "faces", "frame": 2, "crop_tracks": [1], "crop_bytes": [5]}, b"short"),
        ({"kind": "frame", "frame": 3}, jpeg),
    ]
    recognition = RecognitionServer(colour_pipeline(), max_batch=4, max_queue_delay_s=2.0)
    with running(recognition) as port:
        good, bad, short, also_good = _together(port, messages)
    assert good["faces"][0]["identity"] == also_good["faces"][0]["identity"] == "red"
    assert good["batch_size"] == 4 and good["batch_faces"] == 2
    assert bad["kind"] == short["kind"] == "error" and "JPEG" in bad["error"]
    assert recognition.counters.errors == 2


def test_a_flooded_batching_server_rejects_cleanly_and_recovers() -> None:
    recognition = RecognitionServer(colour_pipeline(0.02), 4, 0.01, queue_limit=6)
    with running(recognition) as port:
        replies, stats = _flood(port, 6)
    rejected = [r for r in replies if r["kind"] == "error"]
    assert rejected and all(r["error"] == "server queue full" for r in rejected)
    assert stats["rejected"] == len(rejected) and stats["batch_sizes"]["4"] >= 1
    assert stats["items"] == len(replies) + 1 - len(rejected)
    assert stats["batches"] == sum(stats["batch_sizes"].values()) and stats["rss_mb"] > 0


def test_a_client_that_stops_reading_delays_no_one_else(monkeypatch) -> None:
    monkeypatch.setattr(server_module, "MAX_WRITE_BUFFER", 1 << 20)
    rows = [{"track": 1}] * 500  # a reply of ~35 kB per message, never read
    recognition = RecognitionServer(SlowPipeline(), queue_limit=400)
    with running(recognition) as port:
        stalled = socket.socket()
        stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stalled.connect(("127.0.0.1", port))
        with stalled, _connect(port) as sock:
            with contextlib.suppress(OSError):  # the server may cut it off mid-flood
                for frame in range(300):
                    stalled.sendall(encode({"kind": "faces", "frame": frame, "faces": rows}))
            jpeg = encode_jpeg(np.zeros((48, 64, 3), np.uint8), 90)
            sock.settimeout(20.0)  # a batcher waiting on the stalled client never answers
            reply = _request(sock, {"kind": "frame", "frame": 0}, jpeg)
            assert reply["kind"] == "result"
            deadline = time.monotonic() + 20.0  # a poll: ends once true
            while recognition.counters.slow_clients == 0 and time.monotonic() < deadline:
                time.sleep(0.01)
            assert _request(sock, {"kind": "frame", "frame": 1}, jpeg)["kind"] == "result"
    assert recognition.counters.slow_clients == 1


def test_a_client_that_leaves_has_its_waiting_messages_withdrawn() -> None:
    recognition = RecognitionServer(SlowPipeline(0.3))
    jpeg = encode_jpeg(np.zeros((48, 64, 3), np.uint8), 90)
    with running(recognition) as port:
        with _connect(port) as leaving:
            for frame in range(5):
                leaving.sendall(encode({"kind": "frame", "frame": frame}, jpeg))
        with _connect(port) as sock:
            deadline = time.monotonic() + 20.0  # a poll: ends once true
            while _request(sock, {"kind": "stats"})["dropped"] < 5:
                assert time.monotonic() < deadline, "results of a departed client not dropped"
                time.sleep(0.01)
            assert _request(sock, {"kind": "frame", "frame": 0}, jpeg)["kind"] == "result"
    assert recognition.batcher.counters.items == 2  # its frame 0 (running as it left) and ours


def test_a_reply_too_large_for_the_protocol_becomes_an_error(serving) -> None:
    _, port = serving
    with _connect(port) as sock:
        reply = _request(sock, {"kind": "faces", "frame": 0, "faces": [{}] * 5000})
        assert reply["kind"] == "error" and "too large" in reply["error"]
        assert reply["frame"] == 0
        assert _request(sock, {"kind": "hello"})["kind"] == "hello"


@pytest.mark.parametrize("max_batch", [1, 2])
def test_the_noop_harness_check_finds_no_one_and_needs_no_model(max_batch) -> None:
    header, payload = _crops_message(1, ["red"], [4])
    with running(RecognitionServer(NoopPipeline(), max_batch)) as port, _connect(port) as sock:
        frame = _request(sock, {"kind": "frame", "frame": 0}, encode_jpeg(_painted("red"), 90))
        crops = _request(sock, header, payload)
    assert frame["faces"] == []
    assert [f["identity"] for f in crops["faces"]] == ["unknown", "unknown"]


def test_the_server_needs_models_unless_it_is_the_noop_check(capsys) -> None:
    with pytest.raises(SystemExit):
        server_module.main(["--host", "127.0.0.1", "--port", "0", "--detector", "onnx"])
    assert "--models-dir, --gallery, --recognizer required" in capsys.readouterr().err
