"""Shared fixtures: one end-to-end workflow run on config/ci.yaml, whose models and photos the
unit tests reuse, so `make test` builds and converts every model once."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pandas as pd
import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
SDIST_CACHE = REPO_ROOT / "resources" / "downloads" / "facenet_sdist.tar.gz"
BIN = Path(sys.executable).parent


def snakemake(
    workdir: Path,
    configfile: Path,
    *extra: str,
    timeout_s: int = 1800,
    profile: str = "default",
):
    """Run the repo's workflow in ``workdir`` with workflow/profiles/``profile`` (killed after
    ``timeout_s``; lock cleared)."""
    cmd = [
        str(BIN / "snakemake"),
        "--snakefile",
        str(REPO_ROOT / "workflow" / "Snakefile"),
        "--directory",
        str(workdir),
        "--configfile",
        str(configfile),
        "--cores",
        "2",
        "--workflow-profile",
        str(REPO_ROOT / "workflow/profiles" / profile),
        *extra,
    ]
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
    finally:
        shutil.rmtree(workdir / ".snakemake" / "locks", ignore_errors=True)


def ci_config(workdir: Path, **models: str) -> Path:
    """config/ci.yaml with the cached sdist (if any) and ``models`` overrides, in ``workdir``."""
    config = yaml.safe_load((REPO_ROOT / "config" / "ci.yaml").read_text())
    if SDIST_CACHE.is_file():
        config["models"]["facenet_sdist_path"] = str(SDIST_CACHE)
    config["models"].update(models)
    path = workdir / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def user_table_config(workdir: Path, table: Path) -> Path:
    """:func:`ci_config` with ``table`` as the user's video table."""
    config = ci_config(workdir)
    settings = yaml.safe_load(config.read_text())
    settings["videos"]["user_table"] = str(table)
    config.write_text(yaml.safe_dump(settings))
    return config


SOURCE_HASH_FILE = ".facebench_source_hash"


def source_hash(root: Path = REPO_ROOT) -> str:
    """sha256 over the paths and contents of src/ and workflow/ (caches left out)."""
    digest = hashlib.sha256()
    for top in ("src", "workflow"):
        for path in sorted((root / top).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def rerun_args(workdir: Path, current: str) -> list[str]:
    """Snakemake's rerun triggers see a rule's script, not the facebench code it imports: a
    reused work dir whose outputs were made from other sources is rebuilt (``--forceall``).
    A dir with no record (made before records were kept) is trusted, with a warning."""
    recorded = workdir / SOURCE_HASH_FILE
    if not recorded.is_file():
        if (workdir / "results").exists():
            warnings.warn(
                f"{workdir}: no {SOURCE_HASH_FILE}; its outputs are trusted as current",
                stacklevel=2,
            )
        return []
    return [] if recorded.read_text().strip() == current else ["--forceall"]


@pytest.fixture(scope="session")
def workflow_dir(tmp_path_factory) -> Path:
    """The workflow run end to end on the tiny CI config in a temporary directory (or in
    FACEBENCH_TEST_WORKDIR, rebuilt when src/ or workflow/ changed since its last run)."""
    workdir = Path(os.environ.get("FACEBENCH_TEST_WORKDIR") or tmp_path_factory.mktemp("ci_run"))
    workdir.mkdir(parents=True, exist_ok=True)
    current = source_hash()
    result = snakemake(workdir, ci_config(workdir), *rerun_args(workdir, current))
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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark `e2e` every test that needs the end-to-end workflow run (through its fixtures, or
    the photos when the repo has no copy of them), so `make test-fast` (-m "not e2e") skips it
    and no test can forget the mark."""
    needs_run = {"workflow_dir", "models_dir"}
    if not local_faces_dir().is_dir():
        needs_run.add("faces_dir")
    for item in items:
        if needs_run & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.e2e)
