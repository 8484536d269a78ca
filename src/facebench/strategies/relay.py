"""TCP relay that adds one-way delay and jitter per direction, keeping byte order.

Run inside the wire namespace of an emulated link: it listens on ``--listen-host:port`` for
each ``--port`` and forwards every connection to ``--connect-host:port``.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import random
import selectors
import signal
import sys

CHUNK_BYTES = 64 * 1024
QUEUE_LIMIT_BYTES = 8 * 1024 * 1024  # per direction: stop reading while more is queued
CONNECT_TIMEOUT_S = 10.0
MAX_CONNECTIONS = 400  # select() serves file descriptors below 1024; each connection holds two


class DelayLine:
    """Release times for one direction: now + delay + jitter, never earlier than the last."""

    def __init__(self, delay_s: float, jitter_s: float, rng: random.Random) -> None:
        self.delay_s = delay_s
        self.jitter_s = jitter_s
        self.rng = rng
        self.last_release = 0.0

    def release_time(self, now: float) -> float:
        """When a chunk read at ``now`` leaves; jitter never reorders chunks."""
        jitter = self.rng.gauss(0.0, self.jitter_s) if self.jitter_s > 0 else 0.0
        self.last_release = max(self.last_release, now + max(0.0, self.delay_s + jitter))
        return self.last_release


async def pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, line: DelayLine) -> None:
    """Copy ``reader`` to ``writer``, each chunk at its release time; forward EOF as a
    half-close once everything before it is delivered."""
    loop = asyncio.get_running_loop()
    queue: collections.deque[tuple[float, bytes]] = collections.deque()
    queued = 0
    changed = asyncio.Event()

    async def receive() -> None:
        nonlocal queued
        while True:
            while queued > QUEUE_LIMIT_BYTES:
                changed.clear()
                await changed.wait()
            data = await reader.read(CHUNK_BYTES)
            queue.append((line.release_time(loop.time()), data))
            queued += len(data)
            changed.set()
            if not data:
                return

    async def deliver() -> None:
        nonlocal queued
        while True:
            while not queue:
                changed.clear()
                await changed.wait()
            release, data = queue[0]
            await asyncio.sleep(max(0.0, release - loop.time()))
            queue.popleft()
            queued -= len(data)
            changed.set()
            if not data:
                if writer.can_write_eof():
                    writer.write_eof()
                await writer.drain()
                return
            writer.write(data)
            await writer.drain()

    async with asyncio.TaskGroup() as group:
        group.create_task(receive())
        group.create_task(deliver())


async def relay_connection(
    client_reader: asyncio.StreamReader,
    client_writer: asyncio.StreamWriter,
    connect_host: str,
    lines: tuple[DelayLine, DelayLine],
) -> None:
    """Forward one accepted connection upstream; any error or reset closes both sides."""
    port = client_writer.get_extra_info("sockname")[1]
    upstream_writer = None
    try:
        upstream_reader, upstream_writer = await asyncio.wait_for(
            asyncio.open_connection(connect_host, port), CONNECT_TIMEOUT_S
        )
        async with asyncio.TaskGroup() as group:
            group.create_task(pump(client_reader, upstream_writer, lines[0]))
            group.create_task(pump(upstream_reader, client_writer, lines[1]))
    except* (OSError, TimeoutError):
        pass  # a peer reset or refused: drop this connection, keep serving
    finally:
        for writer in (client_writer, upstream_writer):
            if writer is not None:
                writer.close()


async def serve(
    listen_host: str,
    connect_host: str,
    ports: list[int],
    delay_s: float,
    jitter_s: float,
    seed: int,
) -> None:
    """Relay every port until SIGTERM or SIGINT."""
    rng = random.Random(seed)
    connections: set[asyncio.Task] = set()

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if len(connections) >= MAX_CONNECTIONS:
            writer.close()
            return
        lines = (DelayLine(delay_s, jitter_s, rng), DelayLine(delay_s, jitter_s, rng))
        task = asyncio.current_task()
        connections.add(task)
        try:
            await relay_connection(reader, writer, connect_host, lines)
        finally:
            connections.discard(task)

    servers = [
        await asyncio.start_server(accept, listen_host, port, reuse_address=True) for port in ports
    ]
    for port in ports:
        print(f"listening on {listen_host}:{port} -> {connect_host}:{port}", file=sys.stderr)
    sys.stderr.flush()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    for server in servers:
        server.close()
    for task in list(connections):
        task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.gather(*connections, return_exceptions=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen-host", required=True)
    parser.add_argument("--connect-host", required=True)
    parser.add_argument("--port", type=int, action="append", required=True)
    parser.add_argument("--delay-ms", type=float, default=0.0, help="added delay, one way")
    parser.add_argument("--jitter-ms", type=float, default=0.0, help="std dev of that delay")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    # select() sleeps to the microsecond; epoll rounds timeouts up to whole milliseconds, which
    # added about 1 ms to every emulated round trip.
    with asyncio.Runner(
        loop_factory=lambda: asyncio.SelectorEventLoop(selectors.SelectSelector())
    ) as runner:
        runner.run(
            serve(
                args.listen_host,
                args.connect_host,
                args.port,
                args.delay_ms / 1000,
                args.jitter_ms / 1000,
                args.seed,
            )
        )


if __name__ == "__main__":
    main()
