"""A fake OpenAI Chat Completions API: a real HTTP server on 127.0.0.1, in its own process.

Owns OpenAI's wire format as the real API speaks it: ``POST /v1/chat/completions`` (JSON,
and SSE ``data: {chunk}`` events ending in ``data: [DONE]``, with a final usage chunk when
``stream_options.include_usage`` is set), ``GET /v1/models``, errors as
``{"error": {"message", "type", "param", "code"}}``. Bearer key checked (401 otherwise).
It must not import anything from ``triage``: it is the spec the gateway is checked against.

Reply script (JSON posted to ``/_script``; every key optional)::

    {"text": "...", "tool_calls": [{"name", "arguments"(str|obj)[, "id"]}], "finish_reason": "...",
     "usage": {"prompt_tokens", "completion_tokens", "cached_tokens", "reasoning_tokens"},
     "status": 429, "message": "...", "error_type": "...", "code": "...", "headers": {...},
     "chunks": 3, "cut_after_chunks": 2, "delay": 0.0, "model": "served-name"}

Without a script it answers ``"echo: <last user text>"``; with ``response_format`` json it
answers a JSON object. Run: ``python openai_server.py [--port 0] [--key KEY]``.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
import uuid
from typing import Any

from aiohttp import web

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scripted import Recorder, apply_stop, serve, split_text  # noqa: E402

DEFAULT_KEY = "test-openai-key"
ROLES = {"system", "developer", "user", "assistant", "tool", "function"}


def error(status: int, message: str, etype: str = "invalid_request_error", code: str | None = None,
          param: str | None = None, headers: dict[str, str] | None = None) -> web.Response:  # fmt: skip
    body = {"error": {"message": message, "type": etype, "param": param, "code": code}}
    return web.json_response(body, status=status, headers=headers)


def last_user_text(messages: list[dict[str, Any]]) -> str:
    for m in reversed(messages):
        if m.get("role") == "user":
            c = m.get("content")
            if isinstance(c, str):
                return c
            if isinstance(c, list):
                return " ".join(p.get("text", "") for p in c if isinstance(p, dict) and p.get("type") == "text")
    return ""


def validate(body: Any) -> web.Response | None:
    if not isinstance(body, dict):
        return error(400, "We could not parse the JSON body of your request.")
    if not isinstance(body.get("model"), str):
        return error(400, "you must provide a model parameter", param="model", code="missing_required_parameter")
    msgs = body.get("messages")
    if not isinstance(msgs, list) or not msgs:
        return error(400, "'messages' must contain at least one message", param="messages", code="empty_array")
    for i, m in enumerate(msgs):
        if not isinstance(m, dict) or m.get("role") not in ROLES:
            return error(400, f"Invalid value for 'messages[{i}].role'", param=f"messages[{i}].role", code="invalid_value")
        if m.get("role") == "tool" and not m.get("tool_call_id"):
            return error(400, f"Missing parameter 'tool_call_id' in messages[{i}]", param=f"messages[{i}].tool_call_id")
    if body.get("stream_options") is not None and not body.get("stream"):
        return error(400, "The 'stream_options' parameter is only allowed when 'stream' is enabled.", param="stream_options")
    return None


def build_reply(body: dict[str, Any], script: dict[str, Any]) -> dict[str, Any]:
    """The message, finish reason and usage this call answers with."""
    rf = body.get("response_format") or {}
    if "text" in script:
        text = script["text"]
    elif rf.get("type") in ("json_object", "json_schema"):
        text = json.dumps({"answer": last_user_text(body["messages"])[:40]})
    else:
        text = "echo: " + last_user_text(body["messages"])
    stops = body.get("stop")
    stops = [stops] if isinstance(stops, str) else (stops or [])
    text, hit = apply_stop(text, stops)
    calls = []
    for i, c in enumerate(script.get("tool_calls") or []):
        args = c.get("arguments", {})
        calls.append({"id": c.get("id") or f"call_{uuid.uuid4().hex[:24]}", "type": "function",
                      "function": {"name": c["name"], "arguments": args if isinstance(args, str) else json.dumps(args)}})  # fmt: skip
    finish = script.get("finish_reason") or ("tool_calls" if calls else "stop")
    prompt_chars = sum(len(json.dumps(m.get("content"))) for m in body["messages"])
    u = script.get("usage") or {}
    usage = {
        "prompt_tokens": u.get("prompt_tokens", prompt_chars // 4 + 1),
        "completion_tokens": u.get("completion_tokens", len(text) // 4 + 1),
        "prompt_tokens_details": {"cached_tokens": u.get("cached_tokens", 0), "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": u.get("reasoning_tokens", 0), "audio_tokens": 0,
                                      "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0},  # fmt: skip
    }
    usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
    return {"text": None if (calls and not text) else text, "calls": calls, "finish": finish, "usage": usage}


def build(recorder: Recorder) -> web.Application:
    app = web.Application(client_max_size=64 * 1024 * 1024)

    def authorized(request: web.Request) -> bool:
        return request.headers.get("Authorization", "") == f"Bearer {recorder.api_key}"

    async def models(request: web.Request) -> web.Response:
        recorder.record(request, b"")
        if not authorized(request):
            return error(401, "Incorrect API key provided.", code="invalid_api_key")
        names = ["gpt-5.4", "gpt-5.4-mini", "gpt-5.4-nano", "o3", "o4-mini"]
        return web.json_response({"object": "list", "data": [{"id": n, "object": "model", "created": 0, "owned_by": "openai"} for n in names]})

    async def chat(request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        entry = recorder.record(request, raw)
        if not authorized(request):
            return error(401, "Incorrect API key provided.", code="invalid_api_key")
        body = entry["body"]
        if (bad := validate(body)) is not None:
            return bad
        script = recorder.next_script() or {}
        if script.get("delay"):
            await asyncio.sleep(script["delay"])
        if "status" in script:
            return error(script["status"], script.get("message", "scripted error"), script.get("error_type", "server_error"),
                         script.get("code"), headers=script.get("headers"))  # fmt: skip
        reply = build_reply(body, script)
        rid = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        created = int(time.time())
        model = script.get("model") or body["model"]
        if not body.get("stream"):
            msg: dict[str, Any] = {"role": "assistant", "content": reply["text"], "refusal": None}
            if reply["calls"]:
                msg["tool_calls"] = reply["calls"]
            n = body.get("n") or 1
            choices = [{"index": i, "message": msg, "logprobs": None, "finish_reason": reply["finish"]} for i in range(n)]
            return web.json_response({"id": rid, "object": "chat.completion", "created": created, "model": model,
                                      "choices": choices, "usage": reply["usage"], "system_fingerprint": "fp_fake"})  # fmt: skip
        return await stream(request, body, script, reply, rid, created, model)

    async def stream(request: web.Request, body: dict[str, Any], script: dict[str, Any], reply: dict[str, Any],
                     rid: str, created: int, model: str) -> web.StreamResponse:  # fmt: skip
        resp = web.StreamResponse(headers={"content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache"})
        await resp.prepare(request)
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))

        def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
            c = {"id": rid, "object": "chat.completion.chunk", "created": created, "model": model, "system_fingerprint": "fp_fake",
                 "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}  # fmt: skip
            if include_usage:
                c["usage"] = None
            return b"data: " + json.dumps(c).encode() + b"\n\n"

        events = [chunk({"role": "assistant", "content": "", "refusal": None})]
        for piece in split_text(reply["text"] or "", script.get("chunks", 3)) if reply["text"] else []:
            events.append(chunk({"content": piece}))
        for i, call in enumerate(reply["calls"]):
            events.append(chunk({"tool_calls": [{"index": i, "id": call["id"], "type": "function", "function": {"name": call["function"]["name"], "arguments": ""}}]}))
            for piece in split_text(call["function"]["arguments"], 2):
                events.append(chunk({"tool_calls": [{"index": i, "function": {"arguments": piece}}]}))
        events.append(chunk({}, reply["finish"]))
        cut = script.get("cut_after_chunks")
        interval = script.get("interval", 0)
        for i, ev in enumerate(events):
            if cut is not None and i >= cut:
                # Drop the connection mid-stream, as a failing upstream does.
                assert request.transport is not None
                request.transport.close()
                return resp
            await resp.write(ev)
            if interval:
                await asyncio.sleep(interval)
        if include_usage:
            u = {"id": rid, "object": "chat.completion.chunk", "created": created, "model": model, "choices": [], "usage": reply["usage"]}
            await resp.write(b"data: " + json.dumps(u).encode() + b"\n\n")
        await resp.write(b"data: [DONE]\n\n")
        await resp.write_eof()
        return resp

    app.router.add_post("/v1/chat/completions", chat)
    app.router.add_get("/v1/models", models)
    return app


if __name__ == "__main__":
    serve(build, DEFAULT_KEY)
