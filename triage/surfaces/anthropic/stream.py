"""Internal ``chat.completion.chunk`` dicts -> Anthropic Messages SSE bytes, chunk by chunk.

Owns the exact event sequence an Anthropic client expects
(https://docs.anthropic.com/en/docs/build-with-claude/streaming): ``message_start``, ``ping``,
then per content block ``content_block_start`` / ``content_block_delta`` (``text_delta``,
``input_json_delta``, ``thinking_delta``, ``signature_delta``) / ``content_block_stop``, then
``message_delta`` (stop reason, cumulative usage) and ``message_stop``. Blocks are opened and
closed as the kind of delta changes; each parallel tool call becomes its own ``tool_use``
block. Nothing is held back. Usage is only known at the end for translated streams, so
``message_start`` carries zero input tokens and ``message_delta`` the real totals. Pure.
"""

from __future__ import annotations

from typing import Any

import orjson

from triage.surfaces.anthropic.errors import stream_error_event
from triage.surfaces.anthropic.response import anthropic_usage, message_id, stop_reason


def event(name: str, data: dict[str, Any]) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


class AnthropicStreamWriter:
    def __init__(self, model: str) -> None:
        self.model = model
        self._started = False
        self._index = -1  # index of the open block, or of the last one
        self._open: str | None = None  # type of the open block
        self._tools: dict[int, int] = {}  # OpenAI tool call index -> block index
        self._finish: str | None = None
        self._stop_sequence: str | None = None
        self._usage: dict[str, Any] | None = None
        self._done = False

    def _start(self, cid: str | None) -> bytes:
        self._started = True
        msg = {"id": message_id(cid), "type": "message", "role": "assistant", "model": self.model, "content": [],
               "stop_reason": None, "stop_sequence": None,
               "usage": {"input_tokens": 0, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, "output_tokens": 0}}
        return event("message_start", {"type": "message_start", "message": msg}) + event("ping", {"type": "ping"})

    def _close(self) -> bytes:
        if self._open is None:
            return b""
        self._open = None
        return event("content_block_stop", {"type": "content_block_stop", "index": self._index})

    def _open_block(self, kind: str, block: dict[str, Any]) -> bytes:
        out = self._close()
        self._index += 1
        self._open = kind
        return out + event("content_block_start", {"type": "content_block_start", "index": self._index, "content_block": block})

    def _delta(self, delta: dict[str, Any], index: int | None = None) -> bytes:
        return event("content_block_delta", {"type": "content_block_delta", "index": self._index if index is None else index, "delta": delta})

    def feed(self, chunk: dict[str, Any]) -> bytes:
        out = b"" if self._started else self._start(chunk.get("id"))
        if chunk.get("usage"):
            self._usage = chunk["usage"]
        for choice in chunk.get("choices") or []:
            out += self._choice(choice)
        return out

    def _choice(self, choice: dict[str, Any]) -> bytes:
        out = b""
        delta = choice.get("delta") or {}
        if delta.get("reasoning_content"):
            if self._open != "thinking":
                out += self._open_block("thinking", {"type": "thinking", "thinking": "", "signature": ""})
            out += self._delta({"type": "thinking_delta", "thinking": delta["reasoning_content"]})
        for block in delta.get("thinking_blocks") or []:
            if block.get("type") == "thinking":
                # Its text was streamed as reasoning_content; what is left to send is the signature.
                if self._open != "thinking":
                    out += self._open_block("thinking", {"type": "thinking", "thinking": "", "signature": ""})
                    if block.get("thinking"):
                        out += self._delta({"type": "thinking_delta", "thinking": block["thinking"]})
                if block.get("signature"):
                    out += self._delta({"type": "signature_delta", "signature": block["signature"]})
                out += self._close()
            elif block.get("type") == "redacted_thinking":
                out += self._open_block("redacted_thinking", dict(block)) + self._close()
        if delta.get("content"):
            if self._open != "text":
                out += self._open_block("text", {"type": "text", "text": ""})
            out += self._delta({"type": "text_delta", "text": delta["content"]})
        for call in delta.get("tool_calls") or []:
            idx = call.get("index", 0)
            fn = call.get("function") or {}
            if idx not in self._tools:
                out += self._open_block("tool_use", {"type": "tool_use", "id": call.get("id") or f"toolu_{idx}", "name": fn.get("name", ""), "input": {}})
                self._tools[idx] = self._index
            if fn.get("arguments"):
                out += self._delta({"type": "input_json_delta", "partial_json": fn["arguments"]}, self._tools[idx])
        if choice.get("finish_reason"):
            self._finish = choice["finish_reason"]
            self._stop_sequence = choice.get("stop_sequence") or self._stop_sequence
            out += self._close()
        return out

    def finish(self, usage: dict[str, Any] | None = None) -> bytes:
        """``message_delta`` and ``message_stop``; ``usage`` (OpenAI shape) if the caller has it."""
        if self._done:
            return b""
        self._done = True
        out = (b"" if self._started else self._start(None)) + self._close()
        delta = {"stop_reason": stop_reason(self._finish, self._stop_sequence), "stop_sequence": self._stop_sequence}
        out += event("message_delta", {"type": "message_delta", "delta": delta, "usage": anthropic_usage(usage or self._usage)})
        return out + event("message_stop", {"type": "message_stop"})

    def error(self, status: int, message: str) -> bytes:
        self._done = True
        return (b"" if self._started else self._start(None)) + stream_error_event(status, message)
