"""Keep-alive HTTP/1.1 client connections on asyncio protocols + httptools (the upstream hot path).

Owns the wire mechanics of one upstream call and the pools of idle connections:

- ``Connection``: one TCP (or TLS) connection. It writes a pre-built request and parses the
  response with httptools: content-length, chunked and read-until-close bodies, interim 1xx
  answers skipped, gzip/deflate decoded if a server compresses although we never ask it to.
  Reading is paused while more than ``HIGH_WATER`` bytes wait for a slow consumer.
- One timer per call does all timeouts: reads only stamp the time; the timer, when it fires,
  fails the call if the response head is later than ``first_byte``, the body has been silent
  for ``idle`` or the ``total`` deadline passed, and otherwise re-arms itself for the next
  deadline. A fast call creates one timer handle and cancels it.
- A ``sink`` (see ``UpstreamResponse.relay``) takes body bytes straight from ``data_received``
  instead of the buffer: a stream relayed that way costs no future, no task wake-up and no
  iterator step per upstream read. A sink that answers True is full: reading pauses until
  the relaying task has drained the consumer and calls ``resume()``.
- ``Pool``: idle connections per (scheme, host, port). A connection goes back only after a
  complete response that allows keep-alive; a dropped, half-read, timed-out or abandoned one
  is closed, never reused.

Errors are this module's own (``H1Error`` and subclasses); ``triage.upstream.client`` turns
them into the gateway's ``UpstreamError`` classes.
"""

from __future__ import annotations

import asyncio
import collections
import ssl
import zlib
from typing import Any, Callable

import httptools

HIGH_WATER = 1 << 20  # bytes buffered for the consumer before reading pauses
LOW_WATER = 1 << 16
KEEPALIVE_S = 60.0  # an idle pooled connection older than this is not reused


class H1Error(Exception):
    """The connection broke or the response could not be parsed."""


class H1ConnectError(H1Error):
    """The connection could not be opened (refused, DNS, TLS handshake)."""


class H1Timeout(H1Error):
    """A deadline passed; ``phase`` is connect, first_byte, idle or total."""

    def __init__(self, phase: str) -> None:
        super().__init__(phase)
        self.phase = phase


class Connection(asyncio.Protocol):
    """One keep-alive connection; at most one request in flight."""

    def __init__(self, pool: Pool) -> None:
        self.pool = pool
        self.loop = pool.loop
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.closed = False
        self.idle_since = 0.0
        self.status = 0
        self.headers: dict[str, str] = {}
        self._raw: list[tuple[bytes, bytes]] = []
        self.chunks: collections.deque[bytes] = collections.deque()
        self.buffered = 0
        self.paused = False
        self.head_done = False
        self.complete = False
        self.keep_alive = False
        self.received = False  # any byte of the current response arrived
        self.until_eof = False  # body delimited by the connection's close
        self.error: BaseException | None = None
        self.waiter: asyncio.Future[None] | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.last_read = 0.0
        self.total_at = 0.0
        self.head_at = 0.0
        self.idle = 0.0
        self.decoder: Any = None
        self.sink: Callable[[bytes], bool] | None = None
        self.sink_error: BaseException | None = None

    # --- the caller's side ----------------------------------------------------------------

    def request(self, data: bytes, first_byte: float, idle: float, total: float) -> None:
        now = self.loop.time()
        self.status, self.headers, self._raw = 0, {}, []
        self.head_done = self.complete = self.keep_alive = self.received = self.until_eof = False
        self.error, self.decoder, self.buffered = None, None, 0
        self.sink, self.sink_error = None, None
        self.chunks.clear()
        self.idle, self.total_at, self.head_at, self.last_read = idle, now + total, now + first_byte, now
        self.timer = self.loop.call_at(min(self.head_at, now + idle, self.total_at), self._on_timer)
        self.transport.write(data)  # type: ignore[union-attr]

    async def wait(self) -> None:
        """Until something changes (head, body data, end, error)."""
        self.waiter = fut = self.loop.create_future()
        try:
            await fut
        finally:
            self.waiter = None

    async def head(self) -> None:
        while not self.head_done:
            if self.error is not None:
                raise self.error
            await self.wait()

    def take(self) -> bytes:
        """All body bytes buffered so far (b"" if none)."""
        chunks = self.chunks
        if not chunks:
            return b""
        data = chunks.popleft() if len(chunks) == 1 else b"".join(chunks)
        chunks.clear()
        self.buffered = 0
        if self.paused and self.transport is not None:
            self.paused = False
            self.transport.resume_reading()
        return data

    async def next_data(self) -> bytes:
        """The next body bytes, b"" at the end of the body; raises the connection's error."""
        while True:
            if self.chunks:
                return self.take()
            if self.complete:
                return b""
            if self.error is not None:
                raise self.error
            await self.wait()

    def pause(self) -> None:
        """Stop reading (the consumer is full); the idle timeout is not counted meanwhile."""
        if not self.paused and self.transport is not None:
            self.paused = True
            self.transport.pause_reading()

    def resume(self) -> None:
        """Read again after a full sink was drained."""
        if self.paused and self.transport is not None:
            self.paused = False
            self.transport.resume_reading()

    def release(self) -> None:
        """Done with this response: back to the pool if it ended cleanly, else closed."""
        self._cancel_timer()
        if self.complete and self.keep_alive and not self.closed and not self.chunks:
            self.resume()  # a full sink may have paused reading on the response's last bytes
            self.idle_since = self.loop.time()
            self.pool.idle.append(self)
        else:
            self.abort()

    def abort(self) -> None:
        self._cancel_timer()
        if not self.closed:
            self.closed = True
            if self.transport is not None:
                self.transport.abort()

    # --- asyncio.Protocol -------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.received = True
        self.last_read = self.loop.time()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:  # pragma: no cover - we never ask to upgrade
            self._fail(H1Error("unexpected protocol upgrade"))
        except httptools.HttpParserError as e:
            self._fail(H1Error(f"malformed HTTP response: {e}"))
        except zlib.error:
            self._fail(H1Error("the response's compressed body is corrupt"))

    def eof_received(self) -> bool:
        return False  # close the transport; connection_lost decides what the EOF means

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self in self.pool.idle:
            self.pool.idle.remove(self)
        if self.complete or self.error is not None:
            return
        if self.until_eof and self.head_done and exc is None:
            self._flush_decoder()
            self.complete = True
            self.keep_alive = False
            self._cancel_timer()
            self._wake()
            return
        self._fail(H1Error(type(exc).__name__ if exc else "the server closed the connection"), close=False)

    def pause_writing(self) -> None:  # requests are small; nothing to pause
        pass

    def resume_writing(self) -> None:
        pass

    # --- httptools callbacks ----------------------------------------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        self._raw.append((name, value))

    def on_headers_complete(self) -> None:
        status = self.parser.get_status_code()
        if 100 <= status < 200:  # interim answer (100 Continue, 103 Early Hints): wait for the real one
            self._raw = []
            return
        self.status = status
        self.headers = h = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in self._raw}
        self._raw = []
        te = h.get("transfer-encoding", "")
        self.until_eof = "content-length" not in h and "chunked" not in te.lower() and status not in (204, 304)
        enc = h.get("content-encoding", "").strip().lower()
        if enc in ("gzip", "x-gzip", "deflate"):
            self.decoder = zlib.decompressobj(47 if enc == "deflate" else 31)
        self.head_done = True
        self._wake()

    def on_body(self, body: bytes) -> None:
        if self.decoder is not None:
            body = self.decoder.decompress(body)
            if not body:
                return
        sink = self.sink
        if sink is not None:
            try:
                full = sink(body)
            except BaseException as e:  # the consumer's failure, not the connection's: the relay re-raises it
                self.sink, self.sink_error, full = None, e, True
            if full:
                self.pause()
                self._wake()
            return
        self.chunks.append(body)
        self.buffered += len(body)
        if self.buffered > HIGH_WATER and not self.paused and self.transport is not None:
            self.paused = True
            self.transport.pause_reading()
        self._wake()

    def on_message_complete(self) -> None:
        if not self.head_done:
            return  # the end of an interim 1xx answer
        self._flush_decoder()
        self.complete = True
        self.keep_alive = self.parser.should_keep_alive()
        self._cancel_timer()
        self._wake()

    # --- internals --------------------------------------------------------------------------

    def _flush_decoder(self) -> None:
        if self.decoder is not None:
            rest = self.decoder.flush()
            if rest:
                self.chunks.append(rest)

    def _wake(self) -> None:
        w = self.waiter
        if w is not None and not w.done():
            w.set_result(None)

    def _fail(self, err: BaseException, close: bool = True) -> None:
        if self.error is None:
            self.error = err
        self._cancel_timer()
        if close:
            self.abort()
        self.closed = True
        self._wake()

    def _cancel_timer(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def _on_timer(self) -> None:
        """The one timer of a call: fail the call if a deadline passed, else re-arm for the next."""
        self.timer = None
        if self.complete or self.error is not None:
            return
        now = self.loop.time() + 0.001  # timers may fire a hair early
        if now >= self.total_at:
            self._fail(H1Timeout("total"))
            return
        if not self.head_done:
            if now >= self.head_at:
                self._fail(H1Timeout("first_byte"))
                return
            at = self.head_at
        elif self.paused:  # the consumer is slow, not the server: look again later
            at = now + self.idle
        elif now >= self.last_read + self.idle:
            self._fail(H1Timeout("idle"))
            return
        else:
            at = self.last_read + self.idle
        self.timer = self.loop.call_at(min(at, self.total_at), self._on_timer)


class Pool:
    """Idle keep-alive connections to one (scheme, host, port)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, host: str, port: int, ssl_ctx: ssl.SSLContext | None) -> None:
        self.loop = loop
        self.host, self.port, self.ssl = host, port, ssl_ctx
        self.idle: list[Connection] = []

    def pooled(self) -> Connection | None:
        """The most recently used live idle connection, or None."""
        idle = self.idle
        while idle:
            c = idle.pop()
            if not c.closed and self.loop.time() - c.idle_since < KEEPALIVE_S:
                return c
            c.abort()
        return None

    async def connect(self, timeout: float) -> Connection:
        try:
            async with asyncio.timeout(timeout):
                _, conn = await self.loop.create_connection(
                    lambda: Connection(self), self.host, self.port, ssl=self.ssl, server_hostname=self.host if self.ssl else None
                )
        except TimeoutError:
            raise H1Timeout("connect") from None
        except ssl.SSLError as e:
            raise H1ConnectError(f"TLS handshake failed: {e.reason or e}") from None
        except OSError as e:
            raise H1ConnectError(e.strerror or type(e).__name__) from None
        return conn

    def close(self) -> None:
        while self.idle:
            self.idle.pop().abort()
