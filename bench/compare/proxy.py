"""Minimal JSON-proxying handlers, one per server framework and upstream client, for the comparisons.

Each handler does what a gateway's hot route must do at the least: read the body, parse it,
rewrite ``model``, serialise it, POST it to the upstream over a pooled keep-alive client,
parse the answer (for usage) and return it; streams are relayed chunk by chunk. The same
logic runs under uvicorn (raw ASGI), uvicorn + Starlette, granian (ASGI and RSGI) and
aiohttp.web, with aiohttp or httpx as the client, so only the variable under test changes.

Run: ``python -m bench.compare.proxy --server uvicorn --client aiohttp --port P --upstream URL``
(granian serves ``bench.compare.proxy:asgi_app`` / ``:rsgi_app``, configured through env).
"""

from __future__ import annotations

import argparse
import os
import sys

import orjson

UPSTREAM = os.environ.get("BENCH_UPSTREAM", "http://127.0.0.1:8001/v1")
CLIENT = os.environ.get("BENCH_CLIENT", "aiohttp")
JSON_CT = [(b"content-type", b"application/json")]


class Upstream:
    """A pooled keep-alive client, created lazily inside the running loop (one per process)."""

    def __init__(self, kind: str, base: str) -> None:
        self.kind, self.url = kind, base + "/chat/completions"
        self.client = None
        self.headers = {"authorization": "Bearer sk-bench", "content-type": "application/json"}

    def _ensure(self):
        if self.client is None:
            if self.kind == "aiohttp":
                import aiohttp

                self.client = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=512, keepalive_timeout=60),
                                                    skip_auto_headers=("User-Agent",))
            else:
                import httpx

                self.client = httpx.AsyncClient(limits=httpx.Limits(max_connections=512,
                                                                    max_keepalive_connections=512))
        return self.client

    async def post(self, body: bytes) -> tuple[int, bytes]:
        c = self._ensure()
        if self.kind == "aiohttp":
            async with c.post(self.url, data=body, headers=self.headers) as r:
                return r.status, await r.read()
        r = await c.post(self.url, content=body, headers=self.headers)
        return r.status_code, r.content

    async def stream(self, body: bytes):
        """Yields the status, then body chunks as they arrive."""
        c = self._ensure()
        if self.kind == "aiohttp":
            async with c.post(self.url, data=body, headers=self.headers) as r:
                yield r.status
                async for chunk in r.content.iter_any():
                    yield chunk
        else:
            async with c.stream("POST", self.url, content=body, headers=self.headers) as r:
                yield r.status_code
                async for chunk in r.aiter_raw():
                    yield chunk


_up: Upstream | None = None


def upstream() -> Upstream:
    global _up
    if _up is None:
        _up = Upstream(CLIENT, UPSTREAM)
    return _up


def prepare(raw: bytes) -> tuple[bytes, bool]:
    req = orjson.loads(raw)
    if req.get("model") == "auto":
        req["model"] = "gpt-5.4-mini"
    return orjson.dumps(req), bool(req.get("stream"))


def usage_of(data: bytes) -> dict | None:
    try:
        return orjson.loads(data).get("usage")
    except (orjson.JSONDecodeError, AttributeError):
        return None


# raw ASGI (uvicorn, granian --interface asgi) -------------------------------------------------
async def asgi_app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            msg = await receive()
            if msg["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif msg["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["path"] == "/health":
        await send({"type": "http.response.start", "status": 200, "headers": JSON_CT})
        await send({"type": "http.response.body", "body": b'{"status":"ok"}'})
        return
    chunks = []
    while True:
        msg = await receive()
        chunks.append(msg.get("body", b""))
        if not msg.get("more_body"):
            break
    body, stream = prepare(b"".join(chunks))
    if stream:
        it = upstream().stream(body)
        status = await it.__anext__()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"text/event-stream")]})
        async for chunk in it:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
        return
    status, data = await upstream().post(body)
    usage_of(data)
    await send({"type": "http.response.start", "status": status,
                "headers": [*JSON_CT, (b"content-length", str(len(data)).encode())]})
    await send({"type": "http.response.body", "body": data})


# granian RSGI ------------------------------------------------------------------------------
async def rsgi_app(scope, proto):
    if scope.path == "/health":
        proto.response_bytes(200, [("content-type", "application/json")], b'{"status":"ok"}')
        return
    body, stream = prepare(await proto())
    if stream:
        it = upstream().stream(body)
        status = await it.__anext__()
        tx = proto.response_stream(status, [("content-type", "text/event-stream")])
        async for chunk in it:
            await tx.send_bytes(chunk)
        return
    status, data = await upstream().post(body)
    usage_of(data)
    proto.response_bytes(status, [("content-type", "application/json")], data)


# Starlette on uvicorn -------------------------------------------------------------------------
def starlette_app():
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response, StreamingResponse
    from starlette.routing import Route

    async def health(request: Request) -> Response:
        return Response(b'{"status":"ok"}', media_type="application/json")

    async def chat(request: Request) -> Response:
        body, stream = prepare(await request.body())
        if stream:
            it = upstream().stream(body)
            status = await it.__anext__()
            return StreamingResponse(it, status_code=status, media_type="text/event-stream")
        status, data = await upstream().post(body)
        usage_of(data)
        return Response(data, status_code=status, media_type="application/json")

    return Starlette(routes=[Route("/health", health), Route("/v1/chat/completions", chat, methods=["POST"])])


# aiohttp.web ------------------------------------------------------------------------------------
def aiohttp_app():
    from aiohttp import web

    async def health(request):
        return web.Response(body=b'{"status":"ok"}', content_type="application/json")

    async def chat(request):
        body, stream = prepare(await request.read())
        if stream:
            it = upstream().stream(body)
            status = await it.__anext__()
            resp = web.StreamResponse(status=status, headers={"content-type": "text/event-stream"})
            await resp.prepare(request)
            async for chunk in it:
                await resp.write(chunk)
            await resp.write_eof()
            return resp
        status, data = await upstream().post(body)
        usage_of(data)
        return web.Response(body=data, status=status, content_type="application/json")

    app = web.Application()
    app.router.add_get("/health", health)
    app.router.add_post("/v1/chat/completions", chat)
    return app


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.compare.proxy")
    p.add_argument("--server", choices=("uvicorn", "starlette", "granian", "granian-rsgi", "aiohttp"),
                   default="uvicorn")
    p.add_argument("--client", choices=("aiohttp", "httpx"), default="aiohttp")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--upstream", required=True, help="base URL ending in /v1")
    a = p.parse_args(argv)
    os.environ["BENCH_UPSTREAM"], os.environ["BENCH_CLIENT"] = a.upstream, a.client
    global UPSTREAM, CLIENT
    UPSTREAM, CLIENT = a.upstream, a.client
    if a.server in ("uvicorn", "starlette"):
        import uvicorn

        app = asgi_app if a.server == "uvicorn" else starlette_app()
        uvicorn.run(app, host="127.0.0.1", port=a.port, loop="uvloop", http="httptools", log_level="warning",
                    access_log=False, lifespan="on" if a.server == "uvicorn" else "auto")
    elif a.server.startswith("granian"):
        iface = "rsgi" if a.server == "granian-rsgi" else "asgi"
        target = f"bench.compare.proxy:{iface}_app"
        os.execvp(sys.executable, [sys.executable, "-m", "granian", "--interface", iface, "--host", "127.0.0.1",
                                   "--port", str(a.port), "--loop", "uvloop", "--http", "1", "--workers", "1",
                                   "--no-ws", "--log-level", "warning", target])
    else:
        from aiohttp import web

        web.run_app(aiohttp_app(), host="127.0.0.1", port=a.port, access_log=None, print=None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
