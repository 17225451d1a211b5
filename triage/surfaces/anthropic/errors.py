"""Errors in Anthropic's shape: ``{"type":"error","error":{"type","message"}}``.

Owns the status -> Anthropic error type table (https://docs.anthropic.com/en/api/errors) and
the in-stream ``event: error``. Pure.
"""

from __future__ import annotations

from typing import Any

import orjson

ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 402: "billing_error", 403: "permission_error",
               404: "not_found_error", 405: "invalid_request_error", 413: "request_too_large", 421: "permission_error",
               429: "rate_limit_error", 500: "api_error", 502: "api_error", 503: "overloaded_error",
               504: "timeout_error", 508: "invalid_request_error", 529: "overloaded_error"}


def error_type(status: int) -> str:
    if status in ERROR_TYPES:
        return ERROR_TYPES[status]
    return "invalid_request_error" if 400 <= status < 500 else "api_error"


def error_dict(status: int, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": error_type(status), "message": message}}


def error_body(status: int, message: str) -> bytes:
    return orjson.dumps(error_dict(status, message))


def render(e: Any) -> bytes:
    """The app's renderer for a ``GatewayError`` raised on this surface."""
    return error_body(e.status, e.message)


def stream_error_event(status: int, message: str) -> bytes:
    return b"event: error\ndata: " + error_body(status, message) + b"\n\n"
