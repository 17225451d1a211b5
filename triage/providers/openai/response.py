"""OpenAI-compatible responses and usage: the upstream's answer, read for usage only."""

from __future__ import annotations

from typing import Any

import orjson

from triage.providers.base import ErrorClass, UpstreamError, Usage


def usage_from(u: dict[str, Any] | None) -> Usage:
    if not u:
        return Usage()
    prompt_details = u.get("prompt_tokens_details") or {}
    completion_details = u.get("completion_tokens_details") or {}
    return Usage(
        input_tokens=int(u.get("prompt_tokens") or 0),
        output_tokens=int(u.get("completion_tokens") or 0),
        cached_input_tokens=int(prompt_details.get("cached_tokens") or 0),
        reasoning_tokens=int(completion_details.get("reasoning_tokens") or 0),
    )


def chat_response(data: bytes, model: str) -> tuple[dict[str, Any], Usage]:
    try:
        body = orjson.loads(data)
    except orjson.JSONDecodeError:
        raise UpstreamError(ErrorClass.SERVER, "the upstream answered with a body that is not JSON", status=502) from None
    if not isinstance(body, dict) or "choices" not in body:
        raise UpstreamError(ErrorClass.SERVER, "the upstream answered without choices", status=502)
    return body, usage_from(body.get("usage"))
