"""The one pooled HTTP client the gateway sends every upstream call through.

Keep-alive HTTP/1.1 connections, pooled per (scheme, host, port), on asyncio protocols and
httptools (``triage.upstream.h1``; why not aiohttp: ``docs/decisions/upstream-client.md``).
TLS with the system's default trust store for https. No proxy from the environment, no
cookies, no compression asked for. Timeouts: ``connect``, ``first_byte`` (until the response
headers), ``idle`` (longest silence while reading a body or a stream) and ``total``.
Failures to reach a provider become ``UpstreamError`` with class CONNECTION or TIMEOUT; HTTP
errors are classified by the provider's adapter.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import AsyncIterator, Awaitable, Callable
from urllib.parse import urlsplit

from triage.config.settings import Timeouts
from triage.providers.base import ErrorClass, UpstreamError, UpstreamRequest
from triage.upstream.h1 import Connection, H1ConnectError, H1Error, H1Timeout, Pool

HOP_HEADER = "x-triage-hop"
# Framing headers are the client's to write; a caller's copy would corrupt the request.
_OWN_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection"})


class UpstreamResponse:
    """Headers have arrived; the body is read with ``read()`` or ``iter_chunks()``.

    ``headers`` is a dict with lower-cased names. The connection goes back to the pool as
    soon as the body has been read to its end; ``close()`` before that drops it.
    """

    __slots__ = ("_conn", "status", "headers", "_idle", "_done")

    def __init__(self, conn: Connection, idle: float) -> None:
        self._conn = conn
        self.status = conn.status
        self.headers = conn.headers
        self._idle = idle
        self._done = False

    async def read(self) -> bytes:
        conn = self._conn
        try:
            while not conn.complete:
                if conn.error is not None:
                    raise conn.error
                await conn.wait()
        except H1Error as e:
            raise self._failed(e, "the upstream went silent", "the upstream connection failed") from None
        data = conn.take()
        self.close()
        return data

    async def iter_chunks(self) -> AsyncIterator[bytes]:
        conn = self._conn
        while True:
            try:
                data = await conn.next_data()
            except H1Error as e:
                raise self._failed(e, "the upstream stream went silent", "the upstream stream broke") from None
            if not data:
                self.close()
                return
            yield data

    async def relay(self, sink: Callable[[bytes], bool], drain: Callable[[], Awaitable[None]]) -> None:
        """Hand the body to ``sink`` piece by piece, called from the connection's ``data_received``
        (no task wake-up, iterator step or future per read), until the body ends.

        ``sink`` returns True when its consumer is full: upstream reading then pauses until
        ``drain()`` returns. An exception from ``sink`` ends the relay and is raised here as is;
        the connection's own failures are raised as ``iter_chunks`` raises them.
        """
        conn = self._conn
        try:
            pending = conn.take()  # bytes that came with the head, before the sink was attached
            conn.sink = sink
            if pending and sink(pending):
                conn.pause()
            while True:
                if conn.sink_error is not None:
                    raise conn.sink_error
                if conn.complete:
                    rest = conn.take()  # a compressed body's decoder flush
                    if rest:
                        sink(rest)
                    self.close()
                    return
                if conn.error is not None:
                    raise conn.error
                if conn.paused:
                    await drain()
                    conn.resume()
                    continue
                await conn.wait()
        except H1Error as e:
            raise self._failed(e, "the upstream stream went silent", "the upstream stream broke") from None
        finally:
            conn.sink = None

    def _failed(self, e: H1Error, silent: str, broke: str) -> UpstreamError:
        """Release the connection (never reused) and say what happened, by class."""
        self.close()
        if isinstance(e, H1Timeout):
            return _timeout(e, f"{silent} for {self._idle:g}s")
        return UpstreamError(ErrorClass.CONNECTION, f"{broke}: {e}", status=502)

    def close(self) -> None:
        if not self._done:
            self._done = True
            self._conn.release()


def _timeout(e: H1Timeout, idle_message: str) -> UpstreamError:
    msg = idle_message if e.phase == "idle" else "the upstream call passed its total deadline"
    return UpstreamError(ErrorClass.TIMEOUT, msg, status=504)


def _head_timeout(phase: str, t: Timeouts) -> str:
    if phase == "connect":
        return f"cannot connect to the upstream within {t.connect:g}s"
    if phase == "total":
        return f"the upstream call passed its total deadline of {t.total:g}s"
    return f"no answer from the upstream within {t.first_byte:g}s"


class UpstreamClient:
    def __init__(self, timeouts: Timeouts, instance_id: str, ssl_context: ssl.SSLContext | None = None) -> None:
        self._timeouts = timeouts
        self._instance_id = instance_id
        self._ssl_given = ssl_context
        self._ssl: ssl.SSLContext | None = ssl_context
        self._pools: dict[tuple[str, str, int], Pool] = {}
        self._targets: dict[str, tuple[Pool, bytes]] = {}  # url -> (pool, b"POST /path HTTP/1.1\r\nhost: ...\r\n" prefix)
        self._hop = f"{HOP_HEADER}: {instance_id}\r\n"
        self._started = False

    async def start(self) -> None:
        if self._ssl is None:
            self._ssl = ssl.create_default_context()
        self._started = True

    async def close(self) -> None:
        for pool in self._pools.values():
            pool.close()
        self._pools.clear()
        self._targets.clear()
        self._started = False

    def _target(self, method: str, url: str) -> tuple[Pool, str]:
        key = method + " " + url
        hit = self._targets.get(key)
        if hit is not None:
            return hit  # type: ignore[return-value]
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https") or not parts.hostname:
            raise UpstreamError(ErrorClass.CONNECTION, f"cannot connect to the upstream: unsupported URL {url!r}", status=502)
        host = parts.hostname
        port = parts.port or (443 if scheme == "https" else 80)
        pool = self._pools.get((scheme, host, port))
        if pool is None:
            pool = Pool(asyncio.get_running_loop(), host, port, self._ssl if scheme == "https" else None)
            self._pools[(scheme, host, port)] = pool
        default = (scheme == "https" and port == 443) or (scheme == "http" and port == 80)
        host_header = (f"[{host}]" if ":" in host else host) + ("" if default else f":{port}")
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        prefix = f"{method} {path} HTTP/1.1\r\nhost: {host_header}\r\n"
        if len(self._targets) < 1024:
            self._targets[key] = (pool, prefix)  # type: ignore[assignment]
        return pool, prefix

    def _encode(self, prefix: str, req: UpstreamRequest) -> bytes:
        lines = [prefix, f"content-length: {len(req.body)}\r\n"]
        for k, v in req.headers.items():
            if k.lower() in _OWN_HEADERS:
                continue
            lines.append(f"{k}: {v}\r\n")
        lines.append(self._hop)
        lines.append("\r\n")
        head = "".join(lines)
        # A CR or LF inside a name or value would smuggle a header or a second request.
        n = len(lines) + 1  # the prefix holds two lines
        if head.count("\n") != n or head.count("\r") != n:
            raise UpstreamError(ErrorClass.CONNECTION, "the upstream connection failed: a header contains a line break", status=502)
        return head.encode("utf-8") + req.body

    async def send(self, req: UpstreamRequest) -> UpstreamResponse:
        assert self._started, "UpstreamClient.start() was not awaited"
        t = self._timeouts
        pool, prefix = self._target(req.method, req.url)
        data = self._encode(prefix, req)
        conn = pool.pooled()
        for attempt in (0, 1):
            reused = conn is not None
            try:
                if conn is None:
                    conn = await pool.connect(t.connect)
                conn.request(data, t.first_byte, t.idle, t.total)
                await conn.head()
            except H1Timeout as e:
                if conn is not None:
                    conn.abort()
                raise UpstreamError(ErrorClass.TIMEOUT, _head_timeout(e.phase, t), status=504) from None
            except H1ConnectError as e:
                raise UpstreamError(ErrorClass.CONNECTION, f"cannot connect to the upstream: {e}", status=502) from None
            except H1Error as e:
                stale = reused and not conn.received  # type: ignore[union-attr]
                if conn is not None:
                    conn.abort()
                if stale and attempt == 0:
                    conn = None  # a pooled connection the server had already closed: once more, fresh
                    continue
                raise UpstreamError(ErrorClass.CONNECTION, f"the upstream connection failed: {e}", status=502) from None
            except BaseException:  # cancelled (the client left): the half-used connection is dropped
                if conn is not None:
                    conn.abort()
                raise
            return UpstreamResponse(conn, t.idle)
        raise AssertionError("unreachable")  # pragma: no cover
