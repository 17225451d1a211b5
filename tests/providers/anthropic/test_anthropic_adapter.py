"""The Anthropic adapter: request shaping, response and stream parsing, error classes, and
requests it builds accepted by the strict fake Anthropic server."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from tests.fakes.launch import FakeServer
from triage.providers.anthropic import ADAPTER
from triage.providers.anthropic.request import build_body, default_max_tokens
from triage.providers.base import ErrorClass, ProviderConfig

CALL = lambda i, city: {"id": i, "type": "function", "function": {"name": "get_weather", "arguments": json.dumps({"city": city})}}  # noqa: E731


def test_system_developer_hoisted_and_shapes_normalised():
    body = {"messages": [
        {"role": "system", "content": "A"}, {"role": "user", "content": "q1"}, {"role": "developer", "content": "B"},
        {"role": "user", "content": "q2"}, {"role": "assistant", "content": ""},
        {"role": "assistant", "content": None, "tool_calls": [CALL("call.1", "Paris"), CALL("call_2", "Rome")]},
        {"role": "tool", "tool_call_id": "call.1", "content": "sunny"},
        {"role": "user", "content": "and?"}, {"role": "tool", "tool_call_id": "nope", "content": "stray"}]}
    out = build_body(body, "claude-sonnet-4-6", stream=False)
    assert out["system"] == [{"type": "text", "text": "A"}, {"type": "text", "text": "B"}]
    assert [m["role"] for m in out["messages"]] == ["user", "assistant", "user"]
    assert out["messages"][0]["content"] == [{"type": "text", "text": "q1"}, {"type": "text", "text": "q2"}]
    assert [b["id"] for b in out["messages"][1]["content"]] == ["call_1", "call_2"]  # made to fit ^[a-zA-Z0-9_-]+$
    results = out["messages"][2]["content"]
    assert results[0] == {"type": "tool_result", "tool_use_id": "call_1", "content": "sunny"}
    assert results[1]["tool_use_id"] == "call_2" and results[1]["is_error"] is True  # unanswered call closed explicitly
    assert results[2:] == [{"type": "text", "text": "and?"}, {"type": "text", "text": "[tool result nope]: stray"}]
    assert out["max_tokens"] == default_max_tokens("claude-sonnet-4-6")


@pytest.mark.parametrize("model, expected", [
    ("claude-3-5-haiku-20241022", {"temperature": 1.0, "top_p": 0.9}),
    ("claude-sonnet-4-6", {"temperature": 1.0}),
    ("claude-opus-4-7", {}),
])
def test_sampling_adapted_per_model(model, expected):
    out = build_body({"messages": [{"role": "user", "content": "x"}], "temperature": 1.7, "top_p": 0.9}, model, stream=False)
    assert {k: out[k] for k in ("temperature", "top_p", "top_k") if k in out} == expected


def test_tools_choice_images_cache_and_thinking_blocks():
    body = {"messages": [
        {"role": "user", "content": [{"type": "text", "text": "see", "cache_control": {"type": "ephemeral"}},
                                     {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
                                     {"type": "image_url", "image_url": {"url": "https://x.test/a.jpg"}}]},
        {"role": "assistant", "content": "ok", "thinking_blocks": [
            {"type": "thinking", "thinking": "t", "signature": "sig"}, {"type": "thinking", "thinking": "unsigned", "signature": ""},
            {"type": "redacted_thinking", "data": "opaque"}]},
        {"role": "user", "content": "go"}],
        "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {}}}, "cache_control": {"type": "ephemeral"}}],
        "tool_choice": "required", "parallel_tool_calls": False, "stop": ["END", " "], "max_tokens": 5}
    out = build_body(body, "claude-haiku-4-5", stream=True)
    user = out["messages"][0]["content"]
    assert user[0]["cache_control"] == {"type": "ephemeral"}
    assert user[1]["source"] == {"type": "base64", "media_type": "image/png", "data": "AAAA"}
    assert user[2]["source"] == {"type": "url", "url": "https://x.test/a.jpg"}
    assert out["messages"][1]["content"] == [{"type": "thinking", "thinking": "t", "signature": "sig"},
                                             {"type": "redacted_thinking", "data": "opaque"}, {"type": "text", "text": "ok"}]
    assert out["tool_choice"] == {"type": "any", "disable_parallel_tool_use": True}
    assert out["tools"][0]["cache_control"] == {"type": "ephemeral"}
    assert out["stop_sequences"] == ["END"] and out["stream"] is True and out["max_tokens"] == 5


def test_response_usage_and_stop_reasons():
    msg = {"id": "msg_1", "model": "claude-x", "stop_reason": "tool_use", "content": [
        {"type": "thinking", "thinking": "hm", "signature": "s"}, {"type": "text", "text": "a"},
        {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {"k": 1}}],
        "usage": {"input_tokens": 5, "cache_read_input_tokens": 100, "cache_creation_input_tokens": 20, "output_tokens": 7}}
    out, usage = ADAPTER.chat_response(json.dumps(msg).encode(), "claude-x")
    m = out["choices"][0]["message"]
    assert out["choices"][0]["finish_reason"] == "tool_calls" and m["content"] == "a"
    assert m["tool_calls"][0]["id"] == "toolu_1" and json.loads(m["tool_calls"][0]["function"]["arguments"]) == {"k": 1}
    assert m["thinking_blocks"] == [{"type": "thinking", "thinking": "hm", "signature": "s"}] and m["reasoning_content"] == "hm"
    assert (usage.input_tokens, usage.cached_input_tokens, usage.cache_write_tokens, usage.output_tokens) == (125, 100, 20, 7)
    for reason, expected in [("end_turn", "stop"), ("max_tokens", "length"), ("stop_sequence", "stop"), ("refusal", "content_filter")]:
        assert ADAPTER.chat_response(json.dumps({**msg, "stop_reason": reason}).encode(), "m")[0]["choices"][0]["finish_reason"] == expected


def sse(events):
    return b"".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in events)


STREAM = [
    {"type": "message_start", "message": {"id": "msg_s", "model": "claude-x", "usage": {"input_tokens": 3, "cache_read_input_tokens": 2, "output_tokens": 1}}},
    {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}, {"type": "ping"},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "héllo"}},
    {"type": "content_block_stop", "index": 0},
    {"type": "content_block_start", "index": 1, "content_block": {"type": "tool_use", "id": "toolu_a", "name": "f", "input": {}}},
    {"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": "{\"a\":"}},
    {"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": " 1}"}},
    {"type": "content_block_stop", "index": 1},
    {"type": "content_block_start", "index": 2, "content_block": {"type": "tool_use", "id": "toolu_b", "name": "g", "input": {}}},
    {"type": "content_block_delta", "index": 2, "delta": {"type": "input_json_delta", "partial_json": "{}"}},
    {"type": "content_block_stop", "index": 2},
    {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 9}},
    {"type": "message_stop"}]


def test_stream_same_chunks_whatever_the_byte_boundaries():
    data = sse(STREAM)
    whole = ADAPTER.stream_translator("m")
    ref = whole.feed(data) + whole.finish()
    split = ADAPTER.stream_translator("m")
    got = [c for i in range(len(data)) for c in split.feed(data[i : i + 1])] + split.finish()
    assert got == ref
    calls = [tc for c in ref if c["choices"] for tc in c["choices"][0]["delta"].get("tool_calls", [])]
    assert [(c["index"], c.get("id")) for c in calls if "id" in c] == [(0, "toolu_a"), (1, "toolu_b")]
    assert "".join(c["function"]["arguments"] for c in calls if c["index"] == 0) == '{"a": 1}'
    assert ref[-2]["choices"][0]["finish_reason"] == "tool_calls"
    assert ref[-1]["usage"]["prompt_tokens"] == 5 and ref[-1]["usage"]["completion_tokens"] == 9
    assert (split.usage.input_tokens, split.usage.cached_input_tokens, split.usage.output_tokens) == (5, 2, 9)


def test_stream_error_event_and_truncation():
    t = ADAPTER.stream_translator("m")
    with pytest.raises(Exception) as e:
        t.feed(sse(STREAM[:2] + [{"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}]))
    assert e.value.error_class is ErrorClass.OVERLOADED and e.value.retryable
    t = ADAPTER.stream_translator("m")
    t.feed(sse(STREAM[:4]))
    with pytest.raises(Exception, match="ended before message_stop"):
        t.finish()


@pytest.mark.parametrize("status, headers, etype, message, cls, out_status", [
    (429, {"retry-after": "7"}, "rate_limit_error", "slow", ErrorClass.RATE_LIMITED, 429),
    (529, {}, "overloaded_error", "Overloaded", ErrorClass.OVERLOADED, 503),
    (401, {}, "authentication_error", "invalid x-api-key", ErrorClass.AUTH, 401),
    (400, {}, "invalid_request_error", "max_tokens: Field required", ErrorClass.BAD_REQUEST, 400),
    (400, {}, "invalid_request_error", "prompt is too long: 210000 tokens > 200000 maximum", ErrorClass.CONTEXT_LENGTH, 400),
    (500, {}, "api_error", "boom", ErrorClass.SERVER, 500),
])
def test_error_classes(status, headers, etype, message, cls, out_status):
    e = ADAPTER.classify_error(status, headers, json.dumps({"type": "error", "error": {"type": etype, "message": message}}).encode(), "anthropic")
    assert (e.error_class, e.status, e.message, e.code) == (cls, out_status, message, etype)
    assert e.retry_after == (7.0 if headers else None)


def test_built_requests_are_accepted_by_the_strict_fake():
    with FakeServer("anthropic_server.py", key="k") as fake:
        provider = ProviderConfig("anthropic", "anthropic", fake.url, api_key="k")
        body = {"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "q"}, {"role": "user", "content": "q2"},
                             {"role": "assistant", "content": None, "tool_calls": [CALL("c1", "Paris"), CALL("c2", "Rome")]},
                             {"role": "tool", "tool_call_id": "c1", "content": "sunny"}, {"role": "user", "content": "next"}],
                "temperature": 0.3, "top_p": 0.5, "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]}
        for model in ("claude-sonnet-4-6", "claude-opus-4-7", "claude-3-5-haiku-20241022"):
            req = ADAPTER.chat_request(provider, body, model, stream=False, api_key=None)
            assert req.headers["x-api-key"] == "k" and req.headers["anthropic-version"] == "2023-06-01"
            try:
                with urllib.request.urlopen(urllib.request.Request(req.url, data=req.body, headers=req.headers)) as r:
                    assert r.status == 200
            except urllib.error.HTTPError as e:  # pragma: no cover - shows the fake's reason
                pytest.fail(e.read().decode())
