"""The fake OpenAI server speaks OpenAI's wire format: checked with the official SDK pointed straight at it."""

from __future__ import annotations

import json

import openai
import pytest

from tests.conftest import OPENAI_KEY


def client(fake) -> openai.OpenAI:
    return openai.OpenAI(base_url=fake.url + "/v1", api_key=OPENAI_KEY, max_retries=0)


def test_completion_parses_with_usage(fake):
    r = client(fake).chat.completions.create(model="gpt-5.4-mini", messages=[{"role": "user", "content": "hi there"}])
    assert r.choices[0].message.content == "echo: hi there"
    assert r.choices[0].finish_reason == "stop"
    assert r.model == "gpt-5.4-mini"
    assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens > 0


def test_stream_with_usage_chunk(fake):
    chunks = list(client(fake).chat.completions.create(
        model="gpt-5.4-mini", messages=[{"role": "user", "content": "stream me"}], stream=True, stream_options={"include_usage": True}))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "echo: stream me"
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens > 0


def test_parallel_tool_calls_round_trip(fake):
    fake.script({"tool_calls": [{"name": "get_weather", "arguments": {"city": "Paris"}}, {"name": "get_time", "arguments": {"tz": "CET"}}]})
    r = client(fake).chat.completions.create(model="gpt-5.4", messages=[{"role": "user", "content": "weather and time?"}],
                                             tools=[{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}])
    calls = r.choices[0].message.tool_calls
    assert [c.function.name for c in calls] == ["get_weather", "get_time"]
    assert json.loads(calls[0].function.arguments) == {"city": "Paris"}
    assert r.choices[0].finish_reason == "tool_calls"


def test_streamed_tool_call_arguments_reassemble(fake):
    fake.script({"tool_calls": [{"name": "lookup", "arguments": {"q": "triage routing"}}]})
    stream = client(fake).chat.completions.create(model="gpt-5.4", messages=[{"role": "user", "content": "x"}], stream=True)
    args = "".join(tc.function.arguments or "" for c in stream for tc in (c.choices[0].delta.tool_calls or []))
    assert json.loads(args) == {"q": "triage routing"}


def test_errors_raise_the_sdks_exceptions(fake):
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=fake.url + "/v1", api_key="wrong", max_retries=0).chat.completions.create(
            model="gpt-5.4", messages=[{"role": "user", "content": "x"}])
    fake.script({"status": 429, "message": "slow down", "error_type": "rate_limit_error", "headers": {"retry-after": "2"}})
    with pytest.raises(openai.RateLimitError) as e:
        client(fake).chat.completions.create(model="gpt-5.4", messages=[{"role": "user", "content": "x"}])
    assert e.value.response.headers["retry-after"] == "2"
    with pytest.raises(openai.BadRequestError):
        client(fake).chat.completions.create(model="gpt-5.4", messages=[])


def test_models_list(fake):
    ids = [m.id for m in client(fake).models.list()]
    assert "gpt-5.4" in ids
