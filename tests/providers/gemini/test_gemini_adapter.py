"""The Gemini adapter: schema reduction, contents and turn order, thought signatures, response
and stream parsing, error classes, and built requests accepted by the strict fake."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from tests.fakes.launch import FakeServer
from triage.providers.base import ErrorClass, ProviderConfig
from triage.providers.gemini import ADAPTER, model_url
from triage.providers.gemini.request import DUMMY_SIGNATURE, build_body, to_schema

CALL = lambda i, city, sig=None: {"id": i, "type": "function", "function": {"name": "get_weather", "arguments": json.dumps({"city": city})},  # noqa: E731
                                  **({"provider_specific_fields": {"thought_signature": sig}} if sig else {})}


def test_schema_reduced_to_gemini_subset():
    schema = {"$schema": "x", "type": "object", "additionalProperties": False, "$defs": {"P": {"type": "object", "properties": {"n": {"type": "integer", "format": "uint8"}}}},
              "properties": {"p": {"$ref": "#/$defs/P"}, "tag": {"type": ["string", "null"], "format": "email"},
                             "kind": {"anyOf": [{"type": "string", "enum": ["a", "b"]}, {"type": "null"}]},
                             "level": {"type": "integer", "enum": [1, 2]}, "when": {"type": "string", "format": "date-time"}},
              "required": ["p", "ghost"]}
    out = to_schema(schema)
    assert out == {"type": "OBJECT", "required": ["p"], "properties": {
        "p": {"type": "OBJECT", "properties": {"n": {"type": "INTEGER"}}},
        "tag": {"type": "STRING", "nullable": True},
        "kind": {"type": "STRING", "enum": ["a", "b"], "nullable": True},
        "level": {"type": "INTEGER", "description": "Allowed values: [1, 2]"},
        "when": {"type": "STRING", "format": "date-time"}}}


def test_contents_roles_merge_and_function_round_trip():
    body = {"messages": [{"role": "system", "content": "s1"}, {"role": "developer", "content": "s2"},
                         {"role": "user", "content": "a"}, {"role": "user", "content": "b"},
                         {"role": "assistant", "content": "thinking aloud", "tool_calls": [CALL("x1", "Paris", "SIG"), CALL("x2", "Rome")]},
                         {"role": "tool", "tool_call_id": "x2", "content": "rainy"}, {"role": "tool", "tool_call_id": "x1", "content": "sunny", "is_error": True}],
            "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
            "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}],
            "response_format": {"type": "json_object"}, "stop": ["1", "2", "3", "4", "5", "6"], "max_completion_tokens": 9}
    out = build_body(body, "gemini-3-pro-preview")
    assert out["systemInstruction"] == {"parts": [{"text": "s1"}, {"text": "s2"}]}
    assert [c["role"] for c in out["contents"]] == ["user", "model", "user"]
    assert out["contents"][0]["parts"] == [{"text": "a"}, {"text": "b"}]
    model = out["contents"][1]["parts"]
    assert model[1] == {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}, "thoughtSignature": "SIG"}
    assert "thoughtSignature" not in model[2]
    assert out["contents"][2]["parts"] == [{"functionResponse": {"name": "get_weather", "response": {"output": "rainy"}}},
                                           {"functionResponse": {"name": "get_weather", "response": {"error": "sunny"}}}]
    assert out["toolConfig"] == {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}}
    gc = out["generationConfig"]
    assert gc["responseMimeType"] == "application/json" and gc["stopSequences"] == ["1", "2", "3", "4", "5"] and gc["maxOutputTokens"] == 9


def test_gemini3_unsigned_history_gets_documented_placeholder_and_url_images_become_file_data():
    body = {"messages": [{"role": "user", "content": [{"type": "text", "text": "q"}, {"type": "image_url", "image_url": {"url": "https://x.test/cat.png?s=1"}}]},
                         {"role": "assistant", "content": None, "tool_calls": [CALL("c", "Oslo")]}, {"role": "tool", "tool_call_id": "c", "content": "cold"}]}
    out = build_body(body, "gemini-3-flash-preview")
    assert out["contents"][0]["parts"][1] == {"fileData": {"mimeType": "image/png", "fileUri": "https://x.test/cat.png?s=1"}}
    assert out["contents"][1]["parts"][0]["thoughtSignature"] == DUMMY_SIGNATURE
    assert "thoughtSignature" not in build_body(body, "gemini-2.5-flash")["contents"][1]["parts"][0]


def test_response_finish_usage_and_stable_ids():
    data = {"responseId": "r1", "modelVersion": "gemini-x", "candidates": [{"finishReason": "STOP", "content": {"role": "model", "parts": [
        {"text": "why", "thought": True}, {"text": "ans"}, {"functionCall": {"name": "f", "args": {"a": 1}}, "thoughtSignature": "S"},
        {"functionCall": {"name": "f", "args": {"a": 2}}}]}}],
        "usageMetadata": {"promptTokenCount": 50, "cachedContentTokenCount": 30, "candidatesTokenCount": 10, "thoughtsTokenCount": 4}}
    out, usage = ADAPTER.chat_response(json.dumps(data).encode(), "g")
    again, _ = ADAPTER.chat_response(json.dumps(data).encode(), "g")
    msg = out["choices"][0]["message"]
    assert out["choices"][0]["finish_reason"] == "tool_calls" and msg["content"] == "ans" and msg["reasoning_content"] == "why"
    ids = [c["id"] for c in msg["tool_calls"]]
    assert len(set(ids)) == 2 and ids == [c["id"] for c in again["choices"][0]["message"]["tool_calls"]]
    assert msg["tool_calls"][0]["provider_specific_fields"] == {"thought_signature": "S"}
    assert (usage.input_tokens, usage.cached_input_tokens, usage.output_tokens, usage.reasoning_tokens) == (50, 30, 14, 4)
    blocked = {"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {"promptTokenCount": 3}}
    assert ADAPTER.chat_response(json.dumps(blocked).encode(), "g")[0]["choices"][0]["finish_reason"] == "content_filter"
    unsafe = {"candidates": [{"finishReason": "SAFETY"}]}
    assert ADAPTER.chat_response(json.dumps(unsafe).encode(), "g")[0]["choices"][0]["finish_reason"] == "content_filter"


def test_stream_crlf_any_boundaries():
    events = [{"responseId": "r", "candidates": [{"content": {"role": "model", "parts": [{"text": "he"}]}}]},
              {"responseId": "r", "candidates": [{"content": {"role": "model", "parts": [{"text": "llo"}, {"functionCall": {"name": "f", "args": {}}}]},
                                                  "finishReason": "STOP"}], "usageMetadata": {"promptTokenCount": 4, "candidatesTokenCount": 2}}]
    data = b"".join(b"data: " + json.dumps(e).encode() + b"\r\n\r\n" for e in events)
    ref_t = ADAPTER.stream_translator("g")
    ref = ref_t.feed(data) + ref_t.finish()
    t = ADAPTER.stream_translator("g")
    got = [c for i in range(0, len(data), 3) for c in t.feed(data[i : i + 3])] + t.finish()
    assert got == ref
    deltas = [c["choices"][0] for c in ref if c["choices"]]
    assert "".join(d["delta"].get("content", "") for d in deltas) == "hello"
    assert deltas[-1]["finish_reason"] == "tool_calls" and ref[-1]["usage"]["prompt_tokens"] == 4


@pytest.mark.parametrize("status, err, cls, out_status, retry", [
    (429, {"code": 429, "status": "RESOURCE_EXHAUSTED", "message": "quota", "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "17s"}]}, ErrorClass.RATE_LIMITED, 429, 17.0),
    (503, {"code": 503, "status": "UNAVAILABLE", "message": "The model is overloaded."}, ErrorClass.OVERLOADED, 503, None),
    (400, {"code": 400, "status": "INVALID_ARGUMENT", "message": "API key not valid.", "details": [{"reason": "API_KEY_INVALID"}]}, ErrorClass.AUTH, 401, None),
    (400, {"code": 400, "status": "INVALID_ARGUMENT", "message": "Unknown name \"x\""}, ErrorClass.BAD_REQUEST, 400, None),
])
def test_error_classes(status, err, cls, out_status, retry):
    e = ADAPTER.classify_error(status, {}, json.dumps({"error": err}).encode(), "gemini")
    assert (e.error_class, e.status, e.message, e.retry_after) == (cls, out_status, err["message"], retry)


def test_urls_and_fake_accepts_built_requests():
    assert model_url("https://g.test", "gemini-2.5-flash", stream=True) == "https://g.test/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
    assert model_url("https://g.test/v1", "m", stream=False) == "https://g.test/v1/models/m:generateContent"
    with FakeServer("gemini_server.py", key="k") as fake:
        provider = ProviderConfig("gemini", "gemini", fake.url, api_key="k")
        body = {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": None, "tool_calls": [CALL("a", "X"), CALL("b", "Y")]},
                             {"role": "tool", "tool_call_id": "a", "content": "1"}, {"role": "user", "content": "next"}],
                "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {
                    "type": "object", "additionalProperties": False, "properties": {"city": {"type": ["string", "null"], "minLength": 1}}}}},
                          {"type": "function", "function": {"name": "noargs", "parameters": {"type": "object", "properties": {}}}}],
                "response_format": {"type": "json_schema", "json_schema": {"name": "o", "schema": {"type": "object", "properties": {"a": {"const": "x"}}}}}}
        for model in ("gemini-2.5-flash", "gemini-3-pro-preview"):
            req = ADAPTER.chat_request(provider, body, model, stream=False, api_key=None)
            assert req.headers["x-goog-api-key"] == "k" and "key=" not in req.url
            try:
                with urllib.request.urlopen(urllib.request.Request(req.url, data=req.body, headers=req.headers)) as r:
                    assert r.status == 200
            except urllib.error.HTTPError as e:  # pragma: no cover - shows the fake's reason
                pytest.fail(e.read().decode())
