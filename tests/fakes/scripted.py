"""Shared scaffolding for the fake upstream servers: request recording and reply scripts.

Owns the test-control endpoints every fake exposes (``GET /_requests``, ``POST /_reset``,
``POST /_script``) and the process entry point that binds 127.0.0.1 on a free port and
announces it on stdout. It knows nothing about any provider's wire format; each fake
(``anthropic_server.py``, ``gemini_server.py``) brings its own routes and validation.

Runs only inside a fake's own process; tests talk to it over HTTP (see ``launch.py``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any, Awaitable, Callable

from aiohttp import web

Handler = Callable[[web.Request, "Recorder"], Awaitable[web.StreamResponse]]


class Recorder:
    """Every request the fake received, and the queue of scripted replies still to give."""

    def __init__(self, api_key: str) -> None:
        self.api_key = api_key
        self.requests: list[dict[str, Any]] = []
        self.scripts: list[dict[str, Any]] = []

    def record(self, request: web.Request, raw: bytes) -> dict[str, Any]:
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = None
        entry = {
            "method": request.method,
            "path": request.path,
            "query": dict(request.query),
            "headers": {k.lower(): v for k, v in request.headers.items()},
            "body": body,
            "raw": raw.decode("utf-8", "replace") if body is None else None,
        }
        self.requests.append(entry)
        return entry

    def next_script(self) -> dict[str, Any] | None:
        return self.scripts.pop(0) if self.scripts else None


def control_routes(app: web.Application, recorder: Recorder) -> None:
    async def get_requests(_: web.Request) -> web.Response:
        return web.json_response(recorder.requests)

    async def reset(_: web.Request) -> web.Response:
        recorder.requests.clear()
        recorder.scripts.clear()
        return web.json_response({"ok": True})

    async def script(request: web.Request) -> web.Response:
        data = await request.json()
        # A list queues several replies (consumed one per API call, in order).
        recorder.scripts.extend(data if isinstance(data, list) else [data])
        return web.json_response({"queued": len(recorder.scripts)})

    app.router.add_get("/_requests", get_requests)
    app.router.add_post("/_reset", reset)
    app.router.add_post("/_script", script)


def serve(build: Callable[[Recorder], web.Application], default_key: str) -> None:
    """Entry point of a fake's process: bind a free port, print ``LISTENING <port>``, serve."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--key", default=default_key)
    args = parser.parse_args()

    async def main() -> None:
        recorder = Recorder(args.key)
        app = build(recorder)
        control_routes(app, recorder)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", args.port)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        print(f"LISTENING {port}", flush=True)
        await asyncio.Event().wait()

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass


def sse(event: str | None, data: Any) -> bytes:
    """One server-sent event; ``event`` None writes a data-only event (Gemini's style)."""
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


def split_text(text: str, n: int) -> list[str]:
    """Split ``text`` into ``n`` non-empty pieces (fewer if it is shorter than ``n``)."""
    n = max(1, min(n, len(text))) if text else 1
    size, rem = divmod(len(text), n)
    out, pos = [], 0
    for i in range(n):
        step = size + (1 if i < rem else 0)
        out.append(text[pos : pos + step])
        pos += step
    return out


def apply_stop(text: str, stops: list[str]) -> tuple[str, str | None]:
    """Cut ``text`` at the first stop sequence it contains, as a real model stops there."""
    best: tuple[int, str] | None = None
    for s in stops:
        i = text.find(s) if s else -1
        if i >= 0 and (best is None or i < best[0]):
            best = (i, s)
    return (text[: best[0]], best[1]) if best else (text, None)
