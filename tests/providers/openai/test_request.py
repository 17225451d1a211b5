"""The OpenAI adapter forwards the client's body intact, minus the gateway's own fields and the
internal format's extensions (which OpenAI-compatible APIs refuse)."""

from __future__ import annotations

import orjson

from triage.providers.base import ProviderConfig
from triage.providers.openai.request import chat_request

P = ProviderConfig(name="openai", kind="openai", base_url="http://up/v1", api_key="sk-up")


def test_body_intact_but_model_and_gateway_fields():
    body = {"model": "auto", "messages": [{"role": "user", "content": "x"}], "future": {"a": 1}, "triage": {"quality": 0.5}, "seed": 3}
    req = chat_request(P, body, "gpt-5.4-mini", stream=False, api_key="sk-up")
    sent = orjson.loads(req.body)
    assert sent == {"model": "gpt-5.4-mini", "messages": [{"role": "user", "content": "x"}], "future": {"a": 1}, "seed": 3}
    assert req.headers["authorization"] == "Bearer sk-up" and req.url == "http://up/v1/chat/completions"
    assert body["model"] == "auto"  # the caller's dict is not mutated


def test_stream_always_asks_for_usage_and_keeps_other_stream_options():
    req = chat_request(P, {"messages": [], "stream_options": {"foo": 1}}, "m", stream=True, api_key=None)
    sent = orjson.loads(req.body)
    assert sent["stream"] is True and sent["stream_options"] == {"foo": 1, "include_usage": True}
    assert "authorization" not in req.headers


def test_internal_extensions_are_stripped():
    body = {
        "provider_specific_fields": {"anthropic": {"top_k": 3}},
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "hi", "cache_control": {"type": "ephemeral"}}]},
            {"role": "assistant", "content": "a", "reasoning_content": "r", "thinking_blocks": [{"type": "thinking"}],
             "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}, "provider_specific_fields": {"x": 1}}]},
            {"role": "tool", "tool_call_id": "c1", "content": "r", "is_error": True},
        ],
        "tools": [{"type": "function", "function": {"name": "f"}, "cache_control": {"type": "ephemeral"}}],
    }  # fmt: skip
    sent = orjson.loads(chat_request(P, body, "m", stream=False, api_key=None).body)
    assert "provider_specific_fields" not in sent
    assert sent["messages"][0]["content"] == [{"type": "text", "text": "hi"}]
    assert sent["messages"][1] == {"role": "assistant", "content": "a", "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}
    assert sent["messages"][2] == {"role": "tool", "tool_call_id": "c1", "content": "r"}
    assert sent["tools"] == [{"type": "function", "function": {"name": "f"}}]
