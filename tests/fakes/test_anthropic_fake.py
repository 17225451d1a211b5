"""The fake Anthropic server, checked with the official ``anthropic`` SDK pointed straight at it.

If the SDK can parse everything the fake sends (messages, streams, tool calls, errors) and the
fake refuses what the real API refuses, adapter tests against the fake mean something.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import anthropic
import pytest

from tests.fakes.launch import FakeServer

MODEL = "claude-sonnet-4-6"
KEY = "sk-ant-fake-key"


@pytest.fixture(scope="module")
def fake():
    with FakeServer("anthropic_server.py", key=KEY) as server:
        yield server


@pytest.fixture()
def client(fake):
    fake.reset()
    return anthropic.Anthropic(api_key=KEY, base_url=fake.url, max_retries=0)


def post_raw(fake, body, headers=None):
    hdrs = {"x-api-key": KEY, "anthropic-version": "2023-06-01", "content-type": "application/json"}
    hdrs.update(headers or {})
    req = urllib.request.Request(fake.url + "/v1/messages", data=json.dumps(body).encode(), headers=hdrs)
    try:
        with urllib.request.urlopen(req) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_create_echoes_and_records(client, fake):
    msg = client.messages.create(model=MODEL, max_tokens=64, system="Be terse.", messages=[{"role": "user", "content": "ping pong"}])
    assert msg.content[0].text == "echo: ping pong"
    assert msg.stop_reason == "end_turn" and msg.model == MODEL
    assert msg.usage.input_tokens > 0 and msg.usage.output_tokens == 3
    (req,) = fake.requests()
    assert req["path"] == "/v1/messages"
    # This SDK generation sends the key as a bearer token and its own dated API version.
    assert req["headers"]["authorization"] == f"Bearer {KEY}" and req["headers"]["anthropic-version"]
    assert req["body"]["system"] == "Be terse." and req["body"]["max_tokens"] == 64


def test_stream_text_in_n_chunks_with_usage(client, fake):
    fake.script({"text": "one two three four", "chunks": 4, "usage": {"cache_read_input_tokens": 7}})
    with client.messages.stream(model=MODEL, max_tokens=64, messages=[{"role": "user", "content": "count"}]) as stream:
        deltas = list(stream.text_stream)
        final = stream.get_final_message()
    assert len(deltas) == 4 and "".join(deltas) == "one two three four"
    assert final.stop_reason == "end_turn" and final.usage.cache_read_input_tokens == 7


def test_raw_stream_event_sequence(client, fake):
    fake.script({"content": [{"type": "thinking", "thinking": "hmm", "signature": "sig1"}, {"type": "text", "text": "ok"}], "chunks": 1})
    with client.messages.with_streaming_response.create(model=MODEL, max_tokens=64, stream=True, messages=[{"role": "user", "content": "x"}]) as resp:
        lines = list(resp.iter_lines())
    events = [line[len("event: "):] for line in lines if line.startswith("event: ")]
    datas = [json.loads(line[len("data: "):]) for line in lines if line.startswith("data: ")]
    assert [d["type"] for d in datas] == events  # every event's name matches its data's type
    assert datas[-2]["delta"]["stop_reason"] == "end_turn" and datas[3]["delta"] == {"type": "thinking_delta", "thinking": "hmm"}
    assert events == ["message_start", "content_block_start", "ping", "content_block_delta", "content_block_delta",
                      "content_block_stop", "content_block_start", "content_block_delta", "content_block_stop",
                      "message_delta", "message_stop"]
    with client.messages.stream(model=MODEL, max_tokens=64, messages=[{"role": "user", "content": "x"}]) as s:
        final = s.get_final_message()
    assert final.content[0].text == "echo: x"


def test_two_parallel_tool_calls_then_results(client, fake):
    tools = [{"name": "get_weather", "description": "w", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}]
    fake.script({"content": [{"type": "tool_use", "name": "get_weather", "input": {"city": "Paris"}},
                             {"type": "tool_use", "name": "get_weather", "input": {"city": "Rome"}}]})
    with client.messages.stream(model=MODEL, max_tokens=64, tools=tools, messages=[{"role": "user", "content": "weather?"}]) as s:
        msg = s.get_final_message()
    assert msg.stop_reason == "tool_use"
    calls = [b for b in msg.content if b.type == "tool_use"]
    assert [c.input for c in calls] == [{"city": "Paris"}, {"city": "Rome"}]
    assert len({c.id for c in calls}) == 2
    history = [{"role": "user", "content": "weather?"}, {"role": "assistant", "content": [c.model_dump(exclude_none=True) for c in calls]},
               {"role": "user", "content": [{"type": "tool_result", "tool_use_id": c.id, "content": "sunny"} for c in calls]}]
    follow = client.messages.create(model=MODEL, max_tokens=64, tools=tools, messages=history)
    assert follow.stop_reason == "end_turn"


def test_scripted_errors_map_to_sdk_exceptions(client, fake):
    fake.script({"status": 429, "message": "slow down", "headers": {"retry-after": "3"}})
    with pytest.raises(anthropic.RateLimitError) as e429:
        client.messages.create(model=MODEL, max_tokens=8, messages=[{"role": "user", "content": "x"}])
    assert e429.value.response.headers["retry-after"] == "3" and e429.value.body["error"]["type"] == "rate_limit_error"
    fake.script({"status": 529, "message": "Overloaded"})
    with pytest.raises(anthropic.OverloadedError):
        client.messages.create(model=MODEL, max_tokens=8, messages=[{"role": "user", "content": "x"}])
    fake.script({"status": 500})
    with pytest.raises(anthropic.InternalServerError):
        client.messages.create(model=MODEL, max_tokens=8, messages=[{"role": "user", "content": "x"}])
    bad = anthropic.Anthropic(api_key="wrong", base_url=fake.url, max_retries=0)
    with pytest.raises(anthropic.AuthenticationError) as e401:
        bad.messages.create(model=MODEL, max_tokens=8, messages=[{"role": "user", "content": "x"}])
    assert e401.value.body["type"] == "error" and e401.value.body["error"]["type"] == "authentication_error"


def test_stream_error_event_raises(client, fake):
    fake.script({"text": "abc", "stream_error": {"after_blocks": 0, "type": "overloaded_error", "message": "Overloaded"}})
    with pytest.raises(anthropic.APIStatusError, match="Overloaded"):
        with client.messages.stream(model=MODEL, max_tokens=8, messages=[{"role": "user", "content": "x"}]) as s:
            s.get_final_message()


@pytest.mark.parametrize(
    "body, needle",
    [
        ({"model": MODEL, "messages": [{"role": "user", "content": "x"}]}, "max_tokens: Field required"),
        ({"model": MODEL, "max_tokens": 5, "messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "x"}]}, 'Unexpected role "system"'),
        ({"model": MODEL, "max_tokens": 5, "messages": [{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "r"}]}]}, "corresponding `tool_use` block"),
        ({"model": MODEL, "max_tokens": 5, "messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}}]}, {"role": "user", "content": "no result"}]}, "without `tool_result`"),
        ({"model": MODEL, "max_tokens": 5, "frequency_penalty": 1, "messages": [{"role": "user", "content": "x"}]}, "frequency_penalty: Extra inputs are not permitted"),
        ({"model": MODEL, "max_tokens": 5, "temperature": 0.5, "top_p": 0.9, "messages": [{"role": "user", "content": "x"}]}, "cannot both be specified"),
        ({"model": MODEL, "max_tokens": 5, "messages": [{"role": "tool", "content": "x"}]}, "Input should be 'user' or 'assistant'"),
        ({"model": MODEL, "max_tokens": 5, "messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": ""}, {"role": "user", "content": "y"}]}, "non-empty content"),
        ({"model": "claude-opus-4-7", "max_tokens": 5, "temperature": 0.5, "messages": [{"role": "user", "content": "x"}]}, "`temperature` is deprecated for this model."),
    ],
)
def test_rejects_what_the_api_rejects(fake, body, needle):
    status, err = post_raw(fake, body)
    assert status == 400 and err["type"] == "error" and err["error"]["type"] == "invalid_request_error"
    assert needle in err["error"]["message"]


def test_legacy_model_accepts_temperature_with_top_p(fake):
    status, _ = post_raw(fake, {"model": "claude-3-5-haiku-20241022", "max_tokens": 5, "temperature": 0.5, "top_p": 0.9, "messages": [{"role": "user", "content": "x"}]})
    assert status == 200


def test_missing_key_and_version(fake):
    status, err = post_raw(fake, {"model": MODEL, "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}, {"x-api-key": ""})
    assert status == 401 and err["error"]["type"] == "authentication_error"


def test_count_tokens(client, fake):
    res = client.messages.count_tokens(model=MODEL, messages=[{"role": "user", "content": "hello world"}])
    assert res.input_tokens > 0
    assert fake.requests()[-1]["path"] == "/v1/messages/count_tokens"
