"""Re-execute the example notebooks and store their outputs (what GitHub shows and nbval compares).

Each notebook runs in a scratch copy of ``notebooks/`` with its own empty data directory, so
the stored outputs never depend on the local database:

    .venv/bin/python scripts/run_notebooks.py                 # all notebooks
    .venv/bin/python scripts/run_notebooks.py 01_quickstart   # one
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
KERNEL = "python3"


def scratch_env(home: Path) -> dict[str, str]:
    """Environment for a kernel that must not see the user's database or Jupyter config."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOCRATES_", "JUPYTER_"))}
    env.update(
        SOCRATES_DATA_DIR=str(home / "data"),
        JUPYTER_DATA_DIR=str(home / "jupyter_data"),
        JUPYTER_CONFIG_DIR=str(home / "jupyter_config"),
        JUPYTER_RUNTIME_DIR=str(home / "jupyter_runtime"),
        MPLBACKEND="module://matplotlib_inline.backend_inline",
    )
    return env


def scratch_copy(home: Path) -> Path:
    """A copy of notebooks/ and examples/ side by side, as in the repository."""
    shutil.copytree(ROOT / "examples", home / "examples")
    shutil.copytree(NOTEBOOKS, home / "notebooks", ignore=shutil.ignore_patterns("exports", "batch_out", "*.db*"))
    return home / "notebooks"


def execute(name: str) -> Path:
    """Run one notebook in a scratch folder and write it back with fresh outputs."""
    target = NOTEBOOKS / f"{name.removesuffix('.ipynb')}.ipynb"
    with tempfile.TemporaryDirectory(prefix="snb-nb-") as tmp:
        home = Path(tmp)
        workdir = scratch_copy(home)
        book = nbformat.read(workdir / target.name, as_version=4)
        saved_env = dict(os.environ)
        os.environ.clear()
        os.environ.update(scratch_env(home))
        try:
            NotebookClient(book, kernel_name=KERNEL, timeout=300, resources={"metadata": {"path": str(workdir)}}).execute()
        finally:
            os.environ.clear()
            os.environ.update(saved_env)
    for cell in book.cells:
        cell.metadata.pop("execution", None)
    book.metadata.pop("widgets", None)
    nbformat.write(book, target)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="notebook names (default: all in notebooks/)")
    args = parser.parse_args(argv)
    names = args.names or sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb"))
    for name in names:
        print("executed", execute(name).relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
