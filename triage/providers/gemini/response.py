"""Gemini ``GenerateContentResponse`` -> OpenAI ``chat.completion`` (internal format).

Owns the meaning of Gemini's finish reasons, prompt blocks and ``usageMetadata`` in OpenAI
terms, and the tool call ids Gemini does not give: a call without an ``id`` gets a stable one
derived from the response id, its position and its name (so the same response always yields
the same ids, and ids never repeat across responses). A call's thought signature is kept in the
tool call's ``provider_specific_fields.thought_signature`` for the next turn. Pure.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from typing import Any

from triage.providers.base import Usage, obj, tokens
from triage.providers.shapes import openai_usage

# https://ai.google.dev/api/generate-content#FinishReason
_FILTERED = {"SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY",
             "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION"}


def finish_reason(reason: str | None, has_calls: bool) -> str | None:
    if reason is None or reason == "FINISH_REASON_UNSPECIFIED":
        return None
    if reason in _FILTERED:
        return "content_filter"
    if reason == "MAX_TOKENS":
        return "length"
    # Gemini says STOP after function calls too; OpenAI clients look for tool_calls.
    return "tool_calls" if has_calls else "stop"


def call_id(response_id: str | None, index: int, name: str) -> str:
    if not response_id:
        return "call_" + uuid.uuid4().hex[:24]
    return "call_" + hashlib.sha256(f"{response_id}:{index}:{name}".encode()).hexdigest()[:24]


def to_usage(meta: Any) -> Usage:
    """``promptTokenCount`` already includes cached tokens; output is candidates + thoughts,
    as Gemini bills thinking as output."""
    meta = obj(meta)
    thoughts = tokens(meta.get("thoughtsTokenCount"))
    return Usage(
        input_tokens=tokens(meta.get("promptTokenCount")) + tokens(meta.get("toolUsePromptTokenCount")),
        output_tokens=tokens(meta.get("candidatesTokenCount")) + thoughts,
        cached_input_tokens=tokens(meta.get("cachedContentTokenCount")),
        reasoning_tokens=thoughts,
    )


def tool_call(part: dict[str, Any], response_id: str | None, index: int) -> dict[str, Any]:
    fc = part["functionCall"]
    call: dict[str, Any] = {"id": fc.get("id") or call_id(response_id, index, fc["name"]), "type": "function",
                            "function": {"name": fc["name"], "arguments": json.dumps(fc.get("args") or {}, ensure_ascii=False)}}
    if part.get("thoughtSignature"):
        call["provider_specific_fields"] = {"thought_signature": part["thoughtSignature"]}
    return call


def to_chat_completion(data: dict[str, Any], model: str) -> tuple[dict[str, Any], Usage]:
    rid = data.get("responseId")
    candidates = data.get("candidates") or []
    cand = candidates[0] if candidates else {}
    texts, thoughts, calls = [], [], []
    for part in (cand.get("content") or {}).get("parts") or []:
        if "functionCall" in part:
            calls.append(tool_call(part, rid, len(calls)))
        elif "text" in part:
            (thoughts if part.get("thought") else texts).append(part["text"])
    message: dict[str, Any] = {"role": "assistant", "content": "".join(texts) if texts else None}
    if calls:
        message["tool_calls"] = calls
    if thoughts:
        message["reasoning_content"] = "".join(thoughts)
    if not candidates and (data.get("promptFeedback") or {}).get("blockReason"):
        reason = "content_filter"  # the prompt itself was blocked
    else:
        reason = finish_reason(cand.get("finishReason"), bool(calls)) or "stop"
    usage = to_usage(data.get("usageMetadata") or {})
    completion = {
        "id": rid or "gemini-" + uuid.uuid4().hex[:24],
        "object": "chat.completion",
        "created": int(time.time()),
        "model": data.get("modelVersion") or model,
        "choices": [{"index": 0, "message": message, "finish_reason": reason, "logprobs": None}],
        "usage": openai_usage(usage),
    }
    return completion, usage
