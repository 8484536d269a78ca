"""Emulated network links: edge and cloud network namespaces joined through a wire namespace.

Rate is shaped by tc tbf on each end's veth egress, delay and jitter by a user-space TCP relay
(``facebench.strategies.relay``) in the wire namespace, loss by an nftables rule there.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO, Any

from facebench.errors import FacebenchError
from facebench.fileio import pid_alive

EDGE_ADDR, WIRE_EDGE_ADDR = "10.77.0.1", "10.77.0.2"
WIRE_CLOUD_ADDR, CLOUD_ADDR = "10.77.1.1", "10.77.1.2"
NS_PREFIX = "fb"
PRICE_KEY = "usd_per_gb"
ENDS = ("edge", "wire", "cloud")
LOSS_TABLE = "fbloss"
COMMAND_TIMEOUT_S = 15.0
RELAY_READY_TIMEOUT_S = 10.0
RELAY_READY_TRIES = 20
STOP_TIMEOUT_S = 3.0
ROOT_HINT = (
    "network emulation needs root (CAP_NET_ADMIN) to create network namespaces: run as root, "
    "or set strategies.enabled: false"
)
_link_counter = itertools.count()


@dataclass(frozen=True)
class LinkProfile:
    """One emulated link: rates per direction, added round-trip delay, jitter and loss."""

    name: str
    up_mbit: float  # edge -> cloud rate (tbf on the edge's veth egress)
    down_mbit: float  # cloud -> edge rate (tbf on the cloud's veth egress)
    rtt_ms: float  # added round-trip delay: rtt/2 each way, applied by the relay
    jitter_ms: float = 0.0  # std dev of each direction's added delay (normal, clipped at 0)
    loss_pct: float = 0.0  # random packet loss in each direction (nftables in the wire ns)

    def __post_init__(self) -> None:
        for field in ("up_mbit", "down_mbit"):
            if not 0.01 <= getattr(self, field) <= 100_000:
                raise FacebenchError(
                    f"link {self.name}: {field} must be in [0.01, 100000] Mbit/s, "
                    f"got {getattr(self, field)}"
                )
        for field in ("rtt_ms", "jitter_ms"):
            if not 0 <= getattr(self, field) <= 60_000:
                raise FacebenchError(
                    f"link {self.name}: {field} must be in [0, 60000], got {getattr(self, field)}"
                )
        if not 0 <= self.loss_pct < 100:
            raise FacebenchError(
                f"link {self.name}: loss_pct must be in [0, 100), got {self.loss_pct}"
            )

    @classmethod
    def from_config(cls, name: str, entry: dict) -> LinkProfile:
        """Build a profile from a config mapping such as ``{up_mbit: 10, rtt_ms: 40, ...}``
        (its traffic price ``usd_per_gb`` is the cost model's, not the link's)."""
        if not isinstance(entry, dict):
            raise FacebenchError(f"link {name}: expected a mapping, got {type(entry).__name__}")
        fields = ("up_mbit", "down_mbit", "rtt_ms", "jitter_ms", "loss_pct")
        entry = {key: value for key, value in entry.items() if key != PRICE_KEY}
        unknown = sorted(set(entry) - set(fields))
        if unknown:
            raise FacebenchError(f"link {name}: unknown keys {unknown}; allowed: {list(fields)}")
        missing = [key for key in fields[:3] if key not in entry]
        if missing:
            raise FacebenchError(f"link {name}: missing keys {missing}")
        values = {}
        for key, value in entry.items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise FacebenchError(f"link {name}: {key} must be a number, got {value!r}")
            values[key] = float(value)
        return cls(name=name, **values)


def link_profiles(links: dict[str, dict]) -> dict[str, LinkProfile]:
    """The profiles of a config's ``strategies.links``, by name."""
    return {name: LinkProfile.from_config(name, entry) for name, entry in links.items()}


def network_emulation_reason(profiles: Iterable[LinkProfile]) -> str | None:
    """Why these links cannot be emulated on this host (None: they can)."""
    try:
        for profile in profiles:
            require_network_emulation(profile)
    except FacebenchError as error:
        return str(error)
    return None


def tbf_args(rate_mbit: float) -> list[str]:
    """tc tbf arguments for ``rate_mbit``: a bucket of 2 ms of traffic (at least 4 full-size
    frames) and a queue of 20 ms plus one bucket, so TCP fills the link without a long backlog."""
    rate_bytes_s = rate_mbit * 1e6 / 8
    burst = max(int(rate_bytes_s * 0.002), 4 * 1514)
    limit = int(rate_bytes_s * 0.020) + burst
    return ["rate", f"{round(rate_mbit * 1e6)}bit", "burst", str(burst), "limit", str(limit)]


def _run(argv: list[str], input_text: str | None = None) -> str:
    """Run a setup command; a failure becomes a one-line FacebenchError."""
    try:
        done = subprocess.run(
            argv, input=input_text, capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise FacebenchError(f"{' '.join(argv)}: {error}") from error
    if done.returncode != 0:
        detail = " ".join(done.stderr.split()) or f"exit status {done.returncode}"
        raise FacebenchError(f"{' '.join(argv)} failed: {detail}")
    return done.stdout


def stop_process(process: subprocess.Popen) -> None:
    """SIGTERM ``process``, then SIGKILL it if it has not exited after STOP_TIMEOUT_S."""
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_TIMEOUT_S)


def _list_namespaces() -> list[str]:
    return [line.split()[0] for line in _run(["ip", "netns", "list"]).splitlines() if line.strip()]


def sweep_stale_namespaces() -> list[str]:
    """Delete ``fb<pid>-*`` namespaces whose process is gone (a SIGKILL skips cleanup)."""
    stale = []
    for name in _list_namespaces():
        match = re.fullmatch(rf"{NS_PREFIX}(\d+)-.*", name)
        if match and not pid_alive(int(match.group(1))):
            _delete_namespace(name)
            stale.append(name)
    return stale


def _delete_namespace(name: str) -> None:
    """Kill what still runs in namespace ``name``, then delete it (its veths go with it)."""
    pids = subprocess.run(
        ["ip", "netns", "pids", name], capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S
    ).stdout.split()
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(pid), signal.SIGKILL)
    subprocess.run(["ip", "netns", "delete", name], capture_output=True, timeout=COMMAND_TIMEOUT_S)


def require_network_emulation(profile: LinkProfile) -> None:
    """Raise FacebenchError naming what is missing to emulate ``profile`` on this machine."""
    missing = [tool for tool in ("ip", "tc") if shutil.which(tool) is None]
    if missing:
        raise FacebenchError(
            f"network emulation needs {' and '.join(missing)} for link {profile.name}: "
            "install iproute2 (apt-get install iproute2)"
        )
    if profile.loss_pct > 0 and shutil.which("nft") is None:
        raise FacebenchError(
            f"link {profile.name} has loss_pct {profile.loss_pct:g} but nft is missing: "
            "install nftables (apt-get install nftables)"
        )
    if os.geteuid() != 0:
        raise FacebenchError(ROOT_HINT)
    probe = f"{NS_PREFIX}{os.getpid()}-probe"
    try:
        _run(["ip", "netns", "add", probe])
    except FacebenchError as error:
        raise FacebenchError(f"{ROOT_HINT} ({error})") from error
    _run(["ip", "netns", "delete", probe])


class EmulatedLink:
    """Context manager that builds the edge <-> wire <-> cloud namespaces for a profile and
    removes everything again on exit, also after an error half-way through setup."""

    server_host = CLOUD_ADDR

    def __init__(self, profile: LinkProfile, forward_ports: tuple[int, ...], seed: int = 0) -> None:
        if not forward_ports or not all(0 < port < 65536 for port in forward_ports):
            raise FacebenchError(
                f"link {profile.name}: forward_ports must be one or more TCP ports, "
                f"got {list(forward_ports)}"
            )
        self.profile = profile
        self.forward_ports = tuple(forward_ports)
        self.seed = seed
        tag = f"{NS_PREFIX}{os.getpid()}-{next(_link_counter)}"
        self.edge_ns, self.wire_ns, self.cloud_ns = (f"{tag}-{end}" for end in ENDS)
        up, down = (" ".join(tbf_args(rate)) for rate in (profile.up_mbit, profile.down_mbit))
        jitter = "normal(0, jitter_ms) per relayed chunk, delay clipped at 0, order kept"
        self.method: dict[str, str] = {
            "rate": f"tc tbf on veth egress: up on the edge's ({up}), down on the cloud's "
            f"({down}); rates count Ethernet frames, TCP goodput is ~95.6 % of them",
            "delay": "user-space TCP relay in the wire namespace (rtt/2 each way, order kept)",
            "jitter": jitter if profile.jitter_ms > 0 else "none",
            "loss": "nftables numgen random drop on the wire namespace's input"
            if profile.loss_pct > 0
            else "none",
        }
        self._processes: list[subprocess.Popen] = []
        self._relay_log: IO[bytes] | None = None

    def exec_prefix(self, ns: str) -> list[str]:
        """Command prefix that runs a program inside namespace ``ns``."""
        return ["ip", "netns", "exec", ns]

    def popen_in(self, ns: str, argv: list[str], **kwargs: Any) -> subprocess.Popen:
        """Start ``argv`` inside namespace ``ns``; it is stopped when the link closes."""
        process = subprocess.Popen([*self.exec_prefix(ns), *argv], **kwargs)
        self._processes.append(process)
        return process

    def server_address(self, port: int) -> tuple[str, int]:
        """Where the edge connects to reach a cloud server on forwarded ``port``."""
        if port not in self.forward_ports:
            raise FacebenchError(f"link {self.profile.name}: port {port} is not forwarded")
        return (WIRE_EDGE_ADDR, port)

    def loss_counters(self) -> tuple[int, int]:
        """(packets seen, packets dropped) by the wire namespace's loss rule so far."""
        if self.profile.loss_pct <= 0:
            return (0, 0)
        listing = _run(self.exec_prefix(self.wire_ns) + f"nft list table inet {LOSS_TABLE}".split())
        counts = dict(re.findall(r"counter (\w+) \{\s*packets (\d+)", listing))
        return (int(counts["seen"]), int(counts["dropped"]))

    def __enter__(self) -> EmulatedLink:
        require_network_emulation(self.profile)
        sweep_stale_namespaces()
        try:
            self._build()
            self._start_relay()
        except BaseException:
            self._teardown()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._teardown()

    def _build(self) -> None:
        wire = self.wire_ns
        for ns in (self.edge_ns, wire, self.cloud_ns):
            _run(["ip", "netns", "add", ns])
            _run(["ip", "-n", ns, "link", "set", "lo", "up"])
        for ns, peer, addr, peer_addr, rate in (
            (self.edge_ns, "to-edge", EDGE_ADDR, WIRE_EDGE_ADDR, self.profile.up_mbit),
            (self.cloud_ns, "to-cloud", CLOUD_ADDR, WIRE_CLOUD_ADDR, self.profile.down_mbit),
        ):
            _run(f"ip -n {ns} link add veth0 type veth peer name {peer} netns {wire}".split())
            _run(f"ip -n {ns} addr add {addr}/24 dev veth0".split())
            _run(f"ip -n {wire} addr add {peer_addr}/24 dev {peer}".split())
            _run(f"ip -n {ns} link set veth0 up".split())
            _run(f"ip -n {wire} link set {peer} up".split())
            _run(["tc", "-n", ns, "qdisc", "add", "dev", "veth0", "root", "tbf", *tbf_args(rate)])
        if self.profile.loss_pct > 0:
            _run([*self.exec_prefix(wire), "nft", "-f", "-"], input_text=self._loss_ruleset())

    def _loss_ruleset(self) -> str:
        """Count every packet the wire namespace receives; drop ``loss_pct`` of them."""
        threshold = round(self.profile.loss_pct * 1000)
        drop = f"numgen random mod 100000 < {threshold} counter name dropped drop"
        return (
            f"table inet {LOSS_TABLE} {{\n  counter seen {{\n  }}\n  counter dropped {{\n  }}\n"
            "  chain input {\n    type filter hook input priority 0; policy accept;\n"
            f'    iifname != "lo" counter name seen\n    iifname != "lo" {drop}\n  }}\n}}\n'
        )

    def _start_relay(self) -> None:
        ports = [arg for port in self.forward_ports for arg in ("--port", str(port))]
        argv = [
            *(sys.executable, "-m", "facebench.strategies.relay"),
            *("--listen-host", WIRE_EDGE_ADDR, "--connect-host", CLOUD_ADDR, *ports),
            *("--delay-ms", str(self.profile.rtt_ms / 2)),
            *("--jitter-ms", str(self.profile.jitter_ms), "--seed", str(self.seed)),
        ]
        self._relay_log = tempfile.TemporaryFile()  # noqa: SIM115 (closed in _teardown)
        relay = self.popen_in(self.wire_ns, argv, stdout=subprocess.DEVNULL, stderr=self._relay_log)
        self._wait_listening(relay, ports)

    def _wait_listening(self, relay: subprocess.Popen, ports: list[str]) -> None:
        """Poll-connect from the edge namespace until the relay accepts on every port."""
        probe = [
            *self.exec_prefix(self.edge_ns),
            *(sys.executable, "-m", "facebench.strategies.linkcheck", "wait"),
            *("--host", WIRE_EDGE_ADDR, "--timeout-s", "0.5", *ports),
        ]
        deadline = time.monotonic() + RELAY_READY_TIMEOUT_S
        for _ in range(RELAY_READY_TRIES):
            if relay.poll() is not None:
                raise FacebenchError(
                    f"link {self.profile.name}: relay exited with status {relay.returncode}: "
                    + self._relay_stderr()
                )
            probed = subprocess.run(probe, capture_output=True, timeout=COMMAND_TIMEOUT_S)
            if probed.returncode == 0:
                return
            if time.monotonic() > deadline:
                break
        raise FacebenchError(
            f"link {self.profile.name}: relay not listening on ports {list(self.forward_ports)} "
            f"after {RELAY_READY_TIMEOUT_S:g} s: {self._relay_stderr()}"
        )

    def _relay_stderr(self) -> str:
        self._relay_log.seek(0)
        return " ".join(self._relay_log.read().decode(errors="replace").split())

    def _teardown(self) -> None:
        """Stop every process started here, then delete the namespaces (and their veths)."""
        for process in self._processes:
            stop_process(process)
        self._processes.clear()
        if self._relay_log is not None:
            self._relay_log.close()
            self._relay_log = None
        for ns in (self.edge_ns, self.wire_ns, self.cloud_ns):
            _delete_namespace(ns)
