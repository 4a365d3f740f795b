"""End to end in a real browser: JupyterLab in headless Chromium drives the session form.

Chromium comes from Debian's ``chromium`` package (``make test`` installs it) and is driven by
Playwright with ``executable_path``; Playwright's own browser download is never used.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

import socrates_nb as snb

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
sys.path.insert(0, str(ROOT / "scripts"))
from run_notebooks import scratch_copy, scratch_env  # noqa: E402

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not os.path.exists(CHROMIUM),
                       reason="Chromium is not installed (make test installs Debian's chromium package; "
                              "it could not be installed on this machine)"),
]

# The flags keep Chromium off the network: this machine refuses outside connections.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _wait_until_up(url: str, token: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    request = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"JupyterLab exited with {proc.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            with urllib.request.urlopen(request, timeout=2) as response:  # noqa: S310 (local test server)
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"JupyterLab did not answer {url} within {timeout} s")


@pytest.fixture
def lab(tmp_path: Path, free_port: int) -> Iterator[tuple[str, str, Path]]:
    """JupyterLab on 127.0.0.1 with a token, serving a scratch copy of notebooks/; yields (url, token, home)."""
    workdir = scratch_copy(tmp_path)
    token = secrets.token_hex(24)
    port = free_port
    env = scratch_env(tmp_path)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
           f"--ServerApp.root_dir={workdir}", f"--IdentityProvider.token={token}",
           "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
           # the form runs its sessions in the kernel, never through the REST extension: no extraction
           # worker process, whose start-up a stopping server would otherwise wait for
           "--SocratesApp.extraction_processes=0"]
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    log_path = tmp_path / "lab.log"
    log = log_path.open("wb")
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=workdir)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(f"{url}/api/status", token, proc, log_path)
        yield url, token, tmp_path
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def test_session_form_in_jupyterlab(lab: tuple[str, str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    from playwright.sync_api import expect, sync_playwright

    url, token, home = lab
    answer = "The budget is 40,000 EUR and the first release ships by 1 March 2027; the date can move, the budget cannot."
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 2200})
        page.set_default_timeout(60_000)
        try:
            page.goto(f"{url}/login?next=%2Flab%2Ftree%2F01_quickstart.ipynb")
            page.fill("input[type=password]", token)
            page.click("#login_submit")
            page.wait_for_selector(".jp-Notebook .jp-Cell")
            # the kernel must be connected before "Run All Cells", or the run requests are lost
            expect(page.get_by_role("button", name="Python 3 (ipykernel) | Idle")).to_be_visible(timeout=60_000)
            page.get_by_role("menuitem", name="Run", exact=True).click()
            page.get_by_role("menuitem", name="Run All Cells", exact=True).click()

            form = page.locator(".snb-form")
            expect(form).to_be_visible(timeout=30_000)
            expect(page.locator(".snb-question")).to_contain_text("?")
            question = page.locator(".snb-question").text_content() or ""
            form.scroll_into_view_if_needed()
            page.locator(".snb-answer textarea").fill(answer)
            page.locator(".snb-submit").click()
            items = page.locator(".snb-items")
            expect(items).to_contain_text("From your last answer", timeout=60_000)
            news = page.get_by_role("button", name="No", exact=True)
            if news.is_visible():  # JupyterLab's "notified about official Jupyter news?" toast
                news.click()
            form.screenshot(path=str(ARTIFACTS / "session_form.png"))
            page.screenshot(path=str(ARTIFACTS / "jupyterlab_quickstart.png"))
            shown = items.text_content() or ""
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "failure.png"), full_page=True)
            raise
        finally:
            browser.close()

    monkeypatch.setenv("SOCRATES_DATA_DIR", str(home / "data"))
    with snb.connect(user="analyst") as ws:
        project = ws.project("Bookshop API (quickstart)")
        session = project.sessions()[-1]
        stored = [i for i in project.specification().items if i.source_answer == answer]
    assert stored, "the answer typed in the browser was stored"
    assert stored[0].source_question in question, "the answer went to the question the form showed"
    assert all(item.ref in shown for item in stored)
    assert session.answer_count >= 1
