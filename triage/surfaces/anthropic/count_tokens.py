"""``/v1/messages/count_tokens`` estimation for requests that are not passed to Anthropic.

Owns a deterministic estimate of a Messages request's input tokens: about 4 characters per
token over every text, tool definition and tool input, a fixed cost per image (Anthropic's
~1,600-token ceiling for a full-size image) and per message. It is an estimate, never a
tokenizer; a named Claude model gets Anthropic's own count through the pass-through. Pure.
"""

from __future__ import annotations

import json
from typing import Any

CHARS_PER_TOKEN = 4
IMAGE_TOKENS = 1600
DOCUMENT_TOKENS = 1500
MESSAGE_OVERHEAD = 3


def _chars(content: Any) -> tuple[int, int]:
    """(characters of text, tokens of media) in a content value."""
    if isinstance(content, str):
        return len(content), 0
    chars = media = 0
    for b in content or []:
        if not isinstance(b, dict):
            continue
        t = b.get("type")
        if t == "text":
            chars += len(b.get("text", ""))
        elif t == "image":
            media += IMAGE_TOKENS
        elif t == "document":
            media += DOCUMENT_TOKENS
        elif t == "tool_use":
            chars += len(b.get("name", "")) + len(json.dumps(b.get("input") or {}))
        elif t == "tool_result":
            c, m = _chars(b.get("content", ""))
            chars, media = chars + c, media + m
        elif t == "thinking":
            chars += len(b.get("thinking", ""))
    return chars, media


def estimate_input_tokens(body: dict[str, Any]) -> int:
    chars, media = _chars(body.get("system") or "")
    overhead = 0
    for m in body.get("messages") or []:
        c, md = _chars(m.get("content"))
        chars, media, overhead = chars + c, media + md, overhead + MESSAGE_OVERHEAD
    for t in body.get("tools") or []:
        chars += len(json.dumps(t))
    return max(1, -(-chars // CHARS_PER_TOKEN) + media + overhead)
