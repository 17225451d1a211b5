"""Anthropic error responses and in-stream error events -> ``UpstreamError`` with its class.

Owns the meaning of Anthropic's statuses and error types
(https://docs.anthropic.com/en/api/errors): 429 keeps its status and Retry-After, 529
``overloaded_error`` is a retryable OVERLOADED (surfaced as 503 to callers that do not speak
Anthropic), 401/403 mean the gateway's key was refused, other 4xx keep the provider's message.
Pure: reads the bytes and headers it is given.
"""

from __future__ import annotations

import json
from typing import Any, Mapping

from triage.providers.base import ErrorClass, UpstreamError, retry_after_seconds

_BY_TYPE = {
    "rate_limit_error": ErrorClass.RATE_LIMITED,
    "overloaded_error": ErrorClass.OVERLOADED,
    "api_error": ErrorClass.SERVER,
    "timeout_error": ErrorClass.TIMEOUT,
    "authentication_error": ErrorClass.AUTH,
    "permission_error": ErrorClass.AUTH,
    "not_found_error": ErrorClass.NOT_FOUND,
    "billing_error": ErrorClass.AUTH,
    "request_too_large": ErrorClass.BAD_REQUEST,
    "invalid_request_error": ErrorClass.BAD_REQUEST,
}
# Anthropic words a too-long prompt as a plain invalid_request_error.
_CONTEXT_HINTS = ("prompt is too long", "context window", "exceed context limit", "input length and `max_tokens` exceed")


def parse_error(data: bytes) -> tuple[str | None, str]:
    """(error type, message) from an Anthropic error body; tolerant of non-JSON bodies."""
    try:
        body: Any = json.loads(data)
    except ValueError:
        return None, data.decode("utf-8", "replace")[:500] or "no error body"
    err = body.get("error") if isinstance(body, dict) else None
    if isinstance(err, dict):
        return err.get("type"), str(err.get("message") or err.get("type") or "")
    return None, json.dumps(body)[:500]


def classify(status: int, headers: Mapping[str, str], data: bytes, provider: str) -> UpstreamError:
    etype, message = parse_error(data)
    if status == 429:
        cls = ErrorClass.RATE_LIMITED
    elif status == 529 or etype == "overloaded_error":
        cls = ErrorClass.OVERLOADED
    elif status in (401, 403):
        cls = ErrorClass.AUTH
    elif status == 404:
        cls = ErrorClass.NOT_FOUND
    elif status == 504:
        cls = ErrorClass.TIMEOUT
    elif status >= 500:
        cls = ErrorClass.SERVER
    elif any(h in message.lower() for h in _CONTEXT_HINTS):
        cls = ErrorClass.CONTEXT_LENGTH
    else:
        cls = _BY_TYPE.get(etype or "", ErrorClass.BAD_REQUEST) if status >= 400 else ErrorClass.SERVER
        if cls.retryable:
            cls = ErrorClass.BAD_REQUEST  # a 4xx is the caller's error whatever its type says
    out_status = 503 if cls is ErrorClass.OVERLOADED else status
    return UpstreamError(cls, message, status=out_status, retry_after=retry_after_seconds(headers),
                         provider=provider, code=etype)


def stream_error(event: dict[str, Any], provider: str) -> UpstreamError:
    """An ``event: error`` inside a 200 stream (e.g. overloaded mid-answer)."""
    err = event.get("error") or {}
    etype = err.get("type")
    cls = _BY_TYPE.get(etype or "", ErrorClass.SERVER)
    status = {ErrorClass.RATE_LIMITED: 429, ErrorClass.OVERLOADED: 503, ErrorClass.BAD_REQUEST: 400,
              ErrorClass.AUTH: 401, ErrorClass.NOT_FOUND: 404, ErrorClass.TIMEOUT: 504}.get(cls, 502)
    return UpstreamError(cls, str(err.get("message") or etype or "stream error"), status=status, provider=provider, code=etype)
