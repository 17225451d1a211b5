"""Gemini ``streamGenerateContent?alt=sse`` -> OpenAI ``chat.completion.chunk`` dicts.

Owns the mapping of Gemini's stream (each SSE event is a whole ``GenerateContentResponse``
holding the next parts) to deltas: text parts -> ``content``, thought parts ->
``reasoning_content``, each ``functionCall`` part -> one ``tool_calls`` delta with its own
index, a stable id and the complete arguments (Gemini sends a call whole, never in pieces);
the finish reason when a candidate carries one; a trailing usage chunk at the end. An
``{"error": ...}`` event raises ``UpstreamError``. Nothing is buffered. Pure: no I/O.
"""

from __future__ import annotations

import json
import time
from typing import Any

from triage.providers.base import ErrorClass, UpstreamError, Usage
from triage.providers.gemini.errors import classify_body
from triage.providers.gemini.response import finish_reason, to_usage, tool_call
from triage.providers.shapes import chunk, usage_chunk
from triage.providers.sse import SSEDecoder


class GeminiStreamTranslator:
    def __init__(self, model: str, provider: str = "gemini") -> None:
        self.model = model
        self.provider = provider
        self.usage = Usage()
        self._sse = SSEDecoder()
        self._id: str | None = None
        self._created = int(time.time())
        self._started = False
        self._calls = 0
        self._finished = False

    def feed(self, data: bytes) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for ev in self._sse.feed(data):
            if ev.data:
                out.extend(self._response(json.loads(ev.data)))
        return out

    def finish(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for ev in self._sse.flush():
            if ev.data:
                out.extend(self._response(json.loads(ev.data)))
        if not self._started:
            raise UpstreamError(ErrorClass.SERVER, "Gemini stream ended without a response", status=502, provider=self.provider)
        if not self._finished:
            out.append(self._chunk({}, "tool_calls" if self._calls else "stop"))
        out.append(usage_chunk(self._id or "gemini-stream", self._created, self.model, self.usage))
        return out

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return chunk(self._id or "gemini-stream", self._created, self.model, delta, finish)

    def _response(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        if "error" in data:
            raise classify_body(data, {}, self.provider, data["error"].get("code") or 500)
        out: list[dict[str, Any]] = []
        if not self._started:
            self._started = True
            self._id = data.get("responseId") or self._id
            self.model = data.get("modelVersion") or self.model
            out.append(self._chunk({"role": "assistant", "content": ""}))
        if data.get("usageMetadata"):
            self.usage = to_usage(data["usageMetadata"])
        candidates = data.get("candidates") or []
        if not candidates:
            if (data.get("promptFeedback") or {}).get("blockReason") and not self._finished:
                self._finished = True
                out.append(self._chunk({}, "content_filter"))
            return out
        cand = candidates[0]
        for part in (cand.get("content") or {}).get("parts") or []:
            if "functionCall" in part:
                call = tool_call(part, self._id, self._calls)
                call["index"] = self._calls
                self._calls += 1
                out.append(self._chunk({"tool_calls": [call]}))
            elif part.get("text"):
                key = "reasoning_content" if part.get("thought") else "content"
                out.append(self._chunk({key: part["text"]}))
        reason = finish_reason(cand.get("finishReason"), self._calls > 0)
        if reason and not self._finished:
            self._finished = True
            out.append(self._chunk({}, reason))
        return out
