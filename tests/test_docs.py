"""Code in the README and docs/ runs: every ```python and ```sh block not marked <!-- no-test -->."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_BLOCK = re.compile(r"(<!--\s*no-test[^>]*-->\s*\n)?```(python|sh)\n(.*?)```", re.DOTALL)


def _blocks() -> list[tuple[str, str, str]]:
    found = []
    for doc in DOCS:
        for i, m in enumerate(_BLOCK.finditer(doc.read_text("utf-8"))):
            if not m.group(1):
                found.append((f"{doc.name}#{i}", m.group(2), m.group(3)))
    return found


BLOCKS = _blocks()


def test_docs_have_runnable_examples() -> None:
    assert any(lang == "python" for _, lang, _ in BLOCKS)
    assert any(lang == "sh" for _, lang, _ in BLOCKS)


@pytest.mark.parametrize(("name", "lang", "code"), BLOCKS, ids=[b[0] for b in BLOCKS])
def test_doc_block_runs(name: str, lang: str, code: str, tmp_path: Path) -> None:
    env = {**os.environ, "SOCRATES_DATA_DIR": str(tmp_path / "data")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    if lang == "python":
        cmd = [sys.executable, "-c", code]
    else:
        cmd = ["bash", "-euo", "pipefail", "-c", code]
    result = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
                            stdin=subprocess.DEVNULL)
    assert result.returncode == 0, f"{name} failed:\n{result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.stderr
