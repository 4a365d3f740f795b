"""The LLM engine's own cost per turn: an answer turn against a local fake server that replies at once.

    .venv/bin/python benchmarks/bench_llm_turn.py                 # SQLite, a temporary file
    .venv/bin/python benchmarks/bench_llm_turn.py --url postgresql://postgres@127.0.0.1:5432/test --turns 40

Three kinds of turn, alternating so that drift hits each alike, each in a project of its own:

* ``offline``: the offline engine (the baseline);
* ``llm``: the OpenAI engine against ``tests/llm_fakes.FakeOpenAI`` answering instantly with
  valid JSON (one extraction call, one question call), cache off: everything the LLM engine
  adds except the model's own latency (the SDK and HTTP round trips, the prompts, schema
  validation, the offline checks of the items, the extra transactions, the usage rows);
* ``llm_cached``: the same requests answered from the reply cache (no HTTP).

Reports the median and p95 in ms of each, the overhead ``llm - offline`` in ms and the ratios
to offline. Needs the LLM extra (``pip install 'socrates_nb[llm]'``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from functools import lru_cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from llm_fakes import FakeOpenAI, last_user_text, reply, reply_json  # noqa: E402

def _skip_criteria(session: Any) -> None:
    """Skip a pending criteria follow-up: the service files its reply, no engine extracts it."""
    q = session.next_question()
    if q is not None and q.key.startswith("criteria."):
        session.skip()


ANSWERS = (
    "The checkout page shall respond within 300 ms at p95 for 500 concurrent users.",
    "Refunds are issued within 5 days. Support staff can see every refund in the back office.",
    "The service must be available 99.9% of the time, measured monthly.",
    "Merchants export their settlements as CSV.",
)


@lru_cache(maxsize=None)
def _items_of(answer: str) -> str:
    """The items the offline engine finds in ``answer``, as a model's JSON reply (computed once per answer)."""
    from socrates_nb.engine.offline.extraction import extract_items

    return json.dumps([{"category": i.category, "key": i.key, "value": i.value, "text": i.text,
                        "confidence": i.confidence} for i in extract_items(None, answer)])


def _model(received: Any) -> Any:
    """An instant model: the items the offline engine would find, and a question of the due category."""
    text = last_user_text(received)
    if text.startswith("TASK: extract"):
        data = json.loads(text.split("<data>\n", 1)[1].rsplit("\n</data>", 1)[0])
        return reply(_items_of(data["answer"]))
    category = text.split('about the category "', 1)[1].split('"', 1)[0]
    return reply_json({"text": f"What else should we know about {category} here?", "category": category,
                       "why": "It fills the largest gap."})


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run(url: str | None, turns: int) -> dict[str, Any]:
    import socrates_nb as snb

    os.environ["SOCRATES_LLM_MAX_RETRIES"] = "0"
    with FakeOpenAI() as fake:
        fake.default = _model
        db_url = url or f"sqlite:///{tempfile.mkdtemp(prefix='bench-llm-')}/bench.db"
        schema = None
        if db_url.startswith("postgresql"):
            from sqlalchemy import create_engine, text

            schema = f"bench_llm_{uuid.uuid4().hex[:8]}"
            with create_engine(db_url.replace("postgresql://", "postgresql+psycopg://", 1)).begin() as conn:
                conn.execute(text(f"CREATE SCHEMA {schema}"))
            db_url += ("&" if "?" in db_url else "?") + f"options=-csearch_path%3D{schema}"
        try:
            return _measure(snb, db_url, fake, turns)
        finally:
            if schema is not None:
                from sqlalchemy import create_engine, text

                with create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1)).begin() as conn:  # type: ignore[union-attr]
                    conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))


def _measure(snb: Any, db_url: str, fake: FakeOpenAI, turns: int) -> dict[str, Any]:
    times: dict[str, list[float]] = {"offline": [], "llm": [], "llm_cached": []}
    users = {}
    for kind in times:
        os.environ["SOCRATES_LLM_CACHE_TTL"] = "3600" if kind == "llm_cached" else "0"
        ws = snb.connect(db_url, user="bench-cached" if kind == "llm_cached" else f"bench-{kind}")
        if kind != "offline":
            ws.set_api_key("openai", "test-key")
        users[kind] = ws
    sessions: dict[str, Any] = {}

    def fresh(kind: str) -> Any:
        ws = users[kind]
        p = ws.create_project(f"{kind} {uuid.uuid4().hex[:8]}", template="web-api")
        if kind == "offline":
            return p.start_session()
        return p.start_session(engine="openai", model="bench-model", base_url=fake.base_url)

    # the cached kind replays one fixed conversation, so its requests repeat exactly
    warm = fresh("llm_cached")
    for answer in ANSWERS:
        _skip_criteria(warm)
        warm.answer(answer)
    for i in range(turns + 2):
        for kind in times:
            if i % len(ANSWERS) == 0:
                sessions[kind] = fresh(kind)
            _skip_criteria(sessions[kind])  # its reply would go to no engine
            started = time.perf_counter()
            turn = sessions[kind].answer(ANSWERS[i % len(ANSWERS)])
            elapsed = (time.perf_counter() - started) * 1000
            expected = "offline" if kind == "offline" else "openai"
            assert turn.engine_used["extract"] == expected, (kind, turn.engine_used, turn.fallbacks)
            if i >= 2:  # two warm-up rounds
                times[kind].append(elapsed)
    for ws in users.values():
        ws.close()
    base = statistics.median(times["offline"])
    results = {
        kind: {"median_ms": round(statistics.median(v), 2), "p95_ms": round(_percentile(v, 0.95), 2),
               "ratio_to_offline": round(statistics.median(v) / base, 2), "turns": len(v)}
        for kind, v in times.items()
    }
    return {
        "backend": db_url.split(":", 1)[0], "turns": turns, "results": results,
        "llm_overhead_ms": round(results["llm"]["median_ms"] - base, 2),
        "cached_overhead_ms": round(results["llm_cached"]["median_ms"] - base, 2),
        "fake_requests": len(fake.requests), "invalid_requests": len(fake.invalid),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="database URL (default: a new SQLite file)")
    parser.add_argument("--turns", type=int, default=40, help="timed turns of each kind")
    parser.add_argument("--json", help="also write the report as JSON (- for stdout, the table then goes to stderr)")
    args = parser.parse_args()
    report = run(args.url, args.turns)
    out = sys.stderr if args.json == "-" else sys.stdout
    print(f"{'turn':<12}{'median ms':>12}{'p95 ms':>10}{'x offline':>11}", file=out)
    for kind, r in report["results"].items():
        print(f"{kind:<12}{r['median_ms']:>12.2f}{r['p95_ms']:>10.2f}{r['ratio_to_offline']:>11.2f}", file=out)
    print(f"LLM engine overhead per turn (model latency excluded): {report['llm_overhead_ms']:.2f} ms; "
          f"from the cache: {report['cached_overhead_ms']:.2f} ms", file=out)
    if args.json == "-":
        print(json.dumps(report, indent=2))
    elif args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
