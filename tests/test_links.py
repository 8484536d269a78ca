"""Emulated links: profile validation, measured rate/delay/loss through real namespaces,
cleanup after errors, and a relay that survives peer resets."""

from __future__ import annotations

import json
import socket
import socketserver
import struct
import subprocess
import sys
import threading

import pytest

from facebench.errors import FacebenchError
from facebench.strategies import links
from facebench.strategies.linkcheck import check_link, measure_link
from facebench.strategies.links import EmulatedLink, LinkProfile, require_network_emulation

# The workflow's own check (on a lossy link): skipped, or failed with FACEBENCH_REQUIRE=netns.
needs_netns = pytest.mark.usefixtures("link_emulation")
PORT = 47100


def _namespaces() -> set[str]:
    listing = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    return {line.split()[0] for line in listing.splitlines() if line.strip()}


def _measure(profile: LinkProfile, bulk_s: float = 1.0) -> dict:
    with EmulatedLink(profile, forward_ports=(PORT,)) as link:
        return measure_link(link, PORT, rtt_samples=20, bulk_s=bulk_s)["measured"]


def test_profile_from_config_and_validation():
    profile = LinkProfile.from_config("wan", {"up_mbit": 10, "down_mbit": 50, "rtt_ms": 40})
    assert profile == LinkProfile("wan", 10.0, 50.0, 40.0, 0.0, 0.0)
    bad_entries = {
        "up_mbit must be": {"up_mbit": -1, "down_mbit": 5, "rtt_ms": 1},
        "rtt_ms must be": {"up_mbit": 1, "down_mbit": 5, "rtt_ms": -3},
        "loss_pct must be": {"up_mbit": 1, "down_mbit": 5, "rtt_ms": 1, "loss_pct": 100},
        "missing keys": {"up_mbit": 1, "rtt_ms": 1},
        "unknown keys": {"up_mbit": 1, "down_mbit": 5, "rtt_ms": 1, "delay": 2},
        "must be a number": {"up_mbit": True, "down_mbit": 5, "rtt_ms": 1},
    }
    for message, entry in bad_entries.items():
        with pytest.raises(FacebenchError, match=message):
            LinkProfile.from_config("bad", entry)


def test_requirements_name_the_fix(monkeypatch):
    lossy = LinkProfile("lossy", 10, 10, 10, loss_pct=1)
    monkeypatch.setattr(links.shutil, "which", lambda tool: None if tool == "nft" else tool)
    with pytest.raises(FacebenchError, match=r"loss_pct 1 .*apt-get install nftables"):
        require_network_emulation(lossy)
    monkeypatch.setattr(links.os, "geteuid", lambda: 1000)
    with pytest.raises(FacebenchError, match=r"needs root \(CAP_NET_ADMIN\)"):
        require_network_emulation(LinkProfile("lan", 10, 10, 1))


@needs_netns
def test_lan_link_rtt():
    measured = _measure(LinkProfile("lan", 1000, 1000, 1), bulk_s=0.3)
    # netem delays every packet by the RTT: never less; the user-space echo adds scheduling
    # delay on a busy host, a few time slices (CFS: 3-24 ms each) at worst
    assert 1.0 <= measured["rtt_ms_p50"] < 50
    assert measured["loss_pct"] is None


@needs_netns
def test_wan_link_rtt_and_rate(tmp_path):
    result = check_link(LinkProfile("wan", 10, 10, 40), tmp_path / "wan.json")
    measured = result["measured"]
    assert 38 <= measured["rtt_ms_p50"] <= 90  # as on the LAN: the delay, plus scheduling
    # The shaper's token bucket caps the rate (a burst lets a short transfer exceed it by a
    # little); a sender held back by a busy host only loses time, so the floor is generous.
    assert 0.5 * 10 <= measured["up_mbit"] <= 1.2 * 10
    assert 0.5 * 10 <= measured["down_mbit"] <= 1.2 * 10
    assert json.loads((tmp_path / "wan.json").read_text())["method"]["delay"].startswith("user")


@needs_netns
def test_slow_link_rate():
    measured = _measure(LinkProfile("slow", 2, 2, 0), bulk_s=1.0)
    assert 0.5 * 2 <= measured["up_mbit"] <= 1.2 * 2  # capped by the shaper, see above
    assert 0.5 * 2 <= measured["down_mbit"] <= 1.2 * 2


@needs_netns
def test_loss_link_drops_packets():
    with EmulatedLink(LinkProfile("lossy", 100, 100, 2, loss_pct=5), (PORT,)) as link:
        result = measure_link(link, PORT, rtt_samples=5, bulk_s=0.3)
        seen, dropped = link.loss_counters()
    assert result["method"]["loss"].startswith("nftables")
    assert seen > 0 and dropped > 0
    assert 0 < result["measured"]["loss_pct"] < 20


@needs_netns
def test_namespaces_removed_after_errors(monkeypatch):
    link = EmulatedLink(LinkProfile("lan", 100, 100, 1), (PORT,))
    names = {link.edge_ns, link.wire_ns, link.cloud_ns}
    with pytest.raises(RuntimeError), link:
        assert names <= _namespaces()
        sleeper = link.popen_in(link.cloud_ns, ["sleep", "60"])
        raise RuntimeError("body failed")
    assert not names & _namespaces()
    assert sleeper.poll() is not None

    def relay_fails(self):
        raise FacebenchError("relay failed")

    monkeypatch.setattr(EmulatedLink, "_start_relay", relay_fails)
    link = EmulatedLink(LinkProfile("lan", 100, 100, 1), (PORT,))
    with pytest.raises(FacebenchError, match="relay failed"), link:
        pass
    assert not {link.edge_ns, link.wire_ns, link.cloud_ns} & _namespaces()


@needs_netns
def test_stale_namespaces_swept():
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = f"fb{dead.pid}-0-edge"
    subprocess.run(["ip", "netns", "add", stale], check=True)
    assert stale in links.sweep_stale_namespaces()
    assert stale not in _namespaces()


class _Echo(socketserver.BaseRequestHandler):
    def handle(self):
        while data := self.request.recv(65536):
            self.request.sendall(data)


def test_relay_survives_reset():
    echo = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Echo)
    echo.daemon_threads = True
    threading.Thread(target=echo.serve_forever, daemon=True).start()
    port = echo.server_address[1]
    relay = subprocess.Popen(
        [
            *(sys.executable, "-m", "facebench.strategies.relay", "--listen-host", "127.0.0.2"),
            *("--connect-host", "127.0.0.1", "--port", str(port), "--delay-ms", "5"),
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert "listening" in relay.stderr.readline()
        with socket.create_connection(("127.0.0.2", port), timeout=5) as doomed:
            doomed.sendall(bytes(200_000))
            doomed.recv(1000)
            doomed.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        with socket.create_connection(("127.0.0.2", port), timeout=5) as client:
            client.sendall(b"still here")
            client.shutdown(socket.SHUT_WR)
            reply = b""
            while data := client.recv(100):
                reply += data
        assert reply == b"still here"
        assert relay.poll() is None
    finally:
        relay.terminate()
        assert relay.wait(timeout=5) == 0
        echo.shutdown()
        echo.server_close()
