"""POST /v1/chat/completions — the hot path, top to bottom.

read body -> validate -> plan (route) -> open upstream (with fallbacks) -> answer (JSON or
SSE) -> account into the ledger record. The app records the ledger row whatever happens.
An SSE body is relayed: written from the upstream connection's data_received straight to
the client's transport (``relay``), or through ASGI ``send`` when that is not possible.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson

from triage.providers.base import ProviderAdapter, UpstreamError
from triage.server import engine
from triage.server.asgi import Receive, Send, raw_stream_cycle, read_body, send_bytes
from triage.server.context import RequestContext
from triage.server.errors import from_upstream
from triage.server.state import Gateway
from triage.server.validate import parse_json_object, policy_override, quality_override, validate_chat
from triage.upstream.client import UpstreamResponse


def response_headers(request_id: str, target: engine.Target, attempts: list[dict[str, Any]] | None = None) -> dict[str, str]:
    h = {"x-request-id": request_id, "x-triage-model": target.model, "x-triage-provider": target.provider.name}
    if attempts and len(attempts) > 1:  # fallbacks happened: every attempt and its outcome
        h["x-triage-attempts"] = ", ".join(f"{a['model']}={a['outcome']}" for a in attempts)
    return h


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

    p = engine.plan(gw, body, quality_override(body, headers),
                    policy_override(body, headers, gw.settings.policy, gw.resolve_model))
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
    out_headers = {**ctx.extra, **response_headers(rec.request_id, target, p.attempts)}

    if not stream:
        answer = await engine.whole_answer(gw, ctx, p, target, resp)
        answer["model"] = answer.get("model") or target.upstream_model
        answer["routing_info"] = engine.routing_info(gw, p, target, rec)
        await send_bytes(send, 200, orjson.dumps(answer), out_headers)
        return

    await stream_answer(gw, ctx, send, p, target, adapter, resp, body, out_headers)


class _Events:
    """Turns what one upstream read completed into the bytes the client gets, and keeps what
    the stream's end needs: the held usage chunk (sent last, with ``routing_info``) and the
    id / created / model of the chunks seen. Pass-through translators (OpenAI upstream, no
    gateway-applied stops) hand content events back as the upstream's own bytes."""

    __slots__ = ("passthrough", "feed", "wants_usage", "held", "last_id", "last_created", "last_model")

    def __init__(self, translator: Any, wants_usage: bool, model: str) -> None:
        self.passthrough = getattr(translator, "feed_passthrough", None)
        self.feed = translator.feed
        self.wants_usage = wants_usage
        self.held: dict[str, Any] | None = None
        self.last_id, self.last_created, self.last_model = None, None, model

    def render(self, data: bytes) -> bytes:
        """The SSE bytes for this read (b"" if it completed no event to forward)."""
        chunks = self.passthrough(data, self.wants_usage) if self.passthrough is not None else self.feed(data)
        if not chunks:
            return b""
        if len(chunks) == 1 and chunks[0].__class__ is bytes:
            return chunks[0]  # type: ignore[return-value]  # one forwarded event: the common read
        parts = []
        for c in chunks:
            if c.__class__ is bytes:
                parts.append(c)
                continue
            if not c.get("choices") and c.get("usage"):
                self.held = c
                continue
            self.last_id, self.last_created, self.last_model = c.get("id", self.last_id), c.get("created", self.last_created), c.get("model", self.last_model)
            if not self.wants_usage and "usage" in c:
                c.pop("usage")
            parts.append(b"data: " + orjson.dumps(c) + b"\n\n")
        return parts[0] if len(parts) == 1 else b"".join(parts)


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
    events = _Events(translator, wants_usage, target.upstream_model)
    # Relayed: each upstream read is translated and written to the client's transport from the
    # upstream connection's data_received (docs/decisions/hot-path.md). Not with gateway-applied
    # stops (the StopFilter may end the stream early) or a server other than uvicorn's httptools.
    cycle = None if p.stops else raw_stream_cycle(send)
    try:
        try:
            if cycle is not None:
                await relay(ctx, resp, events, cycle)
            else:
                first = True
                async for data in resp.iter_chunks():
                    out = events.render(data)
                    if out:
                        if first:
                            rec.ttfb_ms = (time.perf_counter() - ctx.t0) * 1000
                            first = False
                        await send({"type": "http.response.body", "body": out, "more_body": True})
            for c in translator.finish():
                if not c.get("choices") and c.get("usage"):
                    events.held = c
                else:
                    await send({"type": "http.response.body", "body": b"data: " + orjson.dumps(c) + b"\n\n", "more_body": True})
        finally:
            resp.close()
    except asyncio.CancelledError:
        engine.account(gw, rec, p, target, translator.usage)  # the client left: record what was used
        raise
    except (UpstreamError, *engine.SHAPE_ERRORS) as e:
        # Bytes were already sent: no switch to another model mid-answer. End with an error event.
        engine.account(gw, rec, p, target, translator.usage)
        err = from_upstream(e if isinstance(e, UpstreamError) else engine.malformed(e), target.model)
        rec.status, rec.error_class = 200, f"stream_{err.error_class}"
        await send({"type": "http.response.body", "body": b"data: " + orjson.dumps({"error": err.openai_dict()}) + b"\n\ndata: [DONE]\n\n", "more_body": False})
        return

    engine.account(gw, rec, p, target, translator.usage)
    held = events.held
    final = held if (held is not None and wants_usage) else {
        "id": events.last_id or f"chatcmpl-{rec.request_id}", "object": "chat.completion.chunk",
        "created": events.last_created or int(time.time()), "model": events.last_model, "choices": [],
    }  # fmt: skip
    final["routing_info"] = engine.routing_info(gw, p, target, rec)
    await send({"type": "http.response.body", "body": b"data: " + orjson.dumps(final) + b"\n\ndata: [DONE]\n\n", "more_body": False})


async def relay(ctx: RequestContext, resp: UpstreamResponse, events: _Events, cycle: Any) -> None:
    """The stream's body, written from the upstream connection's ``data_received`` straight to
    the client's transport in uvicorn's chunked framing: one ``write`` per upstream read, no
    task wake-up, no ASGI message. Back-pressure: when the client's transport is over its
    high-water mark (uvicorn's ``flow.write_paused``), upstream reading pauses until it drains.
    After the client left (``cycle.disconnected``) nothing is written; the disconnect watcher
    cancels this task, which drops the upstream connection.

    Numbers (c=16, 50-event streams, docs/decisions/hot-path.md): pass-through
    33.4 -> 28.9 µs per event, translated 42.8 -> 30.9 µs (medians of 3, `bench.scenarios.streams`).
    """
    transport, flow = cycle.transport, cycle.flow
    first = True

    def to_client(data: bytes) -> bool:
        nonlocal first
        out = events.render(data)
        if out and not cycle.disconnected:
            if first:
                ctx.rec.ttfb_ms = (time.perf_counter() - ctx.t0) * 1000
                first = False
            transport.write(b"%x\r\n%b\r\n" % (len(out), out))
        return flow.write_paused

    await resp.relay(to_client, flow.drain)
