"""The smallest ASGI helpers the handlers need: read a bounded body, send JSON or SSE."""

from __future__ import annotations

from typing import Any, Awaitable, Callable, MutableMapping

import orjson

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class BodyTooLargeError(Exception):
    pass


class ClientGoneError(Exception):
    pass


async def read_body(receive: Receive, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        msg = await receive()
        if msg["type"] == "http.disconnect":
            raise ClientGoneError()
        chunk = msg.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > limit:
                raise BodyTooLargeError()
            chunks.append(chunk)
        if not msg.get("more_body", False):
            break
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def header_list(headers: dict[str, str], content_type: bytes) -> list[tuple[bytes, bytes]]:
    out = [(b"content-type", content_type)]
    out.extend((k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items())
    return out


async def send_bytes(send: Send, status: int, body: bytes, headers: dict[str, str], content_type: bytes = b"application/json") -> None:
    h = header_list(headers, content_type)
    h.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": h})
    await send({"type": "http.response.body", "body": body})


async def send_json(send: Send, status: int, obj: Any, headers: dict[str, str]) -> None:
    await send_bytes(send, status, orjson.dumps(obj), headers)


def request_headers(scope: Scope) -> dict[str, str]:
    """Lower-cased header names; a repeated header keeps its last value."""
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", ())}


def raw_stream_cycle(send: Send) -> Any:
    """uvicorn's httptools ``RequestResponseCycle`` behind ``send``, when a streamed body may be
    written to its transport directly (chunked framing, response started and not finished);
    else None (another server, a wrapped ``send``, HEAD, a length-delimited body).

    Why: uvicorn's ``send`` is a coroutine with message checks per call; a relayed stream
    writes from the upstream connection's ``data_received`` instead (``chat.stream_answer``).
    The cycle's ``transport``, ``flow`` (write back-pressure) and ``disconnected`` are what
    ``send`` itself uses; the response's start and end still go through ``send``.
    """
    cycle = getattr(send, "__self__", None)
    if cycle is None or _HttpToolsCycle is None or cycle.__class__ is not _HttpToolsCycle:
        return None
    try:
        usable = (
            cycle.response_started and not cycle.response_complete and cycle.chunked_encoding is True
            and not cycle.disconnected and cycle.scope.get("method") != "HEAD"
            and cycle.transport is not None and hasattr(cycle.flow, "write_paused") and hasattr(cycle.flow, "drain")
        )  # fmt: skip
    except AttributeError:  # a uvicorn whose cycle looks different: the ASGI path
        return None
    return cycle if usable else None


try:
    from uvicorn.protocols.http.httptools_impl import RequestResponseCycle as _HttpToolsCycle
except ImportError:  # pragma: no cover - uvicorn or httptools not installed: always the ASGI path
    _HttpToolsCycle = None
