"""The fast fake upstream: OpenAI and Anthropic wire formats on a raw asyncio protocol.

One process, uvloop + httptools, responses pre-serialised per model, delays and stream pacing
done with ``loop.call_later`` (no task per request), so a single core serves well over ten
thousand small requests a second and is never the bottleneck of a gateway benchmark.

Routes: ``POST /v1/chat/completions`` (OpenAI, JSON or SSE), ``POST /v1/messages``
(Anthropic, JSON or SSE), ``GET /v1/models``, ``GET /health``, and two for the harness:
``POST /_control`` (change delay / chunks / interval / fault rates at run time) and
``GET /_stats`` (counters). Fault injection: ``fail_rate`` answers an error in the provider's
shape, ``cut_rate`` drops a stream's connection halfway, ``slow_rate`` adds ``slow_delay``.

Run: ``python -m bench.upstream --port 0`` prints ``READY <port>`` once listening.
HTTP pipelining is not supported (no client in this harness pipelines).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import sys
import time

import httptools
import orjson

from bench.wire import anthropic_events, anthropic_message, openai_chunks, openai_completion, openai_error

_REASONS = {200: b"OK", 400: b"Bad Request", 404: b"Not Found", 429: b"Too Many Requests",
            500: b"Internal Server Error", 503: b"Service Unavailable", 529: b"Overloaded"}
FAIL_STATUSES = (500, 503, 429)


class Settings:
    """Mutable knobs, shared by all connections; ``/_control`` updates them."""

    FIELDS = ("delay", "chunks", "interval", "fail_rate", "cut_rate", "slow_rate", "slow_delay")

    def __init__(self, **kw: float) -> None:
        self.delay = 0.0  # seconds before the response (or before the first stream event)
        self.chunks = 50  # content deltas per stream
        self.interval = 0.0  # seconds between stream events
        self.fail_rate = 0.0
        self.cut_rate = 0.0
        self.slow_rate = 0.0
        self.slow_delay = 1.0
        self.update(kw)

    def update(self, values: dict) -> None:
        for key, value in values.items():
            if key in self.FIELDS and value is not None:
                setattr(self, key, int(value) if key == "chunks" else float(value))

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.FIELDS}


class Stats:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.requests = self.streams = self.failed = self.cut = self.slow = 0

    def as_dict(self) -> dict:
        return {"requests": self.requests, "streams": self.streams, "failed": self.failed,
                "cut": self.cut, "slow": self.slow}


def _head(status: int, ctype: bytes, length: int | None, keep_alive: bool) -> bytes:
    parts = [b"HTTP/1.1 %d %s\r\n" % (status, _REASONS.get(status, b"Status")),
             b"content-type: ", ctype, b"\r\n"]
    if length is None:
        parts.append(b"transfer-encoding: chunked\r\ncache-control: no-cache\r\n")
    else:
        parts.append(b"content-length: %d\r\n" % length)
    if not keep_alive:
        parts.append(b"connection: close\r\n")
    parts.append(b"\r\n")
    return b"".join(parts)


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


class Upstream:
    """The responder: pre-serialised bodies per (dialect, model), counters and settings."""

    def __init__(self, settings: Settings, seed: int = 1) -> None:
        self.settings = settings
        self.stats = Stats()
        self.rng = random.Random(seed)
        self._cache: dict[tuple, object] = {}
        self._models = orjson.dumps({"object": "list", "data": [
            {"id": m, "object": "model", "created": 1700000000, "owned_by": "bench"}
            for m in ("gpt-5.4", "gpt-5.4-mini", "gpt-5.4-nano", "gpt-4.1-mini")]})

    def _body(self, kind: str, model: str, chunks: int, usage: bool):
        key = (kind, model, chunks, usage)
        hit = self._cache.get(key)
        if hit is None:
            if kind == "openai":
                hit = openai_completion(model)
            elif kind == "openai-stream":
                hit = [_chunk(e) for e in openai_chunks(model, chunks, usage)]
            elif kind == "anthropic":
                hit = anthropic_message(model)
            else:
                hit = [_chunk(e) for e in anthropic_events(model, chunks)]
            if len(self._cache) > 256:
                self._cache.clear()
            self._cache[key] = hit
        return hit


class Conn(asyncio.Protocol):
    """One client connection; parses with httptools and answers via ``Upstream``."""

    def __init__(self, up: Upstream) -> None:
        self.up = up
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpRequestParser(self)
        self.url = b""
        self.body: list[bytes] = []
        self.closed = False

    # asyncio callbacks
    def connection_made(self, transport) -> None:
        self.transport = transport

    def connection_lost(self, exc) -> None:
        self.closed = True

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self._send(400, b"application/json", openai_error(400, "bad request"), False)

    # httptools callbacks
    def on_message_begin(self) -> None:
        self.url = b""
        self.body = []

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        keep = self.parser.should_keep_alive()
        method = self.parser.get_method()
        path = self.url.split(b"?", 1)[0]
        up = self.up
        if method == b"POST" and path in (b"/v1/chat/completions", b"/v1/messages"):
            self._completion(path == b"/v1/messages", keep)
        elif path == b"/v1/models":
            self._send(200, b"application/json", up._models, keep)
        elif path == b"/health":
            self._send(200, b"application/json", b'{"status":"ok"}', keep)
        elif path == b"/_stats":
            self._send(200, b"application/json", orjson.dumps(
                {**up.stats.as_dict(), "settings": up.settings.as_dict()}), keep)
        elif path == b"/_control" and method == b"POST":
            values = orjson.loads(b"".join(self.body) or b"{}")
            if values.pop("reset", False):
                up.stats.reset()
            up.settings.update(values)
            self._send(200, b"application/json", orjson.dumps(up.settings.as_dict()), keep)
        else:
            self._send(404, b"application/json", openai_error(404, "no such route"), keep)

    # responding
    def _send(self, status: int, ctype: bytes, body: bytes, keep: bool) -> None:
        if self.closed:
            return
        self.transport.write(_head(status, ctype, len(body), keep) + body)
        if not keep:
            self.transport.close()

    def _completion(self, anthropic: bool, keep: bool) -> None:
        up, s = self.up, self.up.settings
        up.stats.requests += 1
        try:
            req = orjson.loads(b"".join(self.body))
            model = str(req.get("model") or "unknown")
            stream = bool(req.get("stream"))
            usage = bool((req.get("stream_options") or {}).get("include_usage"))
        except (orjson.JSONDecodeError, AttributeError):
            self._send(400, b"application/json", openai_error(400, "body is not JSON"), keep)
            return
        rng = up.rng
        delay = s.delay
        if s.slow_rate and rng.random() < s.slow_rate:
            up.stats.slow += 1
            delay += s.slow_delay
        if s.fail_rate and rng.random() < s.fail_rate:
            up.stats.failed += 1
            status = 529 if anthropic and rng.random() < 0.5 else FAIL_STATUSES[up.stats.failed % 3]
            body = openai_error(status, "injected failure", anthropic=anthropic)
            self._later(delay, self._send, status, b"application/json", body, keep)
            return
        if not stream:
            body = up._body("anthropic" if anthropic else "openai", model, 0, False)
            self._later(delay, self._send, 200, b"application/json", body, keep)
            return
        up.stats.streams += 1
        events = up._body("anthropic-stream" if anthropic else "openai-stream", model, s.chunks, usage)
        cut_at = len(events) // 2 if (s.cut_rate and rng.random() < s.cut_rate) else -1
        if cut_at >= 0:
            up.stats.cut += 1
        head = _head(200, b"text/event-stream", None, keep)
        self._later(delay, self._stream, head, events, 0, cut_at, s.interval, keep)

    def _later(self, delay: float, fn, *args) -> None:
        if delay > 0:
            self.transport.pause_reading()
            self.loop.call_later(delay, self._resume_then, fn, args)
        else:
            fn(*args)

    def _resume_then(self, fn, args) -> None:
        if not self.closed:
            self.transport.resume_reading()
            fn(*args)

    def _stream(self, head: bytes, events: list, i: int, cut_at: int, interval: float, keep: bool) -> None:
        if self.closed:
            return
        t = self.transport
        if head:
            t.write(head)
        if interval <= 0:  # burst: everything now
            stop = cut_at if cut_at >= 0 else len(events)
            t.write(b"".join(events[i:stop]))
            i = stop
        else:
            t.write(events[i])
            i += 1
            if i != cut_at and i < len(events):
                t.pause_reading()
                self.loop.call_later(interval, self._stream, b"", events, i, cut_at, interval, keep)
                return
        if i == cut_at:
            t.abort()  # a cut stream: the connection drops mid-body, no terminating chunk
            return
        t.write(b"0\r\n\r\n")
        t.resume_reading()
        if not keep:
            t.close()


async def serve(host: str, port: int, settings: Settings, seed: int, ready_fd=None) -> None:
    loop = asyncio.get_running_loop()
    up = Upstream(settings, seed)
    server = await loop.create_server(lambda: Conn(up), host, port, backlog=4096, reuse_address=True)
    bound = server.sockets[0].getsockname()[1]
    print(f"READY {bound}", file=ready_fd or sys.stdout, flush=True)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


def run_fast(coro):
    """Run a coroutine on uvloop when it is installed (it is a gateway dependency)."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover
        return asyncio.run(coro)
    return uvloop.run(coro)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.upstream", description=__doc__.split("\n\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--delay", type=float, default=0.0, help="seconds before each response / first event")
    p.add_argument("--chunks", type=int, default=50, help="content deltas per stream")
    p.add_argument("--interval", type=float, default=0.0, help="seconds between stream events")
    p.add_argument("--fail-rate", type=float, default=0.0, help="share of requests answered 500/503/429/529")
    p.add_argument("--cut-rate", type=float, default=0.0, help="share of streams cut halfway")
    p.add_argument("--slow-rate", type=float, default=0.0, help="share of requests slowed by --slow-delay")
    p.add_argument("--slow-delay", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=int(time.time()) & 0xFFFF)
    return p


def main(argv: list[str] | None = None) -> int:
    a = build_parser().parse_args(argv)
    settings = Settings(delay=a.delay, chunks=a.chunks, interval=a.interval, fail_rate=a.fail_rate,
                        cut_rate=a.cut_rate, slow_rate=a.slow_rate, slow_delay=a.slow_delay)
    if a.host not in ("127.0.0.1", "localhost", "::1"):
        print("the fake upstream only listens on loopback", file=sys.stderr)
        return 2
    run_fast(serve(a.host, a.port, settings, a.seed))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
