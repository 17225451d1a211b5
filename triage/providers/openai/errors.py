"""OpenAI-compatible error classification, by status and the error body's type/code."""

from __future__ import annotations

from typing import Mapping

import orjson

from triage.providers.base import ErrorClass, UpstreamError, retry_after_seconds


def classify_error(status: int, headers: Mapping[str, str], data: bytes, provider: str) -> UpstreamError:
    message, etype, code, param = "", None, None, None
    try:
        body = orjson.loads(data)
        err = body.get("error") if isinstance(body, dict) else None
        if isinstance(err, dict):
            message = str(err.get("message") or "")
            etype, code, param = err.get("type"), err.get("code"), err.get("param")
        elif isinstance(err, str):
            message = err
    except orjson.JSONDecodeError:
        message = data[:300].decode("utf-8", "replace")
    if status == 429:
        cls = ErrorClass.RATE_LIMITED
    elif status in (401, 403):
        cls = ErrorClass.AUTH
    elif status == 404:
        cls = ErrorClass.NOT_FOUND
    elif status in (408,):
        cls = ErrorClass.TIMEOUT
    elif code == "loop_detected":  # another hop of this same gateway refused the request
        cls = ErrorClass.BAD_REQUEST
    elif code == "context_length_exceeded":
        cls = ErrorClass.CONTEXT_LENGTH
    elif code == "content_filter" or etype == "content_filter":
        cls = ErrorClass.CONTENT_FILTER
    elif status in (503, 529):
        cls = ErrorClass.OVERLOADED
    elif status == 409 or status >= 500:
        cls = ErrorClass.SERVER
    else:
        cls = ErrorClass.BAD_REQUEST
    return UpstreamError(
        cls,
        message or f"{provider} answered HTTP {status}",
        status=status,
        retry_after=retry_after_seconds(headers),
        provider=provider,
        code=code if isinstance(code, str) else None,
        param=param if isinstance(param, str) else None,
    )
