"""The Python load client: keep-alive HTTP/1.1 connections on raw asyncio protocols + httptools.

Used when wrk is absent (and always for streams, where time to first byte and SSE event
counts are needed). One ``Protocol`` per connection sends the pre-built request bytes again
the moment the previous response completes: no per-request allocation beyond the parser's
callbacks, no task per request. Runs are bounded by duration and request count and only ever
target loopback. ``decisions/loadgen`` shows it drives the fake upstream far faster than a
gateway can answer, so it is not the bottleneck.
"""

from __future__ import annotations

import asyncio
import random
import time
from urllib.parse import urlsplit

import httptools

from bench.stats import summarize_latencies

perf = time.perf_counter


def build_request(url: str, body: bytes, headers: dict[str, str] | None = None) -> tuple[str, int, bytes]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise ValueError("load is only ever sent to loopback")
    extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    head = (f"POST {parts.path or '/'} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n{extra}\r\n").encode()
    return host, port, head + body


class _Run:
    def __init__(self, request: bytes, deadline: float, max_requests: int, sse: bool, ramp_s: float = 0.0) -> None:
        self.request = request
        self.ramp_s = ramp_s
        self.deadline = deadline
        self.max_requests = max_requests
        self.sse = sse
        self.latencies: list[float] = []
        self.ttfb: list[float] = []
        self.events = 0
        self.sent = 0
        self.ok = 0
        self.status_errors = 0
        self.conn_errors = 0
        self.statuses: dict[int, int] = {}
        self.done = asyncio.get_running_loop().create_future()
        self.open = 0

    def may_send(self) -> bool:
        return self.sent < self.max_requests and perf() < self.deadline

    def conn_closed(self) -> None:
        self.open -= 1
        if self.open <= 0 and not self.done.done():
            self.done.set_result(None)


class _Conn(asyncio.Protocol):
    def __init__(self, run: _Run) -> None:
        self.run = run
        self.parser = httptools.HttpResponseParser(self)
        self.t0 = 0.0
        self.first = True
        self.tail = b""
        self.in_flight = False
        self.transport = None

    def connection_made(self, transport) -> None:
        self.transport = transport
        self.run.open += 1
        if self.run.ramp_s > 0:  # this connection's first request at a random point of the ramp
            asyncio.get_running_loop().call_later(random.uniform(0, self.run.ramp_s), self.send)
        else:
            self.send()

    def send(self) -> None:
        run = self.run
        if not run.may_send():
            self.transport.close()
            return
        run.sent += 1
        self.in_flight = True
        self.first = True
        self.tail = b""
        self.t0 = perf()
        self.transport.write(run.request)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self.run.conn_errors += 1
            self.in_flight = False
            self.transport.close()

    def on_body(self, body: bytes) -> None:
        run = self.run
        if self.first:
            self.first = False
            run.ttfb.append(perf() - self.t0)
        if run.sse:  # count SSE events ("\n\n" separators), including one split across reads
            run.events += body.count(b"\n\n") + (1 if self.tail == b"\n" and body[:1] == b"\n" else 0)
            self.tail = body[-1:]

    def on_message_complete(self) -> None:
        run = self.run
        run.latencies.append(perf() - self.t0)
        status = self.parser.get_status_code()
        run.statuses[status] = run.statuses.get(status, 0) + 1
        if 200 <= status < 400:
            run.ok += 1
        else:
            run.status_errors += 1
        self.in_flight = False
        if self.parser.should_keep_alive():
            self.send()
        else:
            self.transport.close()

    def connection_lost(self, exc) -> None:
        if self.in_flight:
            self.run.conn_errors += 1
        self.run.conn_closed()


async def _drive(url: str, body: bytes, connections: int, duration_s: float, max_requests: int,
                 headers: dict[str, str] | None, sse: bool, timeout_s: float, ramp_s: float = 0.0) -> _Run:
    host, port, request = build_request(url, body, headers)
    loop = asyncio.get_running_loop()
    run = _Run(request, perf() + duration_s, max_requests, sse, ramp_s)
    conns = []
    for _ in range(connections):
        try:
            _, proto = await loop.create_connection(lambda: _Conn(run), host, port)
            conns.append(proto)
        except OSError:
            run.conn_errors += 1
    if not conns:
        return run
    try:
        await asyncio.wait_for(asyncio.shield(run.done), duration_s + timeout_s)
    except asyncio.TimeoutError:
        for c in conns:
            if c.in_flight:
                run.conn_errors += 1
                c.in_flight = False
            c.transport.abort()
    return run


def run_load(url: str, body: bytes, connections: int, duration_s: float, max_requests: int = 10_000_000,
             headers: dict[str, str] | None = None, sse: bool = False, timeout_s: float = 5.0,
             ramp_ms: int = 0) -> dict:
    """A bounded closed-loop load; returns the same shape as ``bench.wrk.parse_output`` plus TTFB.
    With ``ramp_ms``, each connection sends its first request after a uniform random 0..ramp_ms."""
    from bench.upstream import run_fast

    t0 = perf()
    run = run_fast(_drive(url, body, connections, duration_s, max_requests, headers, sse, timeout_s,
                                ramp_ms / 1000))
    dur = perf() - t0
    done = len(run.latencies)
    out = {
        "requests": done,
        "ok": run.ok,
        "errors": run.status_errors + run.conn_errors,
        "error_detail": {"status": run.status_errors, "connection": run.conn_errors},
        "duration_s": round(dur, 4),
        "rps": round(done / dur, 2) if dur else None,
        "ok_rps": round(run.ok / dur, 2) if dur else None,
        **summarize_latencies(run.latencies),
        "loadgen": "python",
    }
    out.pop("samples", None)
    if run.ttfb:
        t = summarize_latencies(run.ttfb)
        out.update({"ttfb_p50_ms": t["p50_ms"], "ttfb_p90_ms": t["p90_ms"], "ttfb_p99_ms": t["p99_ms"]})
    if sse:
        out["events"] = run.events
    return out
