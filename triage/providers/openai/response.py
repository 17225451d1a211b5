"""OpenAI-compatible responses and usage: the upstream's answer, read for usage only."""

from __future__ import annotations

from typing import Any

import orjson

from triage.providers.base import ErrorClass, UpstreamError, Usage, obj, tokens


def usage_from(u: Any) -> Usage:
    if not u:
        return Usage()
    u = obj(u)
    return Usage(
        input_tokens=tokens(u.get("prompt_tokens")),
        output_tokens=tokens(u.get("completion_tokens")),
        cached_input_tokens=tokens(obj(u.get("prompt_tokens_details")).get("cached_tokens")),
        reasoning_tokens=tokens(obj(u.get("completion_tokens_details")).get("reasoning_tokens")),
    )


def chat_response(data: bytes, model: str) -> tuple[dict[str, Any], Usage]:
    try:
        body = orjson.loads(data)
    except orjson.JSONDecodeError:
        raise UpstreamError(ErrorClass.SERVER, "the upstream answered with a body that is not JSON", status=502) from None
    if not isinstance(body, dict) or "choices" not in body:
        raise UpstreamError(ErrorClass.SERVER, "the upstream answered without choices", status=502)
    return body, usage_from(body.get("usage"))
