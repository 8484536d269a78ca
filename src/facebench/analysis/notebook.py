"""The analysis notebook, executed with papermill on one run's data."""

from __future__ import annotations

from pathlib import Path

from facebench.fileio import atomic_path

KERNEL = "python3"  # ipykernel's own kernel: the Python running this (jupyter_client resolves it)


def execute_notebook(template: Path, out: Path, **paths: Path) -> Path:
    """``template`` executed into ``out`` (atomically) with ``paths`` as its parameters
    (absolute, so the notebook runs from any directory)."""
    import papermill  # imported here: it starts slowly and only this step needs it

    parameters = {name: str(Path(path).resolve()) for name, path in paths.items()}
    with atomic_path(Path(out)) as tmp:
        papermill.execute_notebook(
            str(template),
            str(tmp),
            parameters=parameters,
            kernel_name=KERNEL,
            progress_bar=False,
            log_output=True,
            cwd=str(Path(out).parent.resolve()),
        )
    return Path(out)
