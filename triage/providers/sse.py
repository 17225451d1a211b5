"""Incremental server-sent-events decoder for upstream streams.

Owns splitting a byte stream that arrives in arbitrary pieces into complete events
(``event:`` name and joined ``data:`` lines), per the WHATWG SSE parsing rules: LF, CRLF or CR
line ends (Gemini uses CRLF), comment lines, multi-line data. Knows nothing about any
provider's JSON; never buffers a complete event (each is returned as soon as its blank line
arrives).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class Event:
    event: str | None
    data: str


class SSEDecoder:
    def __init__(self) -> None:
        self._buf = b""
        self._event: str | None = None
        self._data: list[str] = []

    def feed(self, chunk: bytes) -> list[Event]:
        buf = self._buf + chunk if self._buf else chunk
        out: list[Event] = []
        if b"\r" not in buf:
            # LF-only lines (Anthropic, OpenAI): one split instead of a find and a slice per line.
            lines = buf.split(b"\n")
            self._buf = lines.pop()  # the line not ended yet (b"" when the piece ended one)
            for raw in lines:
                ev = self._line(raw.decode("utf-8"))
                if ev is not None:
                    out.append(ev)
            return out
        self._buf = buf
        while True:
            cut = self._line_end()
            if cut is None:
                return out
            end, width = cut
            line = self._buf[:end].decode("utf-8")
            self._buf = self._buf[end + width :]
            ev = self._line(line)
            if ev is not None:
                out.append(ev)

    def flush(self) -> list[Event]:
        """Events completed by the end of the stream (a last event without its blank line)."""
        out: list[Event] = []
        if self._buf:
            ev = self._line(self._buf.decode("utf-8"))
            self._buf = b""
            if ev is not None:
                out.append(ev)
        ev = self._line("")
        if ev is not None:
            out.append(ev)
        return out

    def _line_end(self) -> tuple[int, int] | None:
        lf, cr = self._buf.find(b"\n"), self._buf.find(b"\r")
        if cr == -1 or (lf != -1 and lf < cr):
            return (lf, 1) if lf != -1 else None
        if cr + 1 == len(self._buf):
            return None  # wait: the \n of a CRLF may be in the next piece
        return (cr, 2) if self._buf[cr + 1] == 10 else (cr, 1)

    def _line(self, line: str) -> Event | None:
        if line == "":
            if not self._data and self._event is None:
                return None
            ev = Event(self._event, "\n".join(self._data))
            self._event, self._data = None, []
            return ev
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        return None
