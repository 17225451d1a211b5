"""The dashboard at ``/dashboard`` and the JSON read endpoints behind it.

Routes (all behind the gateway's API key when one is set, like every path but /health):

- ``GET /dashboard`` and its assets ``/dashboard/app.js``, ``/dashboard/app.css``: static
  files shipped in ``triage/observe/static/`` (no CDN, no external library; the charts are
  inline SVG drawn by ``app.js``). A strict Content-Security-Policy: nothing but 'self'.
- ``GET /v1/dashboard/data?range=&bucket=&model=&provider=&key=&tz=&limit=``: one refresh.
- ``GET /v1/requests/recent?limit=&after=&model=&provider=&key=``: for ``triage tail``.
- ``GET /v1/stats/by?period=&by=``: grouped totals for the MCP ``get_stats`` tool.
"""

from __future__ import annotations

import asyncio
from importlib import resources
from typing import TYPE_CHECKING, Any, Awaitable, Callable
from urllib.parse import parse_qs

from triage.observe import views
from triage.server.asgi import Receive, Send, send_bytes, send_json
from triage.server.errors import GatewayError

if TYPE_CHECKING:
    from triage.server.app import TriageApp
    from triage.server.context import RequestContext
    from triage.server.state import Gateway

ASSETS = {
    "/dashboard": ("index.html", b"text/html; charset=utf-8"),
    "/dashboard/": ("index.html", b"text/html; charset=utf-8"),
    "/dashboard/app.js": ("app.js", b"text/javascript; charset=utf-8"),
    "/dashboard/app.css": ("app.css", b"text/css; charset=utf-8"),
}
SECURITY_HEADERS = {
    "content-security-policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-cache",
}


def read_asset(name: str) -> bytes:
    return resources.files("triage.observe").joinpath("static", name).read_bytes()


def asset_handler(body: bytes, content_type: bytes) -> Callable[..., Awaitable[None]]:
    async def handler(gw: "Gateway", ctx: "RequestContext", receive: Receive, send: Send) -> None:
        await send_bytes(send, 200, body, {**ctx.extra, **SECURITY_HEADERS}, content_type)

    return handler


async def _read(gw: "Gateway", fn: Callable[..., Any], *args: Any) -> Any:
    await gw.writer.flush()  # what this gateway just answered is visible at once
    try:
        return await asyncio.to_thread(fn, *args)
    except views.BadQuery as e:
        raise GatewayError(400, str(e), param=e.param, code="invalid_query") from None


async def data(gw: "Gateway", ctx: "RequestContext", receive: Receive, send: Send, query: str = "") -> None:
    body = await _read(gw, views.dashboard_data, gw.settings, gw.catalog, gw.writer.store, parse_qs(query))
    await send_json(send, 200, body, {**ctx.extra, "cache-control": "no-store"})


async def recent(gw: "Gateway", ctx: "RequestContext", receive: Receive, send: Send, query: str = "") -> None:
    body = await _read(gw, views.recent, gw.settings, gw.writer.store, parse_qs(query))
    await send_json(send, 200, body, {**ctx.extra, "cache-control": "no-store"})


async def stats_by(gw: "Gateway", ctx: "RequestContext", receive: Receive, send: Send, query: str = "") -> None:
    q = parse_qs(query)
    period = (q.get("period") or ["week"])[0]
    by = (q.get("by") or [""])[0] or None
    body = await _read(gw, views.stats, gw.settings, gw.catalog, gw.writer.store, period, by)
    await send_json(send, 200, body, ctx.extra)


def mount(app: "TriageApp") -> None:
    for path, (name, ctype) in ASSETS.items():
        app.add_route("GET", path, asset_handler(read_asset(name), ctype), "admin", ledgered=False)
    for path, handler in (("/v1/dashboard/data", data), ("/v1/requests/recent", recent), ("/v1/stats/by", stats_by)):
        app.add_route("GET", path, handler, "admin", ledgered=False)
        app.query_handlers.add(handler)
