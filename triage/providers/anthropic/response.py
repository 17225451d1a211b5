"""Anthropic Message -> OpenAI ``chat.completion`` (internal format), and usage -> ``Usage``.

Owns the meaning of Anthropic's stop reasons and usage fields in OpenAI terms, and keeps
thinking blocks intact (``thinking_blocks``, signatures included) so a later turn can send
them back. Pure: parses bytes it is given; never sends, logs or reads configuration.
"""

from __future__ import annotations

import json
import time
from typing import Any

from triage.providers.base import Usage, obj, tokens
from triage.providers.shapes import openai_usage

# https://docs.anthropic.com/en/api/handling-stop-reasons
FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}


def finish_reason(stop_reason: str | None) -> str | None:
    if stop_reason is None:
        return None
    return FINISH_REASONS.get(stop_reason, "stop")


def to_usage(u: Any) -> Usage:
    """Anthropic's ``input_tokens`` excludes cache reads and writes; ``Usage`` counts all."""
    u = obj(u)
    reads = tokens(u.get("cache_read_input_tokens"))
    writes = tokens(u.get("cache_creation_input_tokens"))
    return Usage(
        input_tokens=tokens(u.get("input_tokens")) + reads + writes,
        output_tokens=tokens(u.get("output_tokens")),
        cached_input_tokens=reads,
        cache_write_tokens=writes,
        reasoning_tokens=tokens(obj(u.get("output_tokens_details")).get("thinking_tokens")),
    )


def to_chat_completion(msg: dict[str, Any], model: str) -> tuple[dict[str, Any], Usage]:
    texts: list[str] = []
    thinking_text: list[str] = []
    thinking_blocks: list[dict[str, Any]] = []
    tool_calls: list[dict[str, Any]] = []
    for block in msg.get("content") or []:
        btype = block.get("type")
        if btype == "text":
            texts.append(block["text"])
        elif btype == "tool_use":
            tool_calls.append({"id": block["id"], "type": "function",
                               "function": {"name": block["name"], "arguments": json.dumps(block.get("input") or {}, ensure_ascii=False)}})
        elif btype == "thinking":
            thinking_text.append(block.get("thinking", ""))
            thinking_blocks.append({"type": "thinking", "thinking": block.get("thinking", ""), "signature": block.get("signature", "")})
        elif btype == "redacted_thinking":
            thinking_blocks.append({"type": "redacted_thinking", "data": block["data"]})
    message: dict[str, Any] = {"role": "assistant", "content": "".join(texts) if texts else None}
    if tool_calls:
        message["tool_calls"] = tool_calls
    if thinking_blocks:
        message["thinking_blocks"] = thinking_blocks
        message["reasoning_content"] = "".join(thinking_text)
    usage = to_usage(msg.get("usage") or {})
    completion = {
        "id": msg.get("id") or "msg_unknown",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": msg.get("model") or model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason(msg.get("stop_reason")) or "stop", "logprobs": None}],
        "usage": openai_usage(usage),
    }
    if msg.get("stop_sequence"):
        completion["choices"][0]["stop_sequence"] = msg["stop_sequence"]
    return completion, usage
