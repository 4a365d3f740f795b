"""The example notebooks run: nbval compares 01 and 03 with their stored outputs; papermill runs 02."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
from jupyter_client.kernelspec import KernelSpecManager
import papermill as pm
import pytest
import yaml

import socrates_nb as snb

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
ANSWERS = ROOT / "examples" / "payments_api_answers.yaml"
sys.path.insert(0, str(ROOT / "scripts"))
from run_notebooks import scratch_copy, scratch_env  # noqa: E402


def _nbval(name: str, home: Path, workdir: Path) -> subprocess.CompletedProcess[str]:
    """``pytest --nbval`` on a scratch copy, with an empty data dir and no coverage hooks."""
    env = {k: v for k, v in scratch_env(home).items() if not k.startswith(("COV_CORE", "COVERAGE"))}
    cmd = [sys.executable, "-m", "pytest", "--nbval", f"{name}.ipynb", "--nbval-sanitize-with", "sanitize.cfg",
           "--nbval-kernel-name", "python3", "-p", "no:cacheprovider", "-q", "--rootdir", str(workdir)]
    return subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize("name", ["01_quickstart", "03_analytics"])
def test_notebook_outputs_match_nbval(name: str, tmp_path: Path) -> None:
    stored = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    code = [c for c in stored.cells if c.cell_type == "code"]
    assert code and all(c.outputs for c in code), "every code cell keeps its outputs (refresh: scripts/run_notebooks.py)"
    assert stored.metadata.kernelspec.name == "python3"
    # the kernel is the one installed into the project's venv (by ipykernel, with `make test`)
    spec = KernelSpecManager().get_kernel_spec("python3")
    assert Path(spec.resource_dir).is_relative_to(Path(sys.prefix)), spec.resource_dir
    result = _nbval(name, tmp_path, scratch_copy(tmp_path))
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert f"{len(code)} passed" in result.stdout


def test_nbval_catches_a_changed_output(tmp_path: Path) -> None:
    """The comparison is real: a stored output that no longer matches fails the run."""
    workdir = scratch_copy(tmp_path)
    book = nbformat.read(workdir / "01_quickstart.ipynb", as_version=4)
    first = next(c for c in book.cells if c.cell_type == "code")
    first.outputs[0]["text"] = "somebody-else\n"
    nbformat.write(book, workdir / "01_quickstart.ipynb")
    result = _nbval("01_quickstart", tmp_path, workdir)
    assert result.returncode == 1
    assert "somebody-else" in result.stdout


def _run_batch_notebook(tmp_path: Path, db_url: str, answers: Path) -> Path:
    out = tmp_path / "run.ipynb"
    pm.execute_notebook(
        str(NOTEBOOKS / "02_batch_session.ipynb"), str(out), kernel_name="python3", cwd=str(tmp_path),
        parameters={"project_name": "Payments (papermill)", "template": "web-api", "answers_path": str(answers),
                    "output_dir": str(tmp_path / "out"), "database_url": db_url, "user": "batcher"},
        progress_bar=False,
    )
    return out


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_batch_notebook_runs_with_parameters(tmp_path: Path, db_url: str, fmt: str) -> None:
    answers = ANSWERS
    if fmt == "json":  # the same answers as a JSON file
        answers = tmp_path / "answers.json"
        answers.write_text(json.dumps(yaml.safe_load(ANSWERS.read_text("utf-8"))), encoding="utf-8")
    executed = nbformat.read(_run_batch_notebook(tmp_path, db_url, answers), as_version=4)
    injected = [c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1 and "Payments (papermill)" in injected[0].source

    summary = json.loads((tmp_path / "out" / "payments_papermill.summary.json").read_text("utf-8"))
    with snb.connect(db_url, user="batcher") as ws:
        project = ws.project("Payments (papermill)")
        spec = project.specification()
        sessions = project.sessions()
    assert summary["project"] == "Payments (papermill)"
    assert summary["items"] == len(spec.items) > 0
    assert summary["maturity"] == spec.maturity.score
    assert summary["answers"] == sessions[0].answer_count and sessions[0].status == "completed"
    assert json.loads((tmp_path / "out" / "payments_papermill.json").read_text("utf-8")) == spec.to_dict()
    assert (tmp_path / "out" / "payments_papermill.md").read_text("utf-8") == spec.to_markdown()


def test_batch_notebook_with_a_bad_answers_file_stores_nothing(tmp_path: Path, db_url: str) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("goals: [unclosed\n", encoding="utf-8")
    with pytest.raises(pm.PapermillExecutionError) as info:
        _run_batch_notebook(tmp_path, db_url, bad)
    assert info.value.ename == "ValidationError"
    assert "not valid YAML/JSON" in info.value.evalue
    with snb.connect(db_url, user="batcher") as ws:
        assert ws.projects().total == 0
    assert not (tmp_path / "out").exists()
