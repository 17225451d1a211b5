"""``POST /v1/messages`` and ``POST /v1/messages/count_tokens``: the Anthropic surface's I/O.

read body -> check it is a Messages request -> either native pass-through (a named model
served by an Anthropic-kind provider: body and version/beta headers intact) or translation
(to the internal format -> ``engine.plan`` / ``open_upstream`` on any provider -> back to
Anthropic's shapes, streams event by event) -> account into the ledger record. Errors are
rendered in Anthropic's shape by the app (``errors.render`` is registered for this surface).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson

from triage.providers.anthropic.errors import classify as classify_anthropic
from triage.providers.anthropic.response import to_usage
from triage.providers.anthropic.stream import AnthropicStreamTranslator
from triage.providers.base import UpstreamError
from triage.server import engine
from triage.server.asgi import Receive, Send, read_body, send_bytes
from triage.server.chat import response_headers
from triage.server.context import RequestContext
from triage.server.errors import GatewayError, from_upstream, redact_keys
from triage.server.state import AUTO_NAMES, Gateway, Target
from triage.server.validate import parse_json_object, policy_override, quality_override, validate_chat
from triage.surfaces.anthropic import errors
from triage.surfaces.anthropic.count_tokens import estimate_input_tokens
from triage.surfaces.anthropic.passthrough import native_request
from triage.surfaces.anthropic.request import to_internal_request
from triage.surfaces.anthropic.response import to_anthropic_response
from triage.surfaces.anthropic.stream import AnthropicStreamWriter

SSE_HEADERS = [(b"content-type", b"text/event-stream; charset=utf-8"), (b"cache-control", b"no-cache"), (b"x-accel-buffering", b"no")]


def mount(app: Any) -> None:
    app.add_route("POST", "/v1/messages", messages, "anthropic")
    app.add_route("POST", "/v1/messages/count_tokens", count_tokens, "anthropic", False)
    app.error_shapes["anthropic"] = errors.render


def check_messages_body(body: dict[str, Any], *, count: bool = False) -> None:
    for key in ("model", "messages") + (() if count else ("max_tokens",)):
        if key not in body:
            raise GatewayError(400, f"{key}: Field required", param=key)
    if not isinstance(body["model"], str):
        raise GatewayError(400, "model: Input should be a valid string", param="model")
    if not count and (isinstance(body["max_tokens"], bool) or not isinstance(body["max_tokens"], int) or body["max_tokens"] < 1):
        raise GatewayError(400, "max_tokens: Input should be a valid integer greater than 0", param="max_tokens")
    if not isinstance(body["messages"], list) or not body["messages"]:
        raise GatewayError(400, "messages: at least one message is required", param="messages")
    stops = body.get("stop_sequences")
    if stops is not None and not (isinstance(stops, list) and all(isinstance(s, str) for s in stops)):
        raise GatewayError(400, "stop_sequences: Input should be a valid list of strings", param="stop_sequences")


def native_target(gw: Gateway, model: str) -> Target | None:
    if model in AUTO_NAMES:
        return None
    target = gw.target_for(model)
    return target if target is not None and target.provider.kind == "anthropic" else None


def translate(body: dict[str, Any], gw: Gateway) -> dict[str, Any]:
    try:
        internal = to_internal_request(body)
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise GatewayError(400, str(e) if isinstance(e, ValueError) else f"malformed request: {e}") from None
    validate_chat(internal, gw.settings.limits)
    return internal


async def messages(gw: Gateway, ctx: RequestContext, receive: Receive, send: Send) -> None:
    rec = ctx.rec
    raw = await read_body(receive, gw.settings.limits.max_body_bytes)
    body = parse_json_object(raw, gw.settings.limits)
    check_messages_body(body)
    rec.requested_model = body["model"]
    stream = bool(body.get("stream"))
    rec.stream = stream
    if gw.settings.store_prompts:
        rec.prompt = orjson.dumps(body.get("messages")).decode()
    # From here on the client's disconnect cancels this task, and with it the upstream call.
    watcher = asyncio.ensure_future(engine.watch_disconnect(receive, ctx))
    try:
        await answer(gw, ctx, send, raw, body, stream)
    finally:
        watcher.cancel()


async def answer(gw: Gateway, ctx: RequestContext, send: Send, raw: bytes, body: dict[str, Any], stream: bool) -> None:
    rec, headers = ctx.rec, ctx.headers
    target = native_target(gw, body["model"])
    failed: dict[str, Any] | None = None
    if target is not None:
        chain = bool(gw.settings.fallbacks.get(body["model"]) or gw.settings.fallbacks.get(target.model))
        try:
            await native(gw, ctx, send, raw, body, target, stream, may_fall_back=chain)
            return
        except NativeFailedError as e:
            failed = e.attempt  # retryable, nothing sent yet: on to the configured chain

    internal = translate(body, gw)
    p = engine.plan(gw, internal, quality_override(internal, headers),
                    policy_override(internal, headers, gw.settings.policy, gw.resolve_model))
    if failed is not None:
        p.targets, p.attempts = p.targets[1:], [failed]
    ctx.plan = p
    target, adapter, resp = await engine.start(gw, ctx, p, internal, stream)
    out_headers = {**ctx.extra, **response_headers(rec.request_id, target, p.attempts)}
    if not stream:
        answer = await engine.whole_answer(gw, ctx, p, target, resp)
        await send_bytes(send, 200, orjson.dumps(to_anthropic_response(answer, target.model)), out_headers)
        return

    translator = engine.translator(p, adapter, target)
    writer = AnthropicStreamWriter(target.model)
    await start_stream(send, out_headers)
    rec.status = 200
    try:
        try:
            async for data in resp.iter_chunks():
                out = b"".join(writer.feed(c) for c in translator.feed(data))
                if out:
                    if rec.ttfb_ms is None:
                        rec.ttfb_ms = (time.perf_counter() - ctx.t0) * 1000
                    await send({"type": "http.response.body", "body": out, "more_body": True})
            tail = b"".join(writer.feed(c) for c in translator.finish()) + writer.finish()
        finally:
            resp.close()
    except asyncio.CancelledError:
        engine.account(gw, rec, p, target, translator.usage)  # the client left: record what was used
        raise
    except (UpstreamError, *engine.SHAPE_ERRORS) as e:
        engine.account(gw, rec, p, target, translator.usage)
        err = from_upstream(e if isinstance(e, UpstreamError) else engine.malformed(e), target.model)
        rec.error_class = f"stream_{err.error_class}"
        await send({"type": "http.response.body", "body": writer.error(err.status, err.message), "more_body": False})
        return
    engine.account(gw, rec, p, target, translator.usage)
    await send({"type": "http.response.body", "body": tail, "more_body": False})


async def start_stream(send: Send, out_headers: dict[str, str]) -> None:
    h = list(SSE_HEADERS) + [(k.encode("latin-1"), v.encode("latin-1")) for k, v in out_headers.items()]
    await send({"type": "http.response.start", "status": 200, "headers": h})


class NativeFailedError(Exception):
    """The native call failed retryably before any byte reached the client."""

    def __init__(self, attempt: dict[str, Any]) -> None:
        super().__init__(attempt["outcome"])
        self.attempt = attempt


async def native(
    gw: Gateway, ctx: RequestContext, send: Send, raw: bytes, body: dict[str, Any], target: Target, stream: bool,
    *, may_fall_back: bool = False,
) -> None:  # fmt: skip
    """Anthropic in, Anthropic out: bytes relayed as they come; usage read on the side.

    Anthropic's own errors go back intact, unless the model has a configured fallback chain
    and the error is retryable: then ``NativeFailedError`` hands over to the chain."""
    rec = ctx.rec
    p = engine.Plan(body["model"], [target])
    rec.chosen_model = rec.answered_model = target.model
    rec.provider = target.provider.name
    key = engine.client_key(target, ctx.headers, bool(gw.settings.api_key))
    req = native_request(target.provider, raw, body, target.upstream_model, ctx.headers, key)
    t0 = time.perf_counter()
    try:
        resp = await gw.client.send(req)
    except UpstreamError as e:
        gw.breakers.failure(target.provider.name, target.model, e.error_class, e.retry_after)
        if may_fall_back and e.retryable:
            raise NativeFailedError(_attempt(target, e, t0)) from None
        raise from_upstream(e, target.model) from None
    out_headers = {**ctx.extra, **response_headers(rec.request_id, target)}
    if resp.status >= 400 or not stream:
        try:
            data = await resp.read()
        except UpstreamError as e:  # the body broke off after the status line
            gw.breakers.failure(target.provider.name, target.model, e.error_class, e.retry_after)
            if may_fall_back and e.retryable:
                raise NativeFailedError(_attempt(target, e, t0)) from None
            raise from_upstream(e, target.model) from None
        finally:
            resp.close()
        if resp.status >= 400:
            e = classify_anthropic(resp.status, resp.headers, data, target.provider.name)
            gw.breakers.failure(target.provider.name, target.model, e.error_class, e.retry_after)
            if may_fall_back and e.retryable:
                raise NativeFailedError(_attempt(target, e, t0))
            rec.status, rec.error_class = resp.status, e.error_class.value
            extra = {"retry-after": resp.headers["retry-after"]} if "retry-after" in resp.headers else {}
            # Anthropic's own error, intact but for a key it might quote back
            await send_bytes(send, resp.status, redact_keys(data, gw.settings.providers), {**out_headers, **extra})
            return
        try:
            engine.account(gw, rec, p, target, to_usage(orjson.loads(data).get("usage") or {}))
        except (orjson.JSONDecodeError, AttributeError):
            pass
        rec.status = 200
        await send_bytes(send, 200, data, out_headers)
        return
    meter = AnthropicStreamTranslator(target.upstream_model, target.provider.name)
    await start_stream(send, out_headers)
    rec.status = 200
    try:
        async for data in resp.iter_chunks():
            if rec.ttfb_ms is None:
                rec.ttfb_ms = (time.perf_counter() - ctx.t0) * 1000
            await send({"type": "http.response.body", "body": data, "more_body": True})
            try:
                meter.feed(data)
            except UpstreamError as e:  # an error event: relayed as is, counted here
                rec.error_class = f"stream_{e.error_class.value}"
            except engine.SHAPE_ERRORS:  # the meter only reads usage: the events go on as they came
                pass
    except UpstreamError as e:
        rec.error_class = f"stream_{e.error_class.value}"
        await send({"type": "http.response.body", "body": errors.stream_error_event(e.status, e.message), "more_body": False})
        return
    finally:
        resp.close()
        engine.account(gw, rec, p, target, meter.usage)
    await send({"type": "http.response.body", "body": b"", "more_body": False})


def _attempt(target: Target, e: UpstreamError, t0: float) -> dict[str, Any]:
    return {"model": target.model, "provider": target.provider.name, "outcome": e.error_class.value, "status": e.status,
            "ms": round((time.perf_counter() - t0) * 1000, 1)}  # fmt: skip


async def count_tokens(gw: Gateway, ctx: RequestContext, receive: Receive, send: Send) -> None:
    raw = await read_body(receive, gw.settings.limits.max_body_bytes)
    body = parse_json_object(raw, gw.settings.limits)
    check_messages_body(body, count=True)
    target = native_target(gw, body["model"])
    if target is not None:
        key = engine.client_key(target, ctx.headers, bool(gw.settings.api_key))
        req = native_request(target.provider, raw, body, target.upstream_model, ctx.headers, key, count_tokens=True)
        try:
            resp = await gw.client.send(req)
            data = await resp.read()
            resp.close()
        except UpstreamError as e:
            raise from_upstream(e, target.model) from None
        await send_bytes(send, resp.status, redact_keys(data, gw.settings.providers), ctx.extra)
        return
    await send_bytes(send, 200, orjson.dumps({"input_tokens": estimate_input_tokens(body)}), ctx.extra)
