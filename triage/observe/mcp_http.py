"""MCP over streamable HTTP at ``/mcp`` on the gateway (the SDK's own transport).

Mounts the SDK's session manager behind the gateway's dispatch, so ``/mcp`` gets the same
Host check, CORS and API key as every other path. The SDK is imported on the first ``/mcp``
request, not at start (it costs about a second of start-up that most gateways never use);
its session manager's task group then lives in one background task until the gateway
closes (a ``Gateway.on_close`` hook stops it).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
from typing import TYPE_CHECKING, Any

from triage.server.asgi import Message, Receive, Send

if TYPE_CHECKING:
    from triage.server.app import TriageApp
    from triage.server.context import RequestContext
    from triage.server.state import Gateway

PATH = "/mcp"


class LazyMCP:
    """The SDK's streamable HTTP ASGI app, built and started on first use."""

    def __init__(self, gw: "Gateway") -> None:
        self.gw = gw
        self.asgi: Any = None
        self._lock = asyncio.Lock()
        self._stop: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None

    async def get(self) -> Any:
        if self.asgi is not None:
            return self.asgi
        async with self._lock:
            if self.asgi is None:
                self.asgi = await self._start()
        return self.asgi

    async def _start(self) -> Any:
        mod = await asyncio.to_thread(importlib.import_module, "triage.observe.mcp_server")
        from mcp.server.fastmcp.server import StreamableHTTPASGIApp

        server = mod.build_server(mod.GatewayBackend(self.gw), streamable_http_path=PATH)
        server.streamable_http_app()  # creates the session manager
        ready, self._stop = asyncio.Event(), asyncio.Event()
        stop = self._stop

        async def run() -> None:
            async with server.session_manager.run():  # its task group is entered and left in this task
                ready.set()
                await stop.wait()

        self._task = asyncio.get_running_loop().create_task(run())
        waiter = asyncio.ensure_future(ready.wait())
        await asyncio.wait({waiter, self._task}, return_when=asyncio.FIRST_COMPLETED)
        if not ready.is_set():
            waiter.cancel()
            self._task.result()  # raises why the session manager could not start
        return StreamableHTTPASGIApp(server.session_manager)

    async def close(self) -> None:
        if self._task is not None and self._stop is not None:
            self._stop.set()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(self._task, 5)


def mount(app: "TriageApp") -> None:
    mcp = LazyMCP(app.gw)
    app.gw.on_close.append(mcp.close)

    def handler_for(method: str) -> Any:
        async def handler(gw: "Gateway", ctx: "RequestContext", receive: Receive, send: Send) -> None:
            asgi = await mcp.get()
            # The app's handlers get the parsed headers, not the scope: rebuild the part the SDK reads.
            scope = {
                "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
                "path": PATH, "raw_path": PATH.encode(), "root_path": "", "query_string": b"",
                "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in ctx.headers.items()],
                "client": None, "server": None,
            }  # fmt: skip
            extra = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in ctx.extra.items()]

            async def send_with_ids(msg: Message) -> None:
                if msg["type"] == "http.response.start":
                    msg = {**msg, "headers": [*msg.get("headers", []), *extra]}
                await send(msg)

            await asgi(scope, receive, send_with_ids)

        return handler

    for method in ("POST", "GET", "DELETE"):
        app.add_route(method, PATH, handler_for(method), "mcp", ledgered=False)
