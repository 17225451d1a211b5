"""Gemini error responses -> ``UpstreamError`` with its class.

Owns the meaning of Gemini's ``{"error": {"code", "message", "status", "details"}}``
(https://ai.google.dev/gemini-api/docs/troubleshooting): 429 RESOURCE_EXHAUSTED keeps 429 and
its retry delay (``Retry-After`` or the ``RetryInfo.retryDelay`` detail); 503 UNAVAILABLE
("model is overloaded") is OVERLOADED; a refused key is AUTH even though Gemini answers it with
400 API_KEY_INVALID or 403 PERMISSION_DENIED; other 4xx keep Gemini's message. Pure.
"""

from __future__ import annotations

import json
from typing import Any, Mapping

from triage.providers.base import ErrorClass, UpstreamError, retry_after_seconds

_CONTEXT_HINTS = ("exceeds the maximum number of tokens", "input token count", "context window")


def retry_delay(err: dict[str, Any]) -> float | None:
    for detail in err.get("details") or []:
        if str(detail.get("@type", "")).endswith("google.rpc.RetryInfo"):
            raw = str(detail.get("retryDelay", "")).rstrip("s")
            try:
                return max(0.0, float(raw))
            except ValueError:
                return None
    return None


def classify_body(body: Any, headers: Mapping[str, str], provider: str, status: int) -> UpstreamError:
    err = body.get("error") if isinstance(body, dict) and isinstance(body.get("error"), dict) else {}
    message = str(err.get("message") or json.dumps(body)[:500])
    rpc = err.get("status")
    reasons = {d.get("reason") for d in err.get("details") or [] if isinstance(d, dict)}
    if status == 429 or rpc == "RESOURCE_EXHAUSTED":
        cls, status = ErrorClass.RATE_LIMITED, 429
    elif status == 503 or rpc == "UNAVAILABLE":
        cls = ErrorClass.OVERLOADED
    elif status == 504 or rpc == "DEADLINE_EXCEEDED":
        cls = ErrorClass.TIMEOUT
    elif status >= 500:
        cls = ErrorClass.SERVER
    elif status in (401, 403) or rpc in ("UNAUTHENTICATED", "PERMISSION_DENIED") or "API_KEY_INVALID" in reasons:
        cls, status = ErrorClass.AUTH, 401 if status != 403 else 403
    elif status == 404 or rpc == "NOT_FOUND":
        cls = ErrorClass.NOT_FOUND
    elif any(h in message.lower() for h in _CONTEXT_HINTS):
        cls = ErrorClass.CONTEXT_LENGTH
    else:
        cls = ErrorClass.BAD_REQUEST
    retry = retry_after_seconds(headers)
    if retry is None:
        retry = retry_delay(err)
    return UpstreamError(cls, message, status=status, retry_after=retry, provider=provider, code=rpc)


def classify(status: int, headers: Mapping[str, str], data: bytes, provider: str) -> UpstreamError:
    try:
        body: Any = json.loads(data)
    except ValueError:
        body = {"error": {"message": data.decode("utf-8", "replace")[:500] or "no error body"}}
    if isinstance(body, list) and body:  # the non-SSE stream wraps errors in an array
        body = body[0]
    return classify_body(body, headers, provider, status)
