"""The strategies experiment end to end: the CI run's outputs, and a server killed mid-run."""

from __future__ import annotations

import json
import subprocess
import threading
from pathlib import Path

import pandas as pd
import pytest
from conftest import shipped_config
from helpers import require

from facebench.errors import FacebenchError
from facebench.strategies.experiment import run_strategy
from facebench.strategies.links import LinkProfile, network_emulation_reason
from facebench.strategies.settings import StrategySettings

REPO_ROOT = Path(__file__).resolve().parents[1]
CONFIG = shipped_config("ci.yaml")
CI = CONFIG["strategies"]
LAN = LinkProfile("lan", 1000.0, 1000.0, 1.0)
# Why the CI run's links could not be emulated here (the workflow's own check), or None.
REASON = network_emulation_reason([LinkProfile.from_config(n, e) for n, e in CI["links"].items()])


def _namespaces() -> set[str]:
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    return {line.split()[0] for line in listed.splitlines() if line.strip()}


@pytest.mark.skipif(REASON is None, reason="links are emulated here: the strategies ran")
def test_ci_run_without_link_emulation_says_why_not(workflow_dir):
    require("netns", REASON)
    strategies = workflow_dir / "results" / "strategies"
    summary = pd.read_csv(strategies / "summary.csv", dtype={"resolution": str})
    assert summary.empty
    assert "not measured" in (strategies / "strategies_latency.svg").read_text()
    assert sorted((strategies / "runs").glob("*/*/*/run.json")) == []


@pytest.mark.usefixtures("link_emulation")
def test_ci_run_has_every_strategy_on_every_link(workflow_dir):
    strategies = workflow_dir / "results" / "strategies"
    summary = pd.read_csv(strategies / "summary.csv", dtype={"resolution": str})
    expected = {(s, link) for s in CI["names"] for link in CI["links"]}
    assert set(zip(summary["strategy"], summary["link"], strict=True)) == expected
    # The camera replays the clip at its frame rate for duration_s, the first frames warm-up.
    fps = CONFIG["videos"]["generated"][CI["video"]]["fps"]
    measured = round(CI["duration_s"] * fps) - CI["warmup_frames"]
    assert (summary["n_measured_frames"] == measured).all()
    assert summary["captured_fps"].tolist() == pytest.approx([fps] * len(summary))
    assert summary["measured_span_s"].tolist() == pytest.approx([measured / fps] * len(summary))
    frames = pd.read_parquet(strategies / "frames.parquet")
    processed = (
        frames[~frames["is_warmup"] & (frames["status"] == "processed")]
        .groupby(["strategy", "link"], observed=True)
        .size()
    )
    table = summary.set_index(["strategy", "link"])
    assert table["n_processed_frames"].to_dict() == processed.reindex(table.index).to_dict()
    assert table["achieved_fps"].tolist() == pytest.approx(
        (table["n_processed_frames"] / table["measured_span_s"]).tolist(), rel=1e-5
    )
    # A cloud frame waits for the server's reply: at least one round trip over the link plus
    # the server's MTCNN + FaceNet (tens of ms), so its median latency is above the link's RTT.
    for link, nominal in CI["links"].items():
        assert table.loc[("cloud", link), "latency_p50_ms"] > nominal["rtt_ms"], link
    assert summary["identification_accuracy"].between(0, 1).all()
    per_frame = summary.set_index(["strategy", "link"])["bytes_up_per_frame"]
    for link in CI["links"]:  # what leaves the site, by design: frames > crops > metadata
        assert per_frame["cloud", link] > per_frame["hybrid", link] > per_frame["edge", link]
    frames = pd.read_parquet(strategies / "frames.parquet")
    hybrid = frames[(frames["strategy"] == "hybrid") & (frames["status"] == "processed")]
    assert 0 < hybrid["n_sent_faces"].sum() < hybrid["n_faces"].sum()  # tracks reuse identities


@pytest.mark.usefixtures("link_emulation")
def test_each_run_records_its_link_check_and_what_the_edge_is(workflow_dir):
    runs = sorted((workflow_dir / "results" / "strategies" / "runs").glob("*/*/*/run.json"))
    assert len(runs) == len(CI["names"]) * len(CI["links"]) * len(CI["resolutions"])
    for path in runs:
        run = json.loads(path.read_text())
        assert "not an edge board" in run["edge_emulation"]
        nominal = CI["links"][run["link"]]
        measured = run["link_check"]["measured"]
        # capped by the shaper, slowed (not sped up) by a busy host: see test_links
        assert 0.5 * nominal["up_mbit"] <= measured["up_mbit"] <= 1.2 * nominal["up_mbit"]
        spread = 2 * nominal.get("jitter_ms", 0) + 1  # jitter: normal, per direction
        rtt = measured["rtt_ms_p50"]
        assert nominal["rtt_ms"] - spread <= rtt <= nominal["rtt_ms"] + spread + 50
        assert run["frames"]["captured"] == sum(
            run["frames"][k] for k in ("processed", "dropped", "lost")
        )


@pytest.mark.usefixtures("link_emulation")
def test_a_server_killed_mid_run_fails_the_run_and_leaves_nothing(workflow_dir, tmp_path):
    resources = workflow_dir / "resources"
    settings = StrategySettings(
        resources / "models",
        resources / "gallery" / "onnx.npz",
        "onnx",
        "onnx",
        duration_s=20.0,
    )
    before = _namespaces()

    # The edge streams for 20 s; killing the server 10 s after both started leaves the edge
    # (a Python start-up of ~1 s, several on a busy 2-core host) time to connect first.
    def kill_server_soon(server: subprocess.Popen, edge: subprocess.Popen) -> None:
        threading.Timer(10.0, server.kill).start()

    out = tmp_path / "run"
    with pytest.raises(FacebenchError, match="cloud over link lan: edge: server closed"):
        run_strategy(
            "cloud",
            LAN,
            {},
            resources / "videos" / "video1" / "480.mp4",
            "video1",
            "480",
            settings,
            out,
            on_started=kill_server_soon,
        )
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == []  # no temporary left either
    assert _namespaces() <= before
