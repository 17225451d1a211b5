"""The ASGI application: one dispatch function in front of thin handlers.

For each HTTP request, in order: request id -> DNS-rebinding check (Host) -> CORS ->
bearer auth -> loop check -> route table -> handler. Whatever happens, the client gets an
answer in its API's error shape, and the request gets its ledger row.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import itertools
import logging
import os
import secrets
import sys
import time
from typing import Awaitable, Callable

import orjson

from triage.config.settings import Settings
from triage.ledger.record import LedgerRecord
from triage.ledger.store import StoreUnavailable
from triage.server import admin, chat, engine
from triage.server.asgi import BodyTooLargeError, ClientGoneError, Receive, Scope, Send, request_headers, send_bytes
from triage.server.context import RequestContext
from triage.server.errors import GatewayError, redact_keys
from triage.server.state import Gateway
from triage.upstream.client import HOP_HEADER

log = logging.getLogger("triage")

Handler = Callable[..., Awaitable[None]]

LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]", "::1"})


class _RequestIds:
    """``req_`` + a random per-process prefix + a counter: unique without a CSPRNG call per request."""

    def __init__(self) -> None:
        self.reset()
        os.register_at_fork(after_in_child=self.reset)  # a forked worker must not repeat its parent's ids

    def reset(self) -> None:
        self.prefix = "req_" + secrets.token_hex(6)
        self.counter = itertools.count(1)

    def new(self) -> str:
        return f"{self.prefix}{next(self.counter):012x}"


new_request_id = _RequestIds().new


def anthropic_error_body(e: GatewayError) -> bytes:
    kind = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error", 404: "not_found_error",
            413: "request_too_large", 429: "rate_limit_error", 503: "overloaded_error", 529: "overloaded_error"}.get(e.status, "api_error")  # fmt: skip
    return orjson.dumps({"type": "error", "error": {"type": kind, "message": e.message}})


class TriageApp:
    def __init__(self, gateway: Gateway) -> None:
        self.gw = gateway
        # (method, path) -> (handler, surface, ledgered on success)
        self.routes: dict[tuple[str, str], tuple[Handler, str, bool]] = {
            ("POST", "/v1/chat/completions"): (chat.chat_completions, "openai", True),
            ("POST", "/chat/completions"): (chat.chat_completions, "openai", True),
            ("POST", "/v1/route"): (admin.route, "route", False),
            ("GET", "/v1/models"): (admin.models, "admin", False),
            ("GET", "/health"): (admin.health, "admin", False),
            ("GET", "/v1/stats"): (admin.stats, "admin", False),
            ("GET", "/v1/models/compare"): (admin.compare, "admin", False),
            ("GET", "/v1/config"): (admin.get_config, "admin", False),
            ("PATCH", "/v1/config"): (admin.patch_config, "admin", False),
            ("GET", "/openapi.json"): (admin.openapi, "admin", False),
        }
        self.query_handlers = {admin.stats, admin.compare}
        self.error_shapes: dict[str, Callable[[GatewayError], bytes]] = {"anthropic": anthropic_error_body}

    def add_route(self, method: str, path: str, handler: Handler, surface: str, ledgered: bool = True) -> None:
        self.routes[(method, path)] = (handler, surface, ledgered)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self.http(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self.lifespan(receive, send)

    async def lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            msg = await receive()
            if msg["type"] == "lifespan.startup":
                try:
                    await self.gw.start()
                except Exception as e:  # pragma: no cover - reported to the server
                    await send({"type": "lifespan.startup.failed", "message": str(e)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif msg["type"] == "lifespan.shutdown":
                await self.gw.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        t0 = time.perf_counter()
        headers = request_headers(scope)
        method, path = scope["method"], scope["path"]
        rid = headers.get("x-request-id")
        if not rid or len(rid) > 128 or not rid.isprintable():
            rid = new_request_id()
        entry = self.routes.get((method, path))
        surface = entry[1] if entry else ("anthropic" if path.startswith("/v1/messages") else "openai")
        rec = LedgerRecord(ts=time.time(), request_id=rid, surface=surface, api_key_id=engine.key_id(headers))
        ctx = RequestContext(rid, t0, headers, rec, {"x-request-id": rid}, ledgered=entry[2] if entry else True, task=asyncio.current_task())
        try:
            self.check_host(headers)
            origin = headers.get("origin")
            if origin:
                if self.origin_allowed(origin):
                    ctx.extra["access-control-allow-origin"] = origin
                    ctx.extra["vary"] = "Origin"
                if method == "OPTIONS":
                    ctx.ledgered = False
                    await self.preflight(ctx, send, origin)
                    return
            if path != "/health":
                self.check_auth(headers, path)
            if headers.get(HOP_HEADER) == self.gw.instance_id:
                raise GatewayError(508, "this request came back to the gateway itself: a provider's base URL points at Triage", type="invalid_request_error", code="loop_detected")
            if entry is None:
                allowed = [m for (m, p) in self.routes if p == path]
                if allowed:
                    raise GatewayError(405, f"{method} is not allowed on {path} (use {', '.join(allowed)})", code="method_not_allowed", headers={"allow": ", ".join(allowed)})
                raise GatewayError(404, f"no such endpoint: {method} {path}", code="not_found")
            handler = entry[0]
            if handler in self.query_handlers:
                await handler(self.gw, ctx, receive, send, scope.get("query_string", b"").decode("latin-1"))
            else:
                await handler(self.gw, ctx, receive, send)
        except GatewayError as e:
            ctx.ledgered = True
            rec.status, rec.error_class = e.status, e.error_class
            if ctx.plan is not None and ctx.plan.attempts:
                last = ctx.plan.attempts[-1]
                rec.attempts = len(ctx.plan.attempts)
                rec.attempt_log = orjson.dumps(ctx.plan.attempts).decode()
                rec.provider = rec.provider or last["provider"]
            await self.send_error(ctx, send, surface, e)
        except BodyTooLargeError:
            ctx.ledgered = True
            e = GatewayError(413, f"the request body is larger than {self.gw.settings.limits.max_body_bytes} bytes", code="request_too_large")
            rec.status, rec.error_class = 413, "request_too_large"
            await self.send_error(ctx, send, surface, e)
        except StoreUnavailable as e:  # a read of the ledger (stats, dashboard, MCP) while its database is down
            ctx.ledgered = True
            rec.status, rec.error_class = 503, "ledger_unavailable"
            await self.send_error(ctx, send, surface, GatewayError(503, str(e), type="service_unavailable", code="ledger_unavailable"))
        except (ClientGoneError, OSError):
            rec.status, rec.error_class = 499, "client_closed_request"
        except asyncio.CancelledError:
            if not ctx.client_gone:
                rec.status, rec.error_class = 499, "cancelled"
                raise
            # Our own watcher cancelled the request because the client left.
            if ctx.task is not None:
                ctx.task.uncancel()
            rec.status, rec.error_class = 499, "client_closed_request"
        except Exception:
            rec.status, rec.error_class = 500, "internal_error"
            log.exception("unhandled error in %s %s (request %s)", method, path, rid)
            await self.send_error(ctx, send, surface, GatewayError(500, f"internal error in the gateway (request id {rid})", type="server_error", code="internal_error"))
        finally:
            if ctx.ledgered:
                rec.latency_ms = (time.perf_counter() - t0) * 1000
                self.gw.writer.record(rec)
                for observe in self.gw.observers:
                    observe(rec)
                for observe_request in self.gw.request_observers:
                    observe_request(ctx)

    async def send_error(self, ctx: RequestContext, send: Send, surface: str, e: GatewayError) -> None:
        # A provider's message could quote a credential back: no configured key ever leaves.
        e.message = redact_keys(e.message, self.gw.settings.providers)
        render = self.error_shapes.get(surface)
        body = render(e) if render else e.openai_body()
        try:
            await send_bytes(send, e.status, body, {**ctx.extra, **e.headers})
        except (OSError, RuntimeError):
            pass  # the response had started, or the client left: nothing more can be said

    def check_host(self, headers: dict[str, str]) -> None:
        s: Settings = self.gw.settings
        host = headers.get("host", "")
        name = host.rsplit(":", 1)[0] if not host.startswith("[") else host.split("]")[0] + "]"
        if s.allowed_hosts:
            if name in LOOPBACK_HOSTS or name in s.allowed_hosts or "*" in s.allowed_hosts:
                return
        elif s.host not in LOOPBACK_HOSTS or name in LOOPBACK_HOSTS:
            return
        raise GatewayError(421, f"Host '{host}' is not allowed (DNS-rebinding protection); add it to TRIAGE_ALLOWED_HOSTS", code="host_not_allowed")

    def origin_allowed(self, origin: str) -> bool:
        for allowed in self.gw.settings.cors_origins:
            if allowed == "*" or origin == allowed:
                return True
            # An entry without a port admits the same scheme and host on any port.
            if origin.startswith(allowed + ":") and origin[len(allowed) + 1 :].isdigit():
                return True
        return False

    async def preflight(self, ctx: RequestContext, send: Send, origin: str) -> None:
        if not self.origin_allowed(origin):
            raise GatewayError(403, f"origin {origin} is not allowed (TRIAGE_CORS_ORIGINS)", code="origin_not_allowed")
        h = {**ctx.extra, "access-control-allow-methods": "GET, POST, PATCH, OPTIONS",
             "access-control-allow-headers": "authorization, content-type, x-api-key, anthropic-version, anthropic-beta, x-triage-quality, x-request-id",
             "access-control-max-age": "600"}  # fmt: skip
        await send_bytes(send, 204, b"", h)

    def check_auth(self, headers: dict[str, str], path: str) -> None:
        key = self.gw.settings.api_key
        if not key:
            return
        auth = headers.get("authorization", "")
        scheme = auth[:6].lower()
        if scheme == "bearer":
            given = auth[7:].strip()
        elif scheme == "basic ":
            # Browsers cannot send a bearer token when opening /dashboard: the key as the Basic password.
            try:
                given = base64.b64decode(auth[6:].strip(), validate=True).decode("utf-8", "replace").partition(":")[2]
            except (binascii.Error, ValueError):
                given = ""
        else:
            given = headers.get("x-api-key", "")
        if not hmac.compare_digest(given.encode(), key.encode()):
            challenge = {"www-authenticate": 'Basic realm="triage", charset="UTF-8"'} if path.startswith("/dashboard") else {}
            raise GatewayError(401, "missing or wrong API key for this gateway (send Authorization: Bearer <TRIAGE_API_KEY>)",
                               type="authentication_error", code="invalid_api_key", headers=challenge)  # fmt: skip


def create_app(settings: Settings, gateway: Gateway | None = None) -> TriageApp:
    app = TriageApp(gateway or Gateway(settings))
    _mount_optional_surfaces(app)
    return app


# Packages that add routes or observers to the app: each has ``mount(app: TriageApp)``.
MOUNTS = (
    "triage.surfaces.anthropic.handler",
    "triage.observe.metrics",
    "triage.observe.dashboard",
    "triage.observe.mcp_http",
    "triage.observe.traces",
)


def _mount_optional_surfaces(app: TriageApp) -> None:
    import importlib

    for name in MOUNTS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name and name.startswith(e.name):
                continue  # that surface is not part of this install
            # A surface that fails to load must not take the whole gateway down with it.
            print(f"triage: {name} not mounted: {type(e).__name__}: {e}", file=sys.stderr)
            continue
        try:
            module.mount(app)
        except Exception as e:  # noqa: BLE001 - same reason: report it, keep serving the rest
            print(f"triage: {name} not mounted: {type(e).__name__}: {e}", file=sys.stderr)


def banner(settings: Settings) -> str:
    lines = [f"triage: listening on http://{settings.host}:{settings.port}"]
    if settings.providers:
        lines.append("triage: providers: " + ", ".join(f"{n} ({p.base_url})" for n, p in settings.providers.items()))
    else:
        lines.append("triage: no provider is configured; completions will fail until one is")
    if settings.missing_keys:
        lines.append("triage: not configured (no key): " + ", ".join(settings.missing_keys))
    lines.append(f"triage: ledger: {'postgres' if settings.ledger_url.startswith('postgres') else settings.ledger_url}")
    return "\n".join(lines)


def print_banner(settings: Settings) -> None:
    print(banner(settings), file=sys.stderr, flush=True)

