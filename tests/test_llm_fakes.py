"""The fake LLM vendor servers (tests/llm_fakes.py) against the real, unpatched vendor SDKs."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import anthropic
import openai
import pytest

from llm_fakes import (
    FakeAnthropic,
    FakeLlmServer,
    FakeOpenAI,
    Received,
    last_user_text,
    refused_url,
    reply,
    reply_json,
    slow,
    status,
    system_text,
)

KEY = "test-key"
SYSTEM = "You are terse."
QUESTION = "Is the requirement testable?"


@dataclass
class Vendor:
    """What differs between the vendors, so each test runs once per vendor."""

    name: str
    server: Callable[[], FakeLlmServer]
    sdk: Any  # the SDK module, for its exception classes and Timeout
    model: str

    def client(self, base_url: str, *, api_key: str = KEY, max_retries: int = 0,
               read: float = 2.0) -> Any:
        cls = anthropic.Anthropic if self.sdk is anthropic else openai.OpenAI
        return cls(api_key=api_key, base_url=base_url, max_retries=max_retries,
                   timeout=self.sdk.Timeout(read, connect=1.0))

    def ask(self, client: Any, question: str = QUESTION, system: str = SYSTEM) -> tuple[str, int, int]:
        """One completion; returns (text, input tokens, output tokens)."""
        if self.sdk is anthropic:
            msg = client.messages.create(
                model=self.model, max_tokens=64, system=system,
                messages=[{"role": "user", "content": question}],
            )
            return msg.content[0].text, msg.usage.input_tokens, msg.usage.output_tokens
        completion = client.chat.completions.create(
            model=self.model, max_tokens=64,
            messages=[{"role": "system", "content": system}, {"role": "user", "content": question}],
        )
        usage = completion.usage
        return completion.choices[0].message.content, usage.prompt_tokens, usage.completion_tokens

    def ask_invalid(self, client: Any) -> None:
        """A request the vendor refuses (and the SDK sends as is)."""
        if self.sdk is anthropic:
            client.messages.create(model=self.model, max_tokens=64,
                                   messages=[{"role": "assistant", "content": "Hello"}])
        else:
            client.chat.completions.create(model=self.model, messages=[])


VENDORS = [
    Vendor("anthropic", FakeAnthropic, anthropic, "claude-test-1"),
    Vendor("openai", FakeOpenAI, openai, "gpt-test-1"),
]


@pytest.fixture(params=VENDORS, ids=lambda v: v.name)
def vendor(request: pytest.FixtureRequest) -> Vendor:
    return request.param


@pytest.fixture
def server(vendor: Vendor) -> Iterator[FakeLlmServer]:
    with vendor.server() as srv:
        yield srv


def test_reply_json_round_trip(vendor: Vendor, server: FakeLlmServer) -> None:
    server.script(reply_json({"testable": True, "why": "measurable"}, tokens_in=123, tokens_out=45))
    text, tokens_in, tokens_out = vendor.ask(vendor.client(server.base_url))

    assert text == '{"testable": true, "why": "measurable"}'
    assert (tokens_in, tokens_out) == (123, 45)
    assert server.invalid == [] and server.errors == [] and server.pending == 0
    [got] = server.requests
    assert got.path == server.route
    assert got.body["model"] == vendor.model
    assert last_user_text(got) == QUESTION
    assert system_text(got) == SYSTEM
    if vendor.sdk is anthropic:
        assert got.body["messages"] == [{"role": "user", "content": QUESTION}]
        assert got.body["system"] == SYSTEM
        assert got.headers["anthropic-version"]
    else:
        assert got.body["messages"] == [{"role": "system", "content": SYSTEM},
                                        {"role": "user", "content": QUESTION}]
        assert got.headers["authorization"] == f"Bearer {KEY}"


def test_default_and_callable_actions(vendor: Vendor, server: FakeLlmServer) -> None:
    client = vendor.client(server.base_url)
    assert vendor.ask(client)[0] == "{}"  # the default default
    server.default = lambda r: reply("echo: " + last_user_text(r))
    server.script(lambda r: reply_json({"system": system_text(r)}))
    assert vendor.ask(client)[0] == '{"system": "You are terse."}'
    assert vendor.ask(client, "again")[0] == "echo: again"
    assert len(server.requests) == 3 and server.invalid == [] and server.errors == []


def test_wrong_key_is_refused(vendor: Vendor, server: FakeLlmServer) -> None:
    server.script(reply("never sent"))
    with pytest.raises(vendor.sdk.AuthenticationError) as caught:
        vendor.ask(vendor.client(server.base_url, api_key="wrong-key"))
    assert caught.value.status_code == 401
    assert server.pending == 1  # no scripted action consumed
    assert len(server.requests) == 1 and len(server.invalid) == 1
    body = caught.value.body
    if vendor.sdk is anthropic:
        assert body["type"] == "error" and body["error"]["type"] == "authentication_error"
    else:
        assert body["code"] == "invalid_api_key"  # the SDK unwraps "error"


def test_invalid_request_is_refused(vendor: Vendor, server: FakeLlmServer) -> None:
    server.script(reply("never sent"))
    with pytest.raises(vendor.sdk.BadRequestError) as caught:
        vendor.ask_invalid(vendor.client(server.base_url))
    assert caught.value.status_code == 400
    assert server.pending == 1
    assert len(server.invalid) == 1 and len(server.requests) == 1
    if vendor.sdk is anthropic:
        assert caught.value.body["error"]["type"] == "invalid_request_error"
        assert "user" in server.invalid[0]
    else:
        assert caught.value.body["type"] == "invalid_request_error"
        assert server.invalid == ["[] is too short - 'messages'"]


def test_rate_limit_then_retry_succeeds(vendor: Vendor, server: FakeLlmServer) -> None:
    server.script(status(429, retry_after=1), reply("after the wait"))
    client = vendor.client(server.base_url, max_retries=1)
    started = time.monotonic()
    text, _, _ = vendor.ask(client)
    elapsed = time.monotonic() - started
    assert text == "after the wait"
    assert elapsed >= 0.9  # the SDK honoured Retry-After
    assert len(server.requests) == 2 and server.invalid == []
    assert [r.headers.get("x-stainless-retry-count") for r in server.requests] == ["0", "1"]


def test_server_error(vendor: Vendor, server: FakeLlmServer) -> None:
    server.script(status(500))
    with pytest.raises(vendor.sdk.InternalServerError) as caught:
        vendor.ask(vendor.client(server.base_url))
    assert caught.value.status_code == 500
    assert len(server.requests) == 1 and server.pending == 0


def test_slow_answer_times_out(vendor: Vendor, server: FakeLlmServer) -> None:
    server.script(slow(1.5, reply("too late")))
    client = vendor.client(server.base_url, read=0.5)
    started = time.monotonic()
    with pytest.raises(vendor.sdk.APITimeoutError):
        vendor.ask(client)
    assert time.monotonic() - started < 1.4
    # the server survives the client hanging up, and keeps answering
    server.script(reply("still here"))
    assert vendor.ask(vendor.client(server.base_url))[0] == "still here"


def test_connection_refused(vendor: Vendor) -> None:
    client = vendor.client(refused_url(vendor.name))
    with pytest.raises(vendor.sdk.APIConnectionError) as caught:
        vendor.ask(client)
    assert not isinstance(caught.value, vendor.sdk.APITimeoutError)


def test_unknown_path_is_404(vendor: Vendor, server: FakeLlmServer) -> None:
    client = vendor.client(server.base_url)
    with pytest.raises(vendor.sdk.NotFoundError):
        client.post("/nope", cast_to=object, body={})
    assert len(server.invalid) == 1


def test_anthropic_validation_details() -> None:
    with FakeAnthropic() as srv:
        client = anthropic.Anthropic(api_key=KEY, base_url=srv.base_url, max_retries=0,
                                     timeout=anthropic.Timeout(2.0, connect=1.0))
        bad: list[dict[str, Any]] = [
            {"max_tokens": 0, "messages": [{"role": "user", "content": "hi"}]},
            {"max_tokens": 8, "messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]},
            {"max_tokens": 8, "messages": [{"role": "user", "content": "hi"}], "extra_body": {"temperature": 1.5}},
            {"max_tokens": 8, "messages": [{"role": "user", "content": "hi"}], "system": [{"type": "image"}]},
        ]
        for kwargs in bad:
            with pytest.raises(anthropic.BadRequestError):
                client.messages.create(model="m", **kwargs)
        assert len(srv.invalid) == len(bad)
        # content blocks, a list system prompt and the x-api-key header are all fine
        client.messages.create(
            model="m", max_tokens=8,
            system=[{"type": "text", "text": "be brief"}],
            messages=[{"role": "user", "content": [{"type": "text", "text": "first"}]},
                      {"role": "assistant", "content": "ok"},
                      {"role": "user", "content": [{"type": "text", "text": "block"}]}],
            extra_headers={"x-api-key": KEY},
        )
        got = srv.requests[-1]
        assert last_user_text(got) == "block" and system_text(got) == "be brief"
        assert len(srv.invalid) == len(bad)
        with pytest.raises(anthropic.BadRequestError):  # a missing anthropic-version header
            client.messages.create(model="m", max_tokens=8, messages=[{"role": "user", "content": "hi"}],
                                   extra_headers={"anthropic-version": anthropic.omit})
        assert "anthropic-version" in srv.invalid[-1]


def test_status_envelopes_and_headers() -> None:
    with FakeAnthropic() as a, FakeOpenAI() as o:
        a.script(status(529, retry_after=3))
        ac = anthropic.Anthropic(api_key=KEY, base_url=a.base_url, max_retries=0)
        with pytest.raises(anthropic.OverloadedError) as caught:
            ac.messages.create(model="m", max_tokens=8, messages=[{"role": "user", "content": "hi"}])
        assert caught.value.body["error"]["type"] == "overloaded_error"
        assert caught.value.response.headers["retry-after"] == "3"
        assert caught.value.response.headers["request-id"].startswith("req_")

        o.script(status(429), status(418, body={"error": {"message": "teapot", "type": "x", "param": None,
                                                              "code": None}}))
        oc = openai.OpenAI(api_key=KEY, base_url=o.base_url, max_retries=0)
        with pytest.raises(openai.RateLimitError) as rl:
            oc.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
        assert rl.value.code == "rate_limit_exceeded"
        assert rl.value.response.headers["x-request-id"]
        with pytest.raises(openai.APIStatusError) as teapot:
            oc.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
        assert teapot.value.status_code == 418 and teapot.value.message.endswith("teapot")


def test_script_failure_is_reported() -> None:
    def broken(_: Received) -> Any:
        raise RuntimeError("boom")

    with FakeOpenAI() as o:
        o.script(broken)
        oc = openai.OpenAI(api_key=KEY, base_url=o.base_url, max_retries=0)
        with pytest.raises(openai.InternalServerError):
            oc.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
        assert o.errors == ["RuntimeError: boom"]
