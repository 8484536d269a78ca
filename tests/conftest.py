"""Shared fixtures: one end-to-end workflow run on config/ci.yaml, whose models and photos the
unit tests reuse, so `make test` builds and converts every model once."""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import pytest
import yaml
from helpers import require_or_skip, run_in_own_group

from facebench.config import drop_removed, merge, read_layer
from facebench.strategies.links import LinkProfile, network_emulation_reason

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG = REPO_ROOT / "config" / "config.yaml"
SDIST_CACHE = REPO_ROOT / "resources" / "downloads" / "facenet_sdist.tar.gz"
BIN = Path(sys.executable).parent


def snakemake(
    workdir: Path,
    configfile: Path | Sequence[Path],
    *extra: str,
    timeout_s: int = 1800,
    profile: str = "default",
):
    """Run the repo's workflow in ``workdir`` on ``configfile`` (several: layered in order)
    with workflow/profiles/``profile`` (killed after ``timeout_s``, with the jobs it started;
    lock cleared)."""
    configfiles = [configfile] if isinstance(configfile, Path) else list(configfile)
    cmd = [
        str(BIN / "snakemake"),
        "--snakefile",
        str(REPO_ROOT / "workflow" / "Snakefile"),
        "--directory",
        str(workdir),
        "--configfile",
        *map(str, configfiles),
        "--cores",
        "2",
        "--workflow-profile",
        str(REPO_ROOT / "workflow/profiles" / profile),
        *extra,
    ]
    try:
        return run_in_own_group(cmd, timeout_s)
    finally:
        shutil.rmtree(workdir / ".snakemake" / "locks", ignore_errors=True)


def ci_config(workdir: Path, **models: str) -> Path:
    """config/ci.yaml on config/config.yaml, merged into one file in ``workdir`` with the cached
    sdist (if any) and ``models`` overrides."""
    config = shipped_config("ci.yaml")
    if SDIST_CACHE.is_file():
        config["models"]["facenet_sdist_path"] = str(SDIST_CACHE)
    config["models"].update(models)
    path = workdir / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def shipped_config(overlay: str) -> dict:
    """config/config.yaml with config/``overlay`` on it, as Snakemake layers them (no defaults
    filled in: what a config file holds)."""
    config = {}
    for name in ("config.yaml", overlay):
        config = merge(config, read_layer(REPO_ROOT / "config" / name)[1])
    drop_removed(config)
    return config


def user_table_config(workdir: Path, table: Path) -> Path:
    """:func:`ci_config` with ``table`` as the user's video table."""
    config = ci_config(workdir)
    settings = yaml.safe_load(config.read_text())
    settings["videos"]["user_table"] = str(table)
    config.write_text(yaml.safe_dump(settings))
    return config


SOURCE_HASH_FILE = ".facebench_source_hash"
# What the CI run's outputs are made from, besides the Python packages installed: the code,
# the configs, the paper's tables and the pinned requirements.
SOURCES = (
    "src/**/*",
    "workflow/**/*",
    "config/*.yaml",
    "resources/paper/*",
    "envs/requirements.txt",
)
# What the workflow writes into its directory (all of it is cleared before a rebuild).
WORKFLOW_OUTPUTS = ("results", "resources", "logs", "benchmarks", ".snakemake", "report.html")


def source_hash(root: Path = REPO_ROOT) -> str:
    """sha256 over the paths and contents of SOURCES (caches left out), the Python version and
    every installed package's version."""
    digest = hashlib.sha256()
    for pattern in SOURCES:
        for path in sorted(root.glob(pattern)):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    installed = sorted(f"{d.name}=={d.version}" for d in importlib.metadata.distributions())
    digest.update("\n".join([sys.version, *installed]).encode())
    return digest.hexdigest()


def clear_if_stale(workdir: Path, current: str) -> None:
    """Snakemake's rerun triggers see a rule's script, not the facebench code it imports nor
    the packages that convert the models: a reused work dir whose outputs were made from other
    sources (its record differs) loses every output and is rebuilt from nothing, so no output
    the current config no longer makes is left for a test to find. A non-empty dir with no
    record was not made by the tests: refused."""
    recorded = workdir / SOURCE_HASH_FILE
    if not recorded.is_file():
        if any(workdir.iterdir()):
            pytest.fail(
                f"{workdir}: not empty and no {SOURCE_HASH_FILE}, so not a test run's "
                "directory: empty it or set FACEBENCH_TEST_WORKDIR to another"
            )
        recorded.write_text("")  # ours from now on; the hash is written once the run passed
        return
    if recorded.read_text().strip() == current:
        return
    for name in WORKFLOW_OUTPUTS:
        path = workdir / name
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)


@pytest.fixture(scope="session")
def workflow_dir(tmp_path_factory) -> Path:
    """The workflow run end to end on the tiny CI config in a temporary directory (or in
    FACEBENCH_TEST_WORKDIR, rebuilt from nothing when its sources changed since its last run)."""
    workdir = Path(os.environ.get("FACEBENCH_TEST_WORKDIR") or tmp_path_factory.mktemp("ci_run"))
    workdir.mkdir(parents=True, exist_ok=True)
    current = source_hash()
    clear_if_stale(workdir, current)
    result = snakemake(workdir, ci_config(workdir))
    if result.returncode != 0:
        logs = "\n".join(
            f"== {p}\n{p.read_text()[-3000:]}" for p in (workdir / "logs").rglob("*.log")
        )
        pytest.fail(f"workflow failed:\n{result.stderr[-5000:]}\n{logs}")
    (workdir / SOURCE_HASH_FILE).write_text(current + "\n")
    downloaded = workdir / "resources" / "downloads" / "facenet_sdist.tar.gz"
    if not SDIST_CACHE.exists():  # cache the verified download for the next `make test`
        SDIST_CACHE.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(downloaded, SDIST_CACHE)
    return workdir


@pytest.fixture(scope="session")
def tabulated_runs(workflow_dir: Path) -> pd.DataFrame:
    """The rows of the CI run's results/validity.csv whose runs its tables keep: every run
    unless ``validity.exclude_invalid``, then the valid ones (which runs fail depends on the
    host's load, so the tests count what was kept, never a fixed number)."""
    config = yaml.safe_load((workflow_dir / "config.yaml").read_text())
    runs = pd.read_csv(
        workflow_dir / "results" / "validity.csv", dtype={"resolution": str}, keep_default_na=False
    )
    return runs[runs["valid"]] if config["validity"]["exclude_invalid"] else runs


@pytest.fixture(scope="session")
def models_dir(workflow_dir: Path) -> Path:
    return workflow_dir / "resources" / "models"


def local_faces_dir() -> Path:
    """The repo's extracted copy of the celebrity photos (may be absent)."""
    return Path(os.environ.get("FACEBENCH_RESOURCES", REPO_ROOT / "resources")) / "faces"


@pytest.fixture(scope="session")
def faces_dir(request) -> Path:
    """The celebrity photos: the repo's extracted copy if present, else the workflow run's."""
    if local_faces_dir().is_dir():
        return local_faces_dir()
    return request.getfixturevalue("workflow_dir") / "resources" / "faces"


@pytest.fixture(scope="session")
def link_emulation() -> None:
    """Skips a test that builds emulated links where this host cannot, as the workflow decides
    it (a lossy link: ip, tc, nft, root and a namespace really added); fails instead when
    FACEBENCH_REQUIRE lists netns."""
    reason = network_emulation_reason([LinkProfile("probe", 10, 10, 1, loss_pct=1)])
    if reason is not None:
        require_or_skip("netns", reason)


# Per-test timeouts (pytest-timeout; the default is in pyproject.toml), setup included: the
# first e2e test also waits for the workflow run (snakemake() stops it after 1800 s), and the
# first SLURM test for the cluster's start (600 s) and its workflow runs (about 6 min).
E2E_TIMEOUT_S = 2400
SLURM_TIMEOUT_S = 4200


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark `e2e` every test that needs the end-to-end workflow run (through its fixtures, or
    the photos when the repo has no copy of them), so `make test-fast` (-m "not e2e") skips it
    and no test can forget the mark; give e2e and SLURM tests their longer timeouts."""
    needs_run = {"workflow_dir", "models_dir"}
    if not local_faces_dir().is_dir():
        needs_run.add("faces_dir")
    for item in items:
        if needs_run & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.e2e)
        if item.get_closest_marker("slurm"):
            item.add_marker(pytest.mark.timeout(SLURM_TIMEOUT_S))
        elif item.get_closest_marker("e2e"):
            item.add_marker(pytest.mark.timeout(E2E_TIMEOUT_S))
