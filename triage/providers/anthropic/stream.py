"""Anthropic Messages SSE stream -> OpenAI ``chat.completion.chunk`` dicts, event by event.

Owns the event mapping (https://docs.anthropic.com/en/docs/build-with-claude/streaming):
``message_start`` -> a role chunk; ``text_delta`` -> ``content``; ``tool_use`` block start and
``input_json_delta`` -> ``tool_calls`` deltas with the call's id and its own index (parallel
calls stay apart); ``thinking_delta`` -> ``reasoning_content``; a finished thinking block (with
its signature) or a redacted one -> a ``thinking_blocks`` delta, so a client can send it back;
``message_delta`` -> the finish reason; ``message_stop`` -> the final chunk, then a usage chunk
(``choices: []``, as OpenAI's ``include_usage``). Nothing is held back: every delta becomes a
chunk as soon as its event is complete. Pure: no I/O.
"""

from __future__ import annotations

import json
import time
from typing import Any

import orjson

from triage.providers.anthropic.errors import stream_error
from triage.providers.anthropic.response import finish_reason, to_usage
from triage.providers.base import ErrorClass, UpstreamError, Usage, obj
from triage.providers.shapes import chunk, usage_chunk
from triage.providers.sse import Event, SSEDecoder


class AnthropicStreamTranslator:
    def __init__(self, model: str, provider: str = "anthropic") -> None:
        self.model = model
        self.provider = provider
        self.usage = Usage()
        self._raw_usage: dict[str, Any] = {}
        self._sse = SSEDecoder()
        self._id = "msg_stream"
        self._created = int(time.time())
        self._blocks: dict[int, dict[str, Any]] = {}  # Anthropic block index -> state
        self._tool_count = 0
        self._finish: str | None = None
        self._stop_sequence: str | None = None
        self._done = False

    def feed(self, data: bytes) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for ev in self._sse.feed(data):
            out.extend(self._event(ev))
        return out

    def finish(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for ev in self._sse.flush():
            out.extend(self._event(ev))
        if not self._done:
            raise UpstreamError(ErrorClass.SERVER, "Anthropic stream ended before message_stop", status=502, provider=self.provider)
        return out

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return chunk(self._id, self._created, self.model, delta, finish)

    def _set_usage(self, u: dict[str, Any]) -> None:
        # message_delta usage is cumulative: it overwrites, and absent fields keep message_start's.
        self._raw_usage.update({k: v for k, v in obj(u).items() if v is not None})
        self.usage = to_usage(self._raw_usage)

    def _event(self, ev: Event) -> list[dict[str, Any]]:
        if not ev.data:
            return []
        payload = orjson.loads(ev.data)
        etype = payload.get("type") or ev.event
        if etype == "message_start":
            msg = payload.get("message") or {}
            self._id = msg.get("id") or self._id
            self.model = msg.get("model") or self.model
            self._set_usage(msg.get("usage") or {})
            return [self._chunk({"role": "assistant", "content": ""})]
        if etype == "content_block_start":
            return self._block_start(payload["index"], payload.get("content_block") or {})
        if etype == "content_block_delta":
            return self._block_delta(payload["index"], payload.get("delta") or {})
        if etype == "content_block_stop":
            block = self._blocks.get(payload["index"]) or {}
            if block.get("type") == "thinking":
                return [self._chunk({"thinking_blocks": [{"type": "thinking", "thinking": "".join(block["text"]), "signature": block["signature"]}]})]
            return []
        if etype == "message_delta":
            delta = payload.get("delta") or {}
            if delta.get("stop_reason"):
                self._finish = finish_reason(delta["stop_reason"])
                self._stop_sequence = delta.get("stop_sequence")
            self._set_usage(payload.get("usage") or {})
            return []
        if etype == "message_stop":
            self._done = True
            final = self._chunk({}, self._finish or "stop")
            if self._stop_sequence:
                final["choices"][0]["stop_sequence"] = self._stop_sequence
            return [final, usage_chunk(self._id, self._created, self.model, self.usage)]
        if etype == "error":
            raise stream_error(payload, self.provider)
        return []  # ping and event types added later are ignored, as the API versioning asks

    def _block_start(self, index: int, block: dict[str, Any]) -> list[dict[str, Any]]:
        btype = block.get("type")
        state: dict[str, Any] = {"type": btype}
        self._blocks[index] = state
        if btype == "text":
            return [self._chunk({"content": block["text"]})] if block.get("text") else []
        if btype == "tool_use":
            state["tool_index"] = self._tool_count
            self._tool_count += 1
            call = {"index": state["tool_index"], "id": block["id"], "type": "function", "function": {"name": block["name"], "arguments": ""}}
            out = [self._chunk({"tool_calls": [call]})]
            if block.get("input"):  # a complete input in the start event (not sent by the API today)
                out.append(self._args(state, json.dumps(block["input"])))
            return out
        if btype == "thinking":
            state["text"], state["signature"] = [block.get("thinking", "")], block.get("signature", "")
            return [self._chunk({"reasoning_content": block["thinking"]})] if block.get("thinking") else []
        if btype == "redacted_thinking":
            return [self._chunk({"thinking_blocks": [{"type": "redacted_thinking", "data": block["data"]}]})]
        return []

    def _args(self, state: dict[str, Any], partial: str) -> dict[str, Any]:
        return self._chunk({"tool_calls": [{"index": state["tool_index"], "function": {"arguments": partial}}]})

    def _block_delta(self, index: int, delta: dict[str, Any]) -> list[dict[str, Any]]:
        state = self._blocks.get(index) or {}
        dtype = delta.get("type")
        if dtype == "text_delta":
            return [self._chunk({"content": delta["text"]})] if delta.get("text") else []
        if dtype == "input_json_delta":
            return [self._args(state, delta["partial_json"])] if delta.get("partial_json") else []
        if dtype == "thinking_delta":
            state.setdefault("text", []).append(delta["thinking"])
            return [self._chunk({"reasoning_content": delta["thinking"]})] if delta.get("thinking") else []
        if dtype == "signature_delta":
            state["signature"] = delta["signature"]
        return []
