"""A fake Anthropic Messages API: a real HTTP server on 127.0.0.1, run in its own process.

Owns the Anthropic wire format as the real API speaks it (``POST /v1/messages``, stream and
not, ``POST /v1/messages/count_tokens``), validation that refuses what the real API refuses,
and scripted replies (see ``scripted.py`` for ``/_script``, ``/_requests``, ``/_reset``).
It must not import anything from ``triage``: it is the spec the adapters are checked against.

Reply script (JSON posted to ``/_script``; every key optional)::

    {"text": "...", "content": [blocks], "stop_reason": "...", "chunks": 3,
     "usage": {"input_tokens": 9, "cache_read_input_tokens": 4, ...},
     "status": 429, "error_type": "rate_limit_error", "message": "...", "headers": {...},
     "stream_error": {"after_blocks": 1, "type": "overloaded_error", "message": "..."},
     "delay": 0.0}

``content`` blocks: ``{"type":"text","text"}``, ``{"type":"tool_use","name","input"[,"id"]}``,
``{"type":"thinking","thinking","signature"}``, ``{"type":"redacted_thinking","data"}``.
Without a script the fake answers ``"echo: <last user text>"``. Stop sequences in the request
cut the scripted text (``stop_reason: "stop_sequence"``), as the model would stop there.
Run: ``python anthropic_server.py [--port 0] [--key KEY]``; prints ``LISTENING <port>``.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
import uuid
from typing import Any

from aiohttp import web

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scripted import Recorder, apply_stop, serve, sse, split_text  # noqa: E402

DEFAULT_KEY = "test-anthropic-key"

# Error type per status: https://docs.anthropic.com/en/api/errors
ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 402: "billing_error",
               403: "permission_error", 404: "not_found_error", 413: "request_too_large",
               429: "rate_limit_error", 500: "api_error", 504: "timeout_error", 529: "overloaded_error"}

TOP_LEVEL = {"model", "messages", "max_tokens", "metadata", "stop_sequences", "stream", "system",
             "temperature", "top_k", "top_p", "tools", "tool_choice", "thinking", "service_tier",
             "container", "mcp_servers", "context_management", "output_config", "cache_control",
             "inference_geo", "speed", "diagnostics"}
COUNT_TOKENS_FIELDS = {"model", "messages", "system", "tools", "tool_choice", "thinking",
                       "mcp_servers", "context_management", "output_config", "cache_control"}
BLOCK_KEYS = {
    "text": {"type", "text", "cache_control", "citations"},
    "image": {"type", "source", "cache_control"},
    "document": {"type", "source", "title", "context", "citations", "cache_control"},
    "tool_use": {"type", "id", "name", "input", "cache_control", "caller", "toolset_name"},
    "tool_result": {"type", "tool_use_id", "content", "is_error", "cache_control"},
    "thinking": {"type", "thinking", "signature"},
    "redacted_thinking": {"type", "data"},
}
USER_BLOCKS = {"text", "image", "document", "tool_result"}
ASSISTANT_BLOCKS = {"text", "tool_use", "thinking", "redacted_thinking"}
IMAGE_TYPES = {"image/jpeg", "image/png", "image/gif", "image/webp"}
TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,128}$")
# Sampling parameters per model family (https://platform.claude.com/docs/en/about-claude/models/migration-guide):
# Claude 3.x and the first Claude 4 releases take temperature with top_p; Opus 4.7 and later
# (and every 5.x) refuse temperature/top_p/top_k outright; the ones in between take only one.
LEGACY_SAMPLING = re.compile(r"^claude-(3|instant|2|(opus|sonnet)-4(-0|-2025\d{4})?$)")
NO_SAMPLING = re.compile(r"^claude-(opus-4-([7-9]|\d\d)|[a-z]+-[5-9]|fable|mythos)")


class Invalid(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message, self.status = message, status


def error_response(status: int, message: str, etype: str | None = None, headers: dict | None = None) -> web.Response:
    body = {"type": "error", "error": {"type": etype or ERROR_TYPES.get(status, "api_error"), "message": message},
            "request_id": "req_" + uuid.uuid4().hex[:24]}
    return web.json_response(body, status=status, headers=headers or {})


def check_auth(request: web.Request, key: str) -> None:
    given = request.headers.get("x-api-key")
    auth = request.headers.get("authorization", "")
    if given is None and auth.lower().startswith("bearer "):
        given = auth[7:]
    if given is None:
        raise Invalid("x-api-key header is required", 401)
    if given != key:
        raise Invalid("invalid x-api-key", 401)
    if not request.headers.get("anthropic-version"):
        raise Invalid("anthropic-version: header is required")


def check_blocks(where: str, content: Any, allowed: set[str]) -> list[dict]:
    if isinstance(content, str):
        if not content and where.startswith("messages"):
            return []  # an empty string is empty content: check_messages decides if that is allowed
        return [{"type": "text", "text": content}]
    if not isinstance(content, list):
        raise Invalid(f"{where}: Input should be a valid list")
    for i, block in enumerate(content):
        at = f"{where}.{i}"
        btype = block.get("type") if isinstance(block, dict) else None
        if btype not in allowed:
            raise Invalid(f"{at}: Input tag '{btype}' found using 'type' does not match any of the expected tags: {', '.join(sorted(allowed))}")
        for k in block:
            if k not in BLOCK_KEYS[btype]:
                raise Invalid(f"{at}.{btype}.{k}: Extra inputs are not permitted")
        if btype == "text" and not isinstance(block.get("text"), str):
            raise Invalid(f"{at}.text.text: Field required")
        if btype == "text" and not block["text"] and where.startswith("messages"):
            raise Invalid("messages: text content blocks must be non-empty")
        if btype == "image":
            check_image(f"{at}.image.source", block.get("source"))
        if btype == "tool_use":
            if not isinstance(block.get("input"), dict) or not block.get("id") or not block.get("name"):
                raise Invalid(f"{at}.tool_use: id, name and input (an object) are required")
        if btype == "tool_result":
            if not block.get("tool_use_id"):
                raise Invalid(f"{at}.tool_result.tool_use_id: Field required")
            if "content" in block and not isinstance(block["content"], str):
                check_blocks(f"{at}.tool_result.content", block["content"], {"text", "image", "document"})
        if btype == "thinking" and not isinstance(block.get("signature"), str):
            raise Invalid(f"{at}.thinking.signature: Field required")
    return content


def check_image(where: str, source: Any) -> None:
    if not isinstance(source, dict):
        raise Invalid(f"{where}: Field required")
    if source.get("type") == "base64":
        if source.get("media_type") not in IMAGE_TYPES:
            raise Invalid(f"{where}.base64.media_type: Input should be 'image/jpeg', 'image/png', 'image/gif' or 'image/webp'")
        if not source.get("data") or set(source) - {"type", "media_type", "data"}:
            raise Invalid(f"{where}.base64: data is required and no other fields are permitted")
    elif source.get("type") == "url":
        if not str(source.get("url", "")).startswith(("http://", "https://")) or set(source) - {"type", "url"}:
            raise Invalid(f"{where}.url.url: must be an http(s) URL")
    else:
        raise Invalid(f"{where}: Input tag '{source.get('type')}' found using 'type' does not match any of the expected tags: 'base64', 'url', 'file'")


def check_messages(messages: Any) -> None:
    if not isinstance(messages, list) or not messages:
        raise Invalid("messages: at least one message is required")
    # Consecutive same-role turns are documented as merged, so validate the merged turns.
    turns: list[tuple[str, list[dict], int]] = []
    for i, msg in enumerate(messages):
        if not isinstance(msg, dict) or set(msg) - {"role", "content"}:
            raise Invalid(f"messages.{i}: only 'role' and 'content' are permitted")
        role = msg.get("role")
        if role == "system":
            raise Invalid('messages: Unexpected role "system". The Messages API accepts a top-level `system` parameter, not "system" as an input message role.')
        if role not in ("user", "assistant"):
            raise Invalid(f"messages.{i}.role: Input should be 'user' or 'assistant'")
        blocks = check_blocks(f"messages.{i}.content", msg.get("content"), USER_BLOCKS if role == "user" else ASSISTANT_BLOCKS)
        if not blocks and i != len(messages) - 1:
            raise Invalid(f"messages.{i}: all messages must have non-empty content except for the optional final assistant message")
        if role == "user" and any(b["type"] == "tool_result" for b in blocks):
            first_other = next((j for j, b in enumerate(blocks) if b["type"] != "tool_result"), len(blocks))
            if any(b["type"] == "tool_result" for b in blocks[first_other:]):
                raise Invalid(f"messages.{i}.content: tool_result blocks must come FIRST in the content array")
        if turns and turns[-1][0] == role:
            turns[-1] = (role, turns[-1][1] + blocks, turns[-1][2])
        else:
            turns.append((role, list(blocks), i))
    for t, (role, blocks, i) in enumerate(turns):
        if role == "assistant":
            ids = [b["id"] for b in blocks if b["type"] == "tool_use"]
            nxt = turns[t + 1][1] if t + 1 < len(turns) else None
            answered = {b["tool_use_id"] for b in nxt or [] if b["type"] == "tool_result"}
            missing = [x for x in ids if x not in answered]
            if ids and nxt is not None and missing:
                raise Invalid(f"messages.{i}: `tool_use` ids were found without `tool_result` blocks immediately after: {', '.join(missing)}. Each `tool_use` block must have a corresponding `tool_result` block in the next message.")
        else:
            prev = turns[t - 1][1] if t > 0 else []
            known = {b["id"] for b in prev if b["type"] == "tool_use"}
            stray = [b["tool_use_id"] for b in blocks if b["type"] == "tool_result" and b["tool_use_id"] not in known]
            if stray:
                raise Invalid(f"messages.{i}.content.0: unexpected `tool_use_id` found in `tool_result` blocks: {', '.join(stray)}. Each `tool_result` block must have a corresponding `tool_use` block in the previous message.")


def check_tools(body: dict) -> None:
    for i, tool in enumerate(body.get("tools") or []):
        if not TOOL_NAME.match(str(tool.get("name", ""))):
            raise Invalid(f"tools.{i}.custom.name: String should match pattern '^[a-zA-Z0-9_-]{{1,128}}$'")
        if set(tool) - {"name", "description", "input_schema", "cache_control", "type"}:
            raise Invalid(f"tools.{i}.custom.{sorted(set(tool) - {'name', 'description', 'input_schema', 'cache_control', 'type'})[0]}: Extra inputs are not permitted")
        schema = tool.get("input_schema")
        if not isinstance(schema, dict) or schema.get("type") != "object":
            raise Invalid(f"tools.{i}.custom.input_schema.type: Input should be 'object'")
    choice = body.get("tool_choice")
    if choice is not None:
        if choice.get("type") not in ("auto", "any", "tool", "none"):
            raise Invalid("tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'")
        if choice["type"] == "tool" and not choice.get("name"):
            raise Invalid("tool_choice.tool.name: Field required")


def check_body(body: Any, count_tokens: bool = False) -> None:
    if not isinstance(body, dict):
        raise Invalid("Request body must be a JSON object")
    allowed = COUNT_TOKENS_FIELDS if count_tokens else TOP_LEVEL
    for k in body:
        if k not in allowed:
            raise Invalid(f"{k}: Extra inputs are not permitted")
    for k in ("model", "messages") + (() if count_tokens else ("max_tokens",)):
        if k not in body:
            raise Invalid(f"{k}: Field required")
    if not count_tokens and (not isinstance(body["max_tokens"], int) or body["max_tokens"] < 1):
        raise Invalid("max_tokens: Input should be greater than or equal to 1")
    system = body.get("system")
    if system is not None and not isinstance(system, str):
        check_blocks("system", system, {"text"})
    check_messages(body["messages"])
    check_tools(body)
    if "temperature" in body and not 0 <= body["temperature"] <= 1:
        raise Invalid("temperature: range: 0..1")
    for k in ("temperature", "top_p", "top_k"):
        if k in body and NO_SAMPLING.match(body["model"]):
            raise Invalid(f"`{k}` is deprecated for this model.")
    if "temperature" in body and "top_p" in body and not LEGACY_SAMPLING.match(body["model"]):
        raise Invalid("`temperature` and `top_p` cannot both be specified for this model. Please use only one.")
    stops = body.get("stop_sequences")
    if stops is not None and (not isinstance(stops, list) or not all(isinstance(s, str) and s.strip() for s in stops)):
        raise Invalid("stop_sequences: each stop sequence must contain non-whitespace")


def estimate_input(body: dict) -> int:
    payload = json.dumps([body.get("system"), body.get("messages"), body.get("tools")])
    return max(1, len(payload) // 4)


def last_user_text(messages: list[dict]) -> str:
    for msg in reversed(messages):
        if msg["role"] == "user":
            c = msg["content"]
            if isinstance(c, str):
                return c
            texts = [b["text"] for b in c if b.get("type") == "text"]
            if texts:
                return texts[-1]
    return ""


def build_message(body: dict, script: dict) -> dict:
    content = script.get("content")
    if content is None:
        content = [{"type": "text", "text": script.get("text", "echo: " + last_user_text(body["messages"]))}]
    blocks, stop_reason, stop_seq = [], script.get("stop_reason"), None
    budget = body["max_tokens"]
    for b in content:
        b = dict(b)
        if b["type"] == "tool_use":
            b.setdefault("id", "toolu_" + uuid.uuid4().hex[:24])
        if b["type"] == "text":
            b["text"], hit = apply_stop(b["text"], body.get("stop_sequences") or [])
            words = b["text"].split(" ")
            if len(words) > budget:  # one word = one token, to make max_tokens observable
                b["text"], stop_reason = " ".join(words[:budget]), "max_tokens"
            if hit is not None:
                blocks.append(b)
                stop_reason, stop_seq = "stop_sequence", hit
                break
        blocks.append(b)
    if stop_reason is None:
        stop_reason = "tool_use" if any(b["type"] == "tool_use" for b in blocks) else "end_turn"
    out_tokens = sum(len(b.get("text", b.get("thinking", "")).split()) + (len(json.dumps(b["input"])) // 4 if b["type"] == "tool_use" else 0) for b in blocks)
    usage = {"input_tokens": estimate_input(body), "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
             "output_tokens": max(1, out_tokens)}
    usage.update(script.get("usage") or {})
    return {"id": "msg_" + uuid.uuid4().hex[:24], "type": "message", "role": "assistant", "model": body["model"],
            "content": blocks, "stop_reason": stop_reason, "stop_sequence": stop_seq, "usage": usage}


async def stream_message(request: web.Request, msg: dict, script: dict) -> web.StreamResponse:
    resp = web.StreamResponse(headers={"content-type": "text/event-stream", "cache-control": "no-cache",
                                       "request-id": "req_" + uuid.uuid4().hex[:24]})
    await resp.prepare(request)
    n, delay = int(script.get("chunks", 3)), float(script.get("delay", 0))
    usage = msg["usage"]
    start_usage = {k: usage[k] for k in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")}
    start = dict(msg, content=[], stop_reason=None, stop_sequence=None, usage=dict(start_usage, output_tokens=1))

    async def send(event: str, data: dict) -> None:
        await resp.write(sse(event, data))
        if delay:
            await asyncio.sleep(delay)

    await send("message_start", {"type": "message_start", "message": start})
    err = script.get("stream_error")
    for i, b in enumerate(msg["content"]):
        if err and i == err.get("after_blocks", 0):
            await send("error", {"type": "error", "error": {"type": err.get("type", "overloaded_error"), "message": err.get("message", "Overloaded")}})
            return resp
        if b["type"] == "text":
            await send("content_block_start", {"type": "content_block_start", "index": i, "content_block": {"type": "text", "text": ""}})
            pieces = [("text_delta", "text", p) for p in split_text(b["text"], n) if p]
        elif b["type"] == "tool_use":
            await send("content_block_start", {"type": "content_block_start", "index": i, "content_block": {"type": "tool_use", "id": b["id"], "name": b["name"], "input": {}}})
            pieces = [("input_json_delta", "partial_json", "")] + [("input_json_delta", "partial_json", p) for p in split_text(json.dumps(b["input"]), n)]
        elif b["type"] == "thinking":
            await send("content_block_start", {"type": "content_block_start", "index": i, "content_block": {"type": "thinking", "thinking": "", "signature": ""}})
            pieces = [("thinking_delta", "thinking", p) for p in split_text(b["thinking"], n) if p] + [("signature_delta", "signature", b["signature"])]
        else:
            await send("content_block_start", {"type": "content_block_start", "index": i, "content_block": b})
            pieces = []
        if i == 0:
            await send("ping", {"type": "ping"})
        for dtype, key, piece in pieces:
            await send("content_block_delta", {"type": "content_block_delta", "index": i, "delta": {"type": dtype, key: piece}})
        await send("content_block_stop", {"type": "content_block_stop", "index": i})
    await send("message_delta", {"type": "message_delta", "delta": {"stop_reason": msg["stop_reason"], "stop_sequence": msg["stop_sequence"]}, "usage": usage})
    await send("message_stop", {"type": "message_stop"})
    return resp


def build(recorder: Recorder) -> web.Application:
    app = web.Application(client_max_size=64 * 1024 * 1024)

    async def messages(request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        entry = recorder.record(request, raw)
        try:
            check_auth(request, recorder.api_key)
            if entry["body"] is None:
                raise Invalid("There was an issue with your request body: invalid JSON")
            body = entry["body"]
            check_body(body)
        except Invalid as e:
            return error_response(e.status, e.message)
        script = recorder.next_script() or {}
        if "status" in script:
            status = int(script["status"])
            return error_response(status, script.get("message", "scripted error"), script.get("error_type"), script.get("headers"))
        msg = build_message(body, script)
        if body.get("stream"):
            return await stream_message(request, msg, script)
        return web.json_response(msg, headers={"request-id": "req_" + uuid.uuid4().hex[:24]})

    async def count_tokens(request: web.Request) -> web.Response:
        raw = await request.read()
        entry = recorder.record(request, raw)
        try:
            check_auth(request, recorder.api_key)
            check_body(entry["body"], count_tokens=True)
        except Invalid as e:
            return error_response(e.status, e.message)
        return web.json_response({"input_tokens": estimate_input(entry["body"])})

    app.router.add_post("/v1/messages", messages)
    app.router.add_post("/v1/messages/count_tokens", count_tokens)
    return app


if __name__ == "__main__":
    serve(build, DEFAULT_KEY)
