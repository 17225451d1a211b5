"""POST /v1/chat/completions — the hot path, top to bottom.

read body -> validate -> plan (route) -> open upstream (with fallbacks) -> answer (JSON or
SSE) -> account into the ledger record. The app records the ledger row whatever happens.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson

from triage.providers.base import ProviderAdapter, UpstreamError
from triage.server import engine
from triage.server.asgi import Receive, Send, read_body, send_bytes
from triage.server.context import RequestContext
from triage.server.errors import from_upstream
from triage.server.state import Gateway
from triage.server.validate import parse_json_object, quality_override, validate_chat
from triage.upstream.client import UpstreamResponse


def response_headers(request_id: str, target: engine.Target) -> dict[str, str]:
    return {"x-request-id": request_id, "x-triage-model": target.model, "x-triage-provider": target.provider.name}


async def chat_completions(gw: Gateway, ctx: RequestContext, receive: Receive, send: Send) -> None:
    rec, headers = ctx.rec, ctx.headers
    limits = gw.settings.limits
    body = parse_json_object(await read_body(receive, limits.max_body_bytes), limits)
    validate_chat(body, limits)
    rec.requested_model = body.get("model") or "auto"
    stream = bool(body.get("stream"))
    rec.stream = stream
    if gw.settings.store_prompts:
        rec.prompt = orjson.dumps(body.get("messages")).decode()

    p = engine.plan(gw, body, quality_override(body, headers))
    ctx.plan = p
    # From here on the client's disconnect cancels this task, and with it the upstream call.
    watcher = asyncio.ensure_future(engine.watch_disconnect(receive, ctx))
    try:
        await answer(gw, ctx, send, p, body, stream)
    finally:
        watcher.cancel()


async def answer(gw: Gateway, ctx: RequestContext, send: Send, p: engine.Plan, body: dict[str, Any], stream: bool) -> None:
    rec = ctx.rec
    target, adapter, resp = await engine.start(gw, ctx, p, body, stream)
    out_headers = {**ctx.extra, **response_headers(rec.request_id, target)}

    if not stream:
        try:
            data = await resp.read()
        finally:
            resp.close()
        answer, usage = engine.read_answer(p, adapter, target, data)
        answer["model"] = answer.get("model") or target.upstream_model
        engine.account(gw, rec, p, target, usage)
        answer["routing_info"] = engine.routing_info(gw, p, target, rec)
        rec.status = 200
        rec.ttfb_ms = (time.perf_counter() - ctx.t0) * 1000
        await send_bytes(send, 200, orjson.dumps(answer), out_headers)
        return

    await stream_answer(gw, ctx, send, p, target, adapter, resp, body, out_headers)


async def stream_answer(
    gw: Gateway, ctx: RequestContext, send: Send, p: engine.Plan, target: engine.Target,
    adapter: ProviderAdapter, resp: UpstreamResponse, body: dict[str, Any], out_headers: dict[str, str],
) -> None:  # fmt: skip
    rec = ctx.rec
    wants_usage = bool((body.get("stream_options") or {}).get("include_usage"))
    translator = engine.translator(p, adapter, target)
    h = [(b"content-type", b"text/event-stream; charset=utf-8"), (b"cache-control", b"no-cache"), (b"x-accel-buffering", b"no")]
    h.extend((k.encode("latin-1"), v.encode("latin-1")) for k, v in out_headers.items())
    await send({"type": "http.response.start", "status": 200, "headers": h})
    rec.status = 200
    held: dict[str, Any] | None = None  # the usage chunk, sent last with routing_info
    last_id, last_created, last_model = None, None, target.upstream_model
    first = True
    # OpenAI upstream, no gateway-applied stops: content events are forwarded as the upstream's bytes.
    passthrough = getattr(translator, "feed_passthrough", None)
    try:
        try:
            async for data in resp.iter_chunks():
                chunks = passthrough(data, wants_usage) if passthrough is not None else translator.feed(data)
                if not chunks:
                    continue
                parts = []
                for c in chunks:
                    if c.__class__ is bytes:
                        parts.append(c)  # type: ignore[arg-type]
                        continue
                    if not c.get("choices") and c.get("usage"):
                        held = c
                        continue
                    last_id, last_created, last_model = c.get("id", last_id), c.get("created", last_created), c.get("model", last_model)
                    if not wants_usage and "usage" in c:
                        c.pop("usage")
                    parts.append(b"data: " + orjson.dumps(c) + b"\n\n")
                if parts:
                    if first:
                        rec.ttfb_ms = (time.perf_counter() - ctx.t0) * 1000
                        first = False
                    await send({"type": "http.response.body", "body": b"".join(parts), "more_body": True})
            for c in translator.finish():
                if not c.get("choices") and c.get("usage"):
                    held = c
                else:
                    await send({"type": "http.response.body", "body": b"data: " + orjson.dumps(c) + b"\n\n", "more_body": True})
        finally:
            resp.close()
    except asyncio.CancelledError:
        engine.account(gw, rec, p, target, translator.usage)  # the client left: record what was used
        raise
    except UpstreamError as e:
        # Bytes were already sent: no switch to another model mid-answer. End with an error event.
        engine.account(gw, rec, p, target, translator.usage)
        err = from_upstream(e, target.model)
        rec.status, rec.error_class = 200, f"stream_{err.error_class}"
        await send({"type": "http.response.body", "body": b"data: " + orjson.dumps({"error": err.openai_dict()}) + b"\n\ndata: [DONE]\n\n", "more_body": False})
        return

    engine.account(gw, rec, p, target, translator.usage)
    final = held if (held is not None and wants_usage) else {
        "id": last_id or f"chatcmpl-{rec.request_id}", "object": "chat.completion.chunk",
        "created": last_created or int(time.time()), "model": last_model, "choices": [],
    }  # fmt: skip
    final["routing_info"] = engine.routing_info(gw, p, target, rec)
    await send({"type": "http.response.body", "body": b"data: " + orjson.dumps(final) + b"\n\ndata: [DONE]\n\n", "more_body": False})
