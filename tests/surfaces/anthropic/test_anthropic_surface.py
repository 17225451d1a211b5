"""The Anthropic surface's pure translators: request in, response and SSE out, errors, counts."""

from __future__ import annotations

import json

import anthropic
from anthropic.lib.streaming._messages import accumulate_event

from triage.surfaces.anthropic import AnthropicStreamWriter, to_anthropic_response, to_internal_request
from triage.surfaces.anthropic.count_tokens import estimate_input_tokens
from triage.surfaces.anthropic.errors import error_dict


def test_request_to_internal():
    body = {"model": "auto", "max_tokens": 100, "system": [{"type": "text", "text": "S", "cache_control": {"type": "ephemeral"}}],
            "messages": [{"role": "user", "content": "q"},
                         {"role": "assistant", "content": [{"type": "thinking", "thinking": "t", "signature": "sig"}, {"type": "text", "text": "a"},
                                                           {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {"x": 1}}]},
                         {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "boom", "is_error": True},
                                                      {"type": "image", "source": {"type": "url", "url": "https://x.test/i.png"}}]}],
            "stop_sequences": ["Z"], "top_k": 5, "tool_choice": {"type": "any", "disable_parallel_tool_use": True},
            "tools": [{"name": "f", "input_schema": {"type": "object"}}], "thinking": {"type": "enabled", "budget_tokens": 3000},
            "metadata": {"user_id": "u"}}
    out = to_internal_request(body)
    m = out["messages"]
    assert m[0] == {"role": "system", "content": [{"type": "text", "text": "S", "cache_control": {"type": "ephemeral"}}]}
    assert m[2]["thinking_blocks"] == [{"type": "thinking", "thinking": "t", "signature": "sig"}]
    assert m[2]["tool_calls"][0]["id"] == "toolu_1" and json.loads(m[2]["tool_calls"][0]["function"]["arguments"]) == {"x": 1}
    assert m[3] == {"role": "tool", "tool_call_id": "toolu_1", "content": "boom", "is_error": True}
    assert m[4]["content"] == [{"type": "image_url", "image_url": {"url": "https://x.test/i.png"}}]
    assert out["tool_choice"] == "required" and out["parallel_tool_calls"] is False and out["stop"] == ["Z"]
    assert out["reasoning_effort"] == "medium" and out["user"] == "u"
    assert out["provider_specific_fields"]["anthropic"] == {"top_k": 5, "thinking": body["thinking"], "metadata": {"user_id": "u"}}


def test_response_to_anthropic():
    resp = {"id": "chatcmpl-9x", "choices": [{"finish_reason": "tool_calls", "message": {"role": "assistant", "content": "hi", "reasoning_content": "r",
            "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{\"a\": 2}"}}]}}],
            "usage": {"prompt_tokens": 20, "completion_tokens": 4, "prompt_tokens_details": {"cached_tokens": 5, "cache_write_tokens": 3}}}
    out = to_anthropic_response(resp, "gpt-x")
    parsed = anthropic.types.Message.model_validate(out)  # the SDK's own model accepts it
    assert parsed.id.startswith("msg_") and parsed.stop_reason == "tool_use"
    assert [b.type for b in parsed.content] == ["thinking", "text", "tool_use"] and parsed.content[2].input == {"a": 2}
    assert out["usage"] == {"input_tokens": 12, "cache_creation_input_tokens": 3, "cache_read_input_tokens": 5, "output_tokens": 4}


def parse(sse: bytes) -> list[dict]:
    events = []
    for block in sse.decode().split("\n\n"):
        if block:
            name, data = block.split("\n", 1)
            payload = json.loads(data[len("data: "):])
            assert name == "event: " + payload["type"]
            events.append(payload)
    return events


def chunk(delta, finish=None):
    return {"id": "c1", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def test_stream_writer_event_sequence_accumulates_in_the_sdk():
    w = AnthropicStreamWriter("m")
    out = b"".join(w.feed(c) for c in [
        chunk({"role": "assistant", "content": ""}), chunk({"reasoning_content": "th"}),
        chunk({"thinking_blocks": [{"type": "thinking", "thinking": "th", "signature": "SIG"}]}),
        chunk({"content": "Hel"}), chunk({"content": "lo"}),
        chunk({"tool_calls": [{"index": 0, "id": "call_a", "type": "function", "function": {"name": "f", "arguments": ""}}]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": "{\"x\":"}}]}), chunk({"tool_calls": [{"index": 0, "function": {"arguments": "1}"}}]}),
        chunk({"tool_calls": [{"index": 1, "id": "call_b", "type": "function", "function": {"name": "g", "arguments": "{}"}}]}),
        chunk({}, "tool_calls"), {"id": "c1", "choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 3}}])
    events = parse(out + w.finish())
    assert [e["type"] for e in events] == ["message_start", "ping", "content_block_start", "content_block_delta", "content_block_delta",
                                           "content_block_stop", "content_block_start", "content_block_delta", "content_block_delta",
                                           "content_block_stop", "content_block_start", "content_block_delta", "content_block_delta",
                                           "content_block_stop", "content_block_start", "content_block_delta", "content_block_stop",
                                           "message_delta", "message_stop"]
    snap, bufs = None, {}
    for e in events:
        if e["type"] != "ping":
            snap = accumulate_event(event=e, current_snapshot=snap, json_bufs=bufs)  # type: ignore[arg-type]
    assert snap.content[0].signature == "SIG" and snap.content[1].text == "Hello"
    assert (snap.content[2].id, snap.content[2].input, snap.content[3].name) == ("call_a", {"x": 1}, "g")
    assert snap.stop_reason == "tool_use" and (snap.usage.input_tokens, snap.usage.output_tokens) == (9, 3)


def test_errors_and_count_tokens():
    assert error_dict(529, "busy") == {"type": "error", "error": {"type": "overloaded_error", "message": "busy"}}
    assert error_dict(429, "x")["error"]["type"] == "rate_limit_error" and error_dict(418, "x")["error"]["type"] == "invalid_request_error"
    small = estimate_input_tokens({"messages": [{"role": "user", "content": "hello"}]})
    big = estimate_input_tokens({"system": "s" * 400, "messages": [{"role": "user", "content": [
        {"type": "text", "text": "hello"}, {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "A"}}]}]})
    assert 1 <= small < 10 and big >= small + 100 + 1600


def test_stop_sequences_must_be_a_list_of_strings():
    import pytest

    from triage.server.errors import GatewayError
    from triage.surfaces.anthropic.handler import check_messages_body

    base = {"model": "auto", "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]}
    check_messages_body({**base, "stop_sequences": ["END"]})
    for bad in ("END", [5], {"a": 1}):
        with pytest.raises(GatewayError) as e:
            check_messages_body({**base, "stop_sequences": bad})
        assert e.value.status == 400 and e.value.param == "stop_sequences"
