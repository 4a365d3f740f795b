"""The IPython magics on an LLM engine: ``%socrates connect URL --engine openai --base-url ... --model ...``,
driven through a real InteractiveShell against the fake OpenAI server of tests/llm_fakes.py."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from IPython.core.interactiveshell import InteractiveShell
from IPython.testing.globalipapp import start_ipython

import socrates_nb as snb
from llm_fakes import Action, FakeOpenAI, Received, last_user_text, reply_json, status

ANSWER = "Merchants take card payments online."
ITEM_TEXT = "The system shall let merchants take card payments online."
CATEGORY = re.compile(r'about the category "([a-z_]+)"')
MODEL = "fake-model-1"


def worded(category: str) -> str:
    return f"Model wording: what matters most about {category} here?"


def model(received: Received) -> Action:
    """Words the due question; extracts one goal item from any answer."""
    prompt = last_user_text(received)
    if prompt.startswith("TASK: question"):
        category = CATEGORY.search(prompt).group(1)  # type: ignore[union-attr]
        return reply_json({"text": worded(category), "category": category, "why": "It decides the scope."})
    if prompt.startswith("TASK: extract"):
        return reply_json([{"category": "goals", "key": "goals.card_payments", "value": {"text": ANSWER},
                            "text": ITEM_TEXT, "confidence": 0.9}])
    return status(400)


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as srv:
        srv.default = model
        yield srv


@pytest.fixture
def shell() -> Iterator[InteractiveShell]:
    ip = start_ipython() or InteractiveShell.instance()
    ip.run_line_magic("load_ext", "socrates_nb")
    yield ip
    ip.run_line_magic("unload_ext", "socrates_nb")


def test_a_session_on_openai_through_magics(shell: InteractiveShell, db_url: str, fake: FakeOpenAI,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    ws = shell.run_line_magic("socrates", f"connect {db_url} --user alice --engine openai "
                                          f"--base-url {fake.base_url} --model {MODEL}")
    assert ws is not None, capsys.readouterr().err
    ws.set_api_key("openai", "test-key")
    shell.run_line_magic("socrates", "project new 'Card shop'")
    question = shell.run_line_magic("socrates", "ask")
    assert question.text == worded(question.category)  # the model's wording
    turn = shell.run_cell_magic("socrates", "answer", ANSWER + "\n")
    assert turn.engine_used == {"extract": "openai", "question": "openai"} and turn.fallbacks == {}
    assert [i.text for i in turn.items] == [ITEM_TEXT]
    assert turn.next_question.text == worded(turn.next_question.category)
    assert shell.run_line_magic("socrates", "ask").id == turn.next_question.id
    assert capsys.readouterr().err == ""

    with snb.connect(db_url, user="alice") as other:  # stored: the session's engine, model and base_url
        [session] = other.project("Card shop").sessions()
        assert (session.engine, session.model, session.base_url) == ("openai", MODEL, fake.base_url)
        assert session.answer_count == 1
    assert {r.body["model"] for r in fake.requests} == {MODEL}
    assert len(fake.requests) == 3 and fake.invalid == []  # first question, then extract and question
    assert all(r.headers["authorization"] == "Bearer test-key" for r in fake.requests)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ("--engine gpt5", "unknown engine 'gpt5'; valid engines: offline, anthropic, openai"),
        ("--model m", "model and base_url need an LLM engine"),
        ("--engine offline --model m", "not offline"),
        ("--engine openai --base-url ftp://example.org", "base_url must be an http:// or https:// URL"),
        ("--engine openai --base-url http://u:secret@example.org", "must not carry a user name or password"),
        ("--engine", "usage error"),
    ],
)
def test_bad_engine_flags_print_one_line(shell: InteractiveShell, db_url: str, capsys: pytest.CaptureFixture[str],
                                         flags: str, message: str) -> None:
    capsys.readouterr()
    assert shell.run_line_magic("socrates", f"connect {db_url} --user alice {flags}") is None
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err
    assert err.startswith("socrates: ") and "Traceback" not in err and "secret" not in err
    # nothing is connected: the next command says so instead of using another engine
    shell.run_line_magic("socrates", "ask")
    assert "no project chosen" in capsys.readouterr().err


def test_an_llm_engine_without_a_key_or_base_url_prints_one_line(
    shell: InteractiveShell, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert shell.run_line_magic("socrates", f"connect {db_url} --user alice --engine openai") is not None
    shell.run_line_magic("socrates", "project new Keyless")
    assert shell.run_line_magic("socrates", "ask") is None
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no API key for openai" in err and "Traceback" not in err
    with snb.connect(db_url, user="alice") as other:
        assert other.project("Keyless").sessions() == []
