"""Internal ``chat.completion`` -> Anthropic ``Message``.

Owns the reverse mapping for Anthropic clients: content blocks in Anthropic's order (thinking,
text, tool_use), ``stop_reason`` from the finish reason, and usage split back into
``input_tokens`` (uncached), ``cache_read_input_tokens`` and ``cache_creation_input_tokens``.
Pure. A finish reason of ``stop`` is ``end_turn`` unless the answer names its stop sequence
(only Anthropic upstreams do: OpenAI and Gemini do not say which stop ended a reply).
"""

from __future__ import annotations

import json
import re
from typing import Any

from triage.providers.base import obj, tokens

STOP_REASONS = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use", "function_call": "tool_use",
                "content_filter": "refusal"}


def message_id(raw: str | None) -> str:
    if raw and raw.startswith("msg_"):
        return raw
    return "msg_" + re.sub(r"[^a-zA-Z0-9]", "", raw or "")[-24:] if raw else "msg_translated"


def tool_input(arguments: Any) -> dict[str, Any]:
    if isinstance(arguments, dict):
        return arguments
    try:
        value = json.loads(arguments) if arguments else {}
    except ValueError:
        return {"arguments": arguments}  # a model's broken JSON, kept visible rather than lost
    return value if isinstance(value, dict) else {"value": value}


def anthropic_usage(usage: Any) -> dict[str, int]:
    u = obj(usage)  # an upstream's usage, passed through: read defensively
    details = obj(u.get("prompt_tokens_details"))
    reads = tokens(details.get("cached_tokens"))
    writes = tokens(details.get("cache_write_tokens"))
    return {"input_tokens": max(0, tokens(u.get("prompt_tokens")) - reads - writes),
            "cache_creation_input_tokens": writes, "cache_read_input_tokens": reads,
            "output_tokens": tokens(u.get("completion_tokens"))}


def stop_reason(finish: str | None, stop_sequence: str | None) -> str:
    if stop_sequence:
        return "stop_sequence"
    return STOP_REASONS.get(finish or "stop", "end_turn")


def to_anthropic_response(resp: dict[str, Any], model: str) -> dict[str, Any]:
    choice = (resp.get("choices") or [{}])[0]
    msg = choice.get("message") or {}
    content: list[dict[str, Any]] = []
    blocks = msg.get("thinking_blocks")
    if blocks:
        content.extend(dict(b) for b in blocks)
    elif msg.get("reasoning_content"):
        # Reasoning from a non-Anthropic model: shown as thinking, but unsigned (it cannot be
        # replayed to Anthropic; the Anthropic adapter drops unsigned thinking on the way back).
        content.append({"type": "thinking", "thinking": msg["reasoning_content"], "signature": ""})
    text = msg.get("content")
    if isinstance(text, list):
        text = "".join(p.get("text", "") for p in text if isinstance(p, dict))
    if text:
        content.append({"type": "text", "text": text})
    for call in msg.get("tool_calls") or []:
        fn = call.get("function") or {}
        content.append({"type": "tool_use", "id": call.get("id") or "toolu_missing", "name": fn.get("name", ""),
                        "input": tool_input(fn.get("arguments"))})
    stop_seq = choice.get("stop_sequence")
    return {"id": message_id(resp.get("id")), "type": "message", "role": "assistant", "model": model, "content": content,
            "stop_reason": stop_reason(choice.get("finish_reason"), stop_seq), "stop_sequence": stop_seq,
            "usage": anthropic_usage(resp.get("usage"))}
