"""Length-prefixed messages over TCP between an edge or camera and the recognition server.

A message is an 8-byte prefix (header length, payload length: unsigned 32-bit big-endian), a
UTF-8 JSON object (the header) and raw payload bytes (a JPEG frame, or face crops). Both sizes
are bounded before anything is read, so a peer can never make the other side allocate more
than ``MAX_HEADER_BYTES + MAX_PAYLOAD_BYTES``. Blocking readers serve the edge, asyncio ones
the server; both validate through the same functions.
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
import time

PREFIX = struct.Struct(">II")
MAX_HEADER_BYTES = 1 << 16
MAX_PAYLOAD_BYTES = 16 << 20
TRANSPORT = "TCP, 8-byte length prefix + JSON header + binary payload (asyncio server)"


class ProtocolError(Exception):
    """A malformed message; ``fatal`` when the stream can no longer be parsed after it."""

    def __init__(self, message: str, fatal: bool) -> None:
        super().__init__(message)
        self.fatal = fatal


class PeerClosed(Exception):
    """The peer closed the connection (at a message boundary or in the middle of one)."""


def now_ns() -> int:
    """CLOCK_MONOTONIC: one clock for every process on the host, whatever its namespace."""
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC)


def encode(header: dict, payload: bytes = b"") -> bytes:
    """One message as bytes."""
    head = json.dumps(header, separators=(",", ":")).encode()
    if len(head) > MAX_HEADER_BYTES or len(payload) > MAX_PAYLOAD_BYTES:
        raise ValueError(f"message too large: header {len(head)} B, payload {len(payload)} B")
    return PREFIX.pack(len(head), len(payload)) + head + payload


def check_sizes(prefix: bytes) -> tuple[int, int]:
    """Header and payload sizes from a prefix; fatal ProtocolError beyond the limits."""
    header_bytes, payload_bytes = PREFIX.unpack(prefix)
    if header_bytes == 0 or header_bytes > MAX_HEADER_BYTES:
        raise ProtocolError(f"header of {header_bytes} B (1..{MAX_HEADER_BYTES} allowed)", True)
    if payload_bytes > MAX_PAYLOAD_BYTES:
        raise ProtocolError(f"payload of {payload_bytes} B (max {MAX_PAYLOAD_BYTES})", True)
    return header_bytes, payload_bytes


def parse_header(raw: bytes) -> dict:
    """The JSON object of a header; a non-fatal ProtocolError when it is not one (including
    JSON nested too deep to parse or an integer too long to convert)."""
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        reason = "nested too deep" if isinstance(error, RecursionError) else error
        raise ProtocolError(f"header is not JSON ({reason})", False) from error
    if not isinstance(header, dict) or not isinstance(header.get("kind"), str):
        raise ProtocolError("header is not a JSON object with a 'kind' string", False)
    return header


def _recv_exactly(sock: socket.socket, size: int) -> bytes:
    buffer = bytearray(size)
    view, got = memoryview(buffer), 0
    while got < size:
        n = sock.recv_into(view[got:], size - got)
        if n == 0:
            raise PeerClosed(f"connection closed after {got} of {size} bytes")
        got += n
    return bytes(buffer)


def recv_message(sock: socket.socket) -> tuple[dict, bytes, int]:
    """Header, payload and bytes on the wire of the next message on a blocking socket; the
    whole message is read before its header is parsed, so a non-fatal error leaves the stream
    at the next message."""
    header_bytes, payload_bytes = check_sizes(_recv_exactly(sock, PREFIX.size))
    raw_header = _recv_exactly(sock, header_bytes)
    payload = _recv_exactly(sock, payload_bytes) if payload_bytes else b""
    return parse_header(raw_header), payload, PREFIX.size + header_bytes + payload_bytes


async def read_message(reader: asyncio.StreamReader) -> tuple[dict, bytes, int]:
    """As ``recv_message``, for an asyncio stream; PeerClosed at end of stream."""
    try:
        header_bytes, payload_bytes = check_sizes(await reader.readexactly(PREFIX.size))
        raw_header = await reader.readexactly(header_bytes)
        payload = await reader.readexactly(payload_bytes) if payload_bytes else b""
    except asyncio.IncompleteReadError as error:
        raise PeerClosed(f"connection closed after {len(error.partial)} bytes") from error
    return parse_header(raw_header), payload, PREFIX.size + header_bytes + payload_bytes
