"""OpenAI-compatible SSE streams: framed into chunk dicts, usage picked up on the way.

``feed`` parses every event. ``feed_passthrough`` (OpenAI client <- OpenAI-compatible
upstream) hands back the bytes of ordinary content events untouched and parses only the
events the gateway must act on: the first (id, created, model), any carrying usage or an
error, ``[DONE]``, and anything not framed as one ``data: {...}`` line.
"""

from __future__ import annotations

from typing import Any

import orjson

from triage.providers.base import ErrorClass, UpstreamError, Usage
from triage.providers.openai.response import usage_from


class OpenAIStreamTranslator:
    """Splits ``data: {...}\\n\\n`` events; ``[DONE]`` ends the stream; an ``error`` object raises."""

    __slots__ = ("usage", "_buf", "done", "_seen")

    def __init__(self) -> None:
        self.usage = Usage()
        self._buf = b""
        self.done = False
        self._seen = False  # passthrough: the first event was parsed

    def _split(self, data: bytes) -> list[bytes]:
        """The events that ``data`` completes (LF, CRLF or CR framing); a partial one is kept."""
        buf = self._buf + data if self._buf else data
        events: list[bytes] = []
        start = 0
        while True:
            end = buf.find(b"\n\n", start)
            if end < 0:
                # Some servers frame with \r\n\r\n; SSE also allows CR alone as a line end.
                end, width = buf.find(b"\r\n\r\n", start), 4
                if end < 0 and b"\n" not in buf:
                    end, width = buf.find(b"\r\r", start), 2
                if end < 0:
                    break
                events.append(buf[start:end])
                start = end + width
            else:
                events.append(buf[start:end])
                start = end + 2
        self._buf = buf[start:]
        return events

    def feed_passthrough(self, data: bytes, keep_usage: bool) -> list[bytes | dict[str, Any]]:
        """Like ``feed``, but an ordinary content event comes back as its own bytes
        (``data: {...}\n\n``, ready to forward). A trailing ``"usage":null`` member is cut
        from it unless ``keep_usage``; events that need more come back parsed, as in ``feed``."""
        out: list[bytes | dict[str, Any]] = []
        for event in self._split(data):
            if (
                self._seen and event[:7] == b"data: {" and b"\n" not in event and b"\r" not in event
                and b'"error"' not in event
            ):  # fmt: skip
                if b'"usage"' not in event:
                    out.append(event + b"\n\n")
                    continue
                if event.endswith(b',"usage":null}'):
                    out.append(event + b"\n\n" if keep_usage else event[:-14] + b"}\n\n")
                    continue
            chunk = self._event(event)
            if chunk is not None:
                self._seen = True
                out.append(chunk)
        return out

    def feed(self, data: bytes) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for event in self._split(data):
            chunk = self._event(event)
            if chunk is not None:
                out.append(chunk)
        return out
    def _event(self, event: bytes) -> dict[str, Any] | None:
        for line in event.splitlines():
            if not line.startswith(b"data:"):
                continue  # comments (": keep-alive"), event: and id: lines
            payload = line[5:].strip()
            if payload == b"[DONE]":
                self.done = True
                return None
            try:
                chunk = orjson.loads(payload)
            except orjson.JSONDecodeError:
                raise UpstreamError(ErrorClass.SERVER, "the upstream sent a stream event that is not JSON") from None
            if "error" in chunk and "choices" not in chunk:
                err = chunk["error"] or {}
                raise UpstreamError(ErrorClass.SERVER, str(err.get("message") or "upstream stream error"))
            u = chunk.get("usage")
            if u:
                self.usage = usage_from(u)
            return chunk
        return None

    def finish(self) -> list[dict[str, Any]]:
        rest = self._buf.strip()
        self._buf = b""
        if rest:
            chunk = self._event(rest)
            return [chunk] if chunk is not None else []
        return []
