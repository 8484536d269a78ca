"""The serving load generator against the real recognition server (fake pipeline, loopback)."""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable

import cv2
import numpy as np
import pandas as pd
import pytest
from helpers import SlowPipeline
from helpers import on_loop as serving

from facebench.remote.endpoints import encode_jpeg
from facebench.remote.protocol import PeerClosed, encode, read_message
from facebench.remote.server import RecognitionServer, listen
from facebench.serving.load import ClipMessages, main, run_cameras, run_poisson, summarize
from facebench.serving.peak import MAX_DOUBLINGS, find_peak_rate

HOST = "127.0.0.1"


def recognition(delay_s: float) -> Callable[[], Awaitable[asyncio.Server]]:
    """The real server with a pipeline taking ``delay_s`` per frame and finding no face."""

    async def start() -> asyncio.Server:
        return await listen(RecognitionServer(SlowPipeline(delay_s)), HOST, 0)

    return start


def cloud_clip(fps: float = 20.0, n_frames: int = 5) -> ClipMessages:
    jpegs = [encode_jpeg(np.full((48, 64, 3), 40 * i, np.uint8), 90) for i in range(n_frames)]
    return ClipMessages("cloud", fps, [({"kind": "frame"}, jpeg) for jpeg in jpegs])


def test_paced_cameras_send_interleaved_on_schedule_and_all_are_answered() -> None:
    with serving(recognition(0.0)) as port:
        requests, faces = asyncio.run(run_cameras(HOST, port, cloud_clip(), 4, 0.75, 0.25))
    assert len(requests) == 80 and (requests["status"] == "ok").all() and faces.empty
    for camera, sent in requests.groupby("camera"):
        assert sent["frame"].tolist() == list(range(20))
        assert (sent["clip_frame"] == sent["frame"] % 5).all()
        assert (np.diff(sent["t_send_ns"]) == 50_000_000).all()
        assert sent["is_warmup"].sum() == 5
        first = requests.loc[(requests["camera"] == 0) & (requests["frame"] == 0), "t_send_ns"]
        assert sent["t_send_ns"].iloc[0] - first.iloc[0] == 12_500_000 * camera
    assert (requests["t_sent_ns"] >= requests["t_send_ns"] - 1e6).all()
    assert (requests["t_sent_ns"] <= requests["t_recv_ns"]).all()
    assert (requests["t_done_ns"] <= requests["t_reply_ns"]).all()
    assert requests["latency_s"].between(0, 1).all()
    summary = summarize(requests, 0.75)
    assert summary["requests"] == summary["ok"] == 60 and summary["ok_per_s"] == 80


def test_a_server_slower_than_the_load_rejects_and_the_generator_still_ends() -> None:
    start = time.monotonic()
    with serving(recognition(0.2)) as port:
        requests, _ = asyncio.run(run_cameras(HOST, port, cloud_clip(), 4, 1.0, 0.0, settle_s=5))
    # 1 s of cameras and at most settle_s=5 for the last replies; 4 s more for a busy host
    assert time.monotonic() - start < 10
    status = requests["status"].value_counts()
    assert len(requests) == 80 and set(status.index) == {"ok", "rejected"}
    # The server sleeps 0.2 s a frame: about 5 answered in the second of sending and the
    # queued ones after; a busy host only slows it, so never more than that, at least one
    assert 1 <= status["ok"] <= 20 and status["rejected"] >= 50
    assert requests["t_reply_ns"].notna().all()


def test_poisson_arrivals_come_at_the_rate_round_robin_over_the_connections() -> None:
    with serving(recognition(0.0)) as port:
        requests, _ = asyncio.run(run_poisson(HOST, port, cloud_clip(), 200.0, 1.0, 0.0, seed=3))
    gaps_s = np.diff(np.sort(requests["t_send_ns"])) / 1e9
    assert 150 <= len(requests) <= 250 and abs(gaps_s.mean() - 1 / 200) < 0.25 / 200
    assert 0.75 < gaps_s.std() / gaps_s.mean() < 1.25  # exponential, not paced
    per_connection = requests.groupby("camera")["frame"]
    assert per_connection.size().max() - per_connection.size().min() <= 1
    assert all(frames.tolist() == list(range(len(frames))) for _, frames in per_connection)
    assert (requests["status"] == "ok").mean() > 0.95


def test_hybrid_replies_name_each_tracked_face_with_its_box() -> None:
    crop = encode_jpeg(np.zeros((160, 160, 3), np.uint8), 90)
    face = {"box": [10.0, 20.0, 40.0, 60.0], "score": 0.9, "track": 7}
    with_crop = {"kind": "faces", "faces": [face], "crop_tracks": [7], "crop_bytes": [len(crop)]}
    without = {"kind": "faces", "faces": [face], "crop_tracks": [], "crop_bytes": []}
    clip = ClipMessages("hybrid", 10.0, [(with_crop, crop), (without, b"")])
    assert clip.faces_per_frame == [1, 1]
    with serving(recognition(0.0)) as port:
        requests, faces = asyncio.run(run_cameras(HOST, port, clip, 1, 0.4, 0.0))
    assert requests["n_faces_sent"].tolist() == [1, 0, 1, 0]
    assert requests["n_faces"].tolist() == [1, 1, 1, 1]
    assert faces[["x", "y", "w", "h"]].drop_duplicates().values.tolist() == [[10, 20, 30, 40]]
    assert (faces["identity"] == "someone").all() and (faces["track_id"] == 7).all()
    assert faces["source"].tolist() == ["server", "cache", "server", "cache"]


def closing_after(n_replies: int) -> Callable[[], Awaitable[asyncio.Server]]:
    """A server answering every frame at once, but closing its first connection after
    ``n_replies`` replies."""
    connections = itertools.count()

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        first = next(connections) == 0
        try:
            for replies in itertools.count():
                header, _, _ = await read_message(reader)
                if first and replies == n_replies:
                    break
                writer.write(encode({"kind": "result", "frame": header["frame"], "faces": []}))
        except PeerClosed:
            pass
        finally:
            writer.close()

    async def start() -> asyncio.Server:
        return await asyncio.start_server(answer, HOST, 0)

    return start


def test_a_connection_the_server_closes_ends_that_camera_only() -> None:
    start = time.monotonic()
    with serving(closing_after(3)) as port:
        requests, _ = asyncio.run(run_cameras(HOST, port, cloud_clip(), 3, 1.0, 0.0))
    # 1 s of cameras, then no settle wait (10 s) for the closed camera: 5 s leaves a busy
    # host room and still tells the two apart
    assert time.monotonic() - start < 5
    cut = requests[requests["camera"] == 0]
    assert len(cut) == 20 and cut["status"].tolist() == ["ok"] * 3 + ["lost"] * 17
    assert cut["t_sent_ns"].iloc[5:].isna().all()  # not sent once closed
    assert (requests.loc[requests["camera"] > 0, "status"] == "ok").sum() == 40
    assert requests["t_recv_ns"].isna().all()  # timing fields the server does not send


def test_find_peak_rate_doubles_then_bisects_to_the_knee() -> None:
    def measure(rate: float) -> float:
        return 0.1 if rate < 40 else math.inf

    peak, trials = find_peak_rate(measure, 1.0, 10.0, 0.5, 5)
    assert 35 <= peak <= 40 and peak == max(t.rate_per_s for t in trials if t.passed)
    assert [t.rate_per_s for t in trials[:4]] == [1, 10, 20, 40] and len(trials) == 9
    assert all(t.passed == (t.rate_per_s < 40) for t in trials)
    assert max(t.rate_per_s for t in trials if t.passed) < min(
        t.rate_per_s for t in trials if not t.passed
    )


def test_find_peak_rate_is_bounded_both_ways() -> None:
    assert find_peak_rate(lambda _: math.inf, 1.0, 10.0, 0.5, 5)[0] == 0.0
    peak, trials = find_peak_rate(lambda _: 0.1, 1.0, 10.0, 0.5, 5)
    assert len(trials) == 1 + MAX_DOUBLINGS and peak == 10.0 * 2 ** (MAX_DOUBLINGS - 1)
    with pytest.raises(ValueError, match="0 < lo < hi"):
        find_peak_rate(lambda _: 0.1, 10.0, 10.0, 0.5, 5)


def test_cli_writes_every_point_and_exits_3_without_a_server(tmp_path) -> None:
    video = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (64, 48))
    for i in range(4):
        writer.write(np.full((48, 64, 3), 50 * i, np.uint8))
    writer.release()
    common = ["--host", HOST, "--video", str(video), "--strategy", "cloud"]
    timing = ["--duration-s", "0.5", "--warmup-s", "0.2", "--out", str(tmp_path / "out")]
    with serving(recognition(0.0)) as port:
        main([*common, "--port", str(port), *timing, "--cameras", "1", "2"])
    requests = pd.read_parquet(tmp_path / "out" / "requests.parquet")
    assert requests.groupby("point").size().to_dict() == {"cameras=1": 7, "cameras=2": 14}
    points = json.loads((tmp_path / "out" / "points.json").read_text())["points"]
    assert [(p["cameras"], p["requests"], p["ok"]) for p in points] == [(1, 5, 5), (2, 10, 10)]
    assert pd.read_parquet(tmp_path / "out" / "faces.parquet").empty
    with socket.socket() as unused:  # a port nothing listens on
        unused.bind((HOST, 0))
        port = unused.getsockname()[1]
    command = [sys.executable, "-m", "facebench.serving.load", *common, *timing]
    run = subprocess.run(
        [*command, "--port", str(port), "--cameras", "1"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 3 and run.stderr.count("\n") == 1 and "cannot connect" in run.stderr
