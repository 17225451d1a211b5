"""Gateway errors and their OpenAI-shaped rendering.

``GatewayError`` carries the HTTP status, the OpenAI error ``type``/``code``/``param`` and a
message safe to show a client (never a key, never a traceback). Upstream errors are mapped
by their class, never by message text.
"""

from __future__ import annotations

from typing import Any, AnyStr

import orjson

from triage.providers.base import ErrorClass, UpstreamError


class GatewayError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        headers: dict[str, str] | None = None,
        error_class: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.code = code
        self.param = param
        self.headers = headers or {}
        self.error_class = error_class or code or type

    def openai_body(self) -> bytes:
        return orjson.dumps({"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}})

    def openai_dict(self) -> dict[str, Any]:
        return {"message": self.message, "type": self.type, "param": self.param, "code": self.code}


def from_upstream(e: UpstreamError, model: str) -> GatewayError:
    """What the client sees when an upstream call failed (after any fallbacks)."""
    headers = {}
    if e.retry_after is not None:
        headers["retry-after"] = str(int(e.retry_after + 0.999))
    c = e.error_class
    who = e.provider or "the provider"
    if c is ErrorClass.RATE_LIMITED:
        return GatewayError(429, f"{who} rate-limited {model}: {e.message}", type="rate_limit_error", code="rate_limit_exceeded", headers=headers, error_class=c.value)
    if c is ErrorClass.AUTH:
        return GatewayError(
            502, f"{who} rejected the gateway's credentials for {model}; check the provider key in the gateway's configuration",
            type="upstream_error", code="upstream_authentication_failed", error_class=c.value,
        )  # fmt: skip
    if c is ErrorClass.NOT_FOUND:
        return GatewayError(404, f"{who}: {e.message}", type="invalid_request_error", code="model_not_found", param="model", error_class=c.value)
    if c in (ErrorClass.BAD_REQUEST, ErrorClass.CONTEXT_LENGTH, ErrorClass.CONTENT_FILTER):
        if e.code == "loop_detected":
            return GatewayError(508, f"{who}'s base URL points back at this gateway: {e.message}", code="loop_detected", error_class="loop_detected")
        status = e.status if 400 <= e.status < 500 else 400
        return GatewayError(status, f"{who}: {e.message}", type="invalid_request_error", code=e.code or c.value, param=e.param, error_class=c.value)
    if c is ErrorClass.TIMEOUT:
        return GatewayError(504, f"{who} timed out for {model}: {e.message}", type="upstream_error", code="upstream_timeout", error_class=c.value)
    if c is ErrorClass.OVERLOADED:
        return GatewayError(503, f"{who} is overloaded ({model}): {e.message}", type="upstream_error", code="upstream_overloaded", headers=headers, error_class=c.value)
    return GatewayError(502, f"{who} failed for {model}: {e.message}", type="upstream_error", code=c.value, error_class=c.value)


def redact_keys(data: AnyStr, providers: Any) -> AnyStr:
    """``data`` (text or bytes) with every configured provider key (8+ characters) replaced by
    ``[redacted]``: a message or an upstream's own error body could quote a credential back."""
    for p in providers.values():
        key = p.api_key
        if key and len(key) >= 8:
            k = key if isinstance(data, str) else key.encode()
            if k in data:
                data = data.replace(k, "[redacted]" if isinstance(data, str) else b"[redacted]")  # type: ignore[arg-type]
    return data
