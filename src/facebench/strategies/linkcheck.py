"""Measure an emulated link through its real path: ping-pong RTT, bulk throughput each way and
the loss rule's drop share, from a client in the edge namespace to a server in the cloud one.

The ``serve``, ``client`` and ``wait`` subcommands are what runs inside the namespaces.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from facebench.errors import FacebenchError
from facebench.fileio import write_json
from facebench.strategies.links import EmulatedLink, LinkProfile, stop_process

CHECK_PORT = 47000
CHECK_TIMEOUT_S = 30.0
SOCKET_TIMEOUT_S = 5.0
MAX_BULK_BYTES = 64 * 1024 * 1024
CHUNK_BYTES = 64 * 1024
PING_BYTES = 32
HEADER = struct.Struct("!cQ")  # mode (E echo, U upload, D download), byte count
UPLOAD_ACK = struct.Struct("!Qd")  # bytes timed, seconds between first and last chunk


class Deadline:
    """An overall time limit; each socket operation gets what is left, at most SOCKET_TIMEOUT_S."""

    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    def arm(self, sock: socket.socket) -> None:
        left = self.end - time.monotonic()
        if left <= 0:
            raise TimeoutError("link check ran out of time")
        sock.settimeout(min(left, SOCKET_TIMEOUT_S))


def recv_exact(sock: socket.socket, size: int, deadline: Deadline) -> bytes:
    """Read exactly ``size`` bytes or raise."""
    buffer = bytearray()
    while len(buffer) < size:
        deadline.arm(sock)
        data = sock.recv(size - len(buffer))
        if not data:
            raise ConnectionError(f"peer closed after {len(buffer)} of {size} bytes")
        buffer += data
    return bytes(buffer)


def receive_timed(sock: socket.socket, size: int, deadline: Deadline) -> tuple[int, float]:
    """Read ``size`` bytes; return the bytes after the first chunk and the seconds they took,
    so the rate excludes the one-way delay and the connection's start."""
    received = timed = 0
    first = last = 0.0
    while received < size:
        deadline.arm(sock)
        data = sock.recv(min(CHUNK_BYTES, size - received))
        if not data:
            raise ConnectionError(f"peer closed after {received} of {size} bytes")
        last = time.perf_counter()
        if received == 0:
            first = last
        else:
            timed += len(data)
        received += len(data)
    return timed, last - first


def send_bulk(sock: socket.socket, size: int, deadline: Deadline) -> None:
    """Send ``size`` zero bytes in chunks."""
    block = memoryview(bytes(CHUNK_BYTES))
    sent = 0
    while sent < size:
        deadline.arm(sock)
        sent += sock.send(block[: min(CHUNK_BYTES, size - sent)])


def _mbit(timed_bytes: int, seconds: float) -> float | None:
    return timed_bytes * 8 / seconds / 1e6 if seconds > 0 else None


def connect(host: str, port: int, deadline: Deadline) -> socket.socket:
    """A TCP connection with Nagle off, so ping-pongs are not held back."""
    sock = socket.create_connection((host, port), timeout=SOCKET_TIMEOUT_S)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    deadline.arm(sock)
    return sock


def serve_connection(conn: socket.socket, deadline: Deadline) -> None:
    """Answer one client connection according to its header."""
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    mode, size = HEADER.unpack(recv_exact(conn, HEADER.size, deadline))
    if size > MAX_BULK_BYTES:
        return
    if mode == b"E":
        for _ in range(size):
            conn.sendall(recv_exact(conn, PING_BYTES, deadline))
    elif mode == b"U":
        conn.sendall(UPLOAD_ACK.pack(*receive_timed(conn, size, deadline)))
    elif mode == b"D":
        send_bulk(conn, size, deadline)
        conn.shutdown(socket.SHUT_WR)
        deadline.arm(conn)
        conn.recv(1)  # the client closes once it has everything


def serve(host: str, port: int, lifetime_s: float) -> None:
    """Serve check clients one at a time until ``lifetime_s`` has passed."""
    deadline = Deadline(lifetime_s)
    with socket.create_server((host, port)) as server:
        print(f"listening on {host}:{port}", file=sys.stderr, flush=True)
        while time.monotonic() < deadline.end:
            try:
                deadline.arm(server)
                conn, _ = server.accept()
            except TimeoutError:
                continue
            with conn, contextlib.suppress(OSError, struct.error):
                serve_connection(conn, Deadline(CHECK_TIMEOUT_S))  # a probe closes at once


def run_client(
    host: str, port: int, rtt_samples: int, up_bytes: int, down_bytes: int
) -> dict[str, float | None]:
    """Ping-pong ``rtt_samples`` times (after one warm-up), upload, then download."""
    deadline = Deadline(CHECK_TIMEOUT_S)
    with connect(host, port, deadline) as sock:
        sock.sendall(HEADER.pack(b"E", rtt_samples + 1))
        rtt_ms = []
        for _ in range(rtt_samples + 1):
            start = time.perf_counter()
            sock.sendall(bytes(PING_BYTES))
            recv_exact(sock, PING_BYTES, deadline)
            rtt_ms.append((time.perf_counter() - start) * 1000)
        rtt_ms = rtt_ms[1:]
    with connect(host, port, deadline) as sock:
        sock.sendall(HEADER.pack(b"U", up_bytes))
        send_bulk(sock, up_bytes, deadline)
        up = UPLOAD_ACK.unpack(recv_exact(sock, UPLOAD_ACK.size, deadline))
    with connect(host, port, deadline) as sock:
        sock.sendall(HEADER.pack(b"D", down_bytes))
        down = receive_timed(sock, down_bytes, deadline)
    ordered = sorted(rtt_ms)
    return {
        "rtt_ms_p50": statistics.median(ordered),
        "rtt_ms_p90": ordered[math.ceil(0.9 * len(ordered)) - 1],  # nearest rank
        "rtt_ms_min": min(rtt_ms),
        "rtt_ms_mean": statistics.fmean(rtt_ms),
        "up_mbit": _mbit(*up),
        "down_mbit": _mbit(*down),
    }


def wait_listening(host: str, ports: list[int], timeout_s: float) -> bool:
    """Poll-connect each port every 20 ms until it accepts or ``timeout_s`` passes."""
    end = time.monotonic() + timeout_s
    for port in ports:
        for _ in range(int(timeout_s / 0.02) + 1):
            try:
                socket.create_connection((host, port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > end:
                    return False
                time.sleep(0.02)
        else:
            return False
    return True


def _bulk_bytes(rate_mbit: float, bulk_s: float) -> int:
    return max(CHUNK_BYTES, min(MAX_BULK_BYTES, int(rate_mbit * 1e6 / 8 * bulk_s)))


def measure_link(
    link: EmulatedLink, port: int, rtt_samples: int = 20, bulk_s: float = 1.0
) -> dict[str, Any]:
    """Measure ``link`` end to end on forwarded ``port``: RTT, throughput each way, loss."""
    profile = link.profile
    if rtt_samples < 1 or bulk_s <= 0:
        raise FacebenchError(
            f"link check needs rtt_samples >= 1 and bulk_s > 0, got {rtt_samples}, {bulk_s}"
        )
    module = [sys.executable, "-m", "facebench.strategies.linkcheck"]
    server_args = ["--host", link.server_host, "--port", str(port)]
    with tempfile.TemporaryFile() as server_log:
        server = link.popen_in(
            link.cloud_ns,
            [*module, "serve", *server_args],
            stdout=subprocess.DEVNULL,
            stderr=server_log,
        )
        try:
            wait = [*link.exec_prefix(link.cloud_ns), *module, "wait", *server_args]
            if subprocess.run(wait, capture_output=True, timeout=CHECK_TIMEOUT_S).returncode:
                server_log.seek(0)
                log = server_log.read().decode(errors="replace").strip().splitlines()
                raise FacebenchError(
                    f"link {profile.name}: check server did not start: {(log or ['no output'])[-1]}"
                )
            counters_before = link.loss_counters()
            host, _ = link.server_address(port)
            client_args = [
                *("--host", host, "--port", str(port), "--rtt-samples", str(rtt_samples)),
                *("--up-bytes", str(_bulk_bytes(profile.up_mbit, bulk_s))),
                *("--down-bytes", str(_bulk_bytes(profile.down_mbit, bulk_s))),
            ]
            stdout = _run_checked(
                profile,
                [*link.exec_prefix(link.edge_ns), *module, "client", *client_args],
                "check client failed",
            )
            counters_after = link.loss_counters()
        finally:
            stop_process(server)
    measured = json.loads(stdout.splitlines()[-1])
    seen, dropped = (
        after - before for after, before in zip(counters_after, counters_before, strict=True)
    )
    measured["loss_pct"] = 100 * dropped / seen if profile.loss_pct > 0 and seen else None
    measured["loss_packets_seen"] = seen if profile.loss_pct > 0 else None
    return {
        "link": profile.name,
        "nominal": asdict(profile),
        "measured": measured,
        "method": link.method,
    }


def _run_checked(profile: LinkProfile, argv: list[str], what: str) -> str:
    """Run a check step with the overall time limit; its failure is a one-line FacebenchError."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=CHECK_TIMEOUT_S + 5)
    except subprocess.TimeoutExpired as error:
        raise FacebenchError(
            f"link {profile.name}: {what}: no answer within {CHECK_TIMEOUT_S:g} s"
        ) from error
    if done.returncode != 0:
        detail = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        raise FacebenchError(f"link {profile.name}: {what}: {detail}")
    return done.stdout


def check_link(profile: LinkProfile, out: Path) -> dict[str, Any]:
    """Build the link for ``profile``, measure it and write the result to ``out`` as JSON."""
    with EmulatedLink(profile, forward_ports=(CHECK_PORT,)) as link:
        result = measure_link(link, CHECK_PORT)
    write_json(out, result)
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    serve_cmd = commands.add_parser("serve", help="echo/sink/source server (cloud namespace)")
    serve_cmd.add_argument("--host", required=True)
    serve_cmd.add_argument("--port", type=int, required=True)
    serve_cmd.add_argument("--lifetime-s", type=float, default=300.0)
    client_cmd = commands.add_parser("client", help="measuring client (edge namespace)")
    client_cmd.add_argument("--host", required=True)
    client_cmd.add_argument("--port", type=int, required=True)
    client_cmd.add_argument("--rtt-samples", type=int, default=20)
    client_cmd.add_argument("--up-bytes", type=int, required=True)
    client_cmd.add_argument("--down-bytes", type=int, required=True)
    wait_cmd = commands.add_parser("wait", help="exit 0 once every port accepts connections")
    wait_cmd.add_argument("--host", required=True)
    wait_cmd.add_argument("--port", type=int, action="append", required=True)
    wait_cmd.add_argument("--timeout-s", type=float, default=5.0)
    args = parser.parse_args(argv)
    if args.command == "serve":
        serve(args.host, args.port, args.lifetime_s)
    elif args.command == "client":
        result = run_client(args.host, args.port, args.rtt_samples, args.up_bytes, args.down_bytes)
        print(json.dumps(result))
    elif not wait_listening(args.host, args.port, args.timeout_s):
        sys.exit(f"not listening on {args.host}:{args.port} after {args.timeout_s:g} s")


if __name__ == "__main__":
    main()
