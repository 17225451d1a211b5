"""The seam every upstream provider implements.

Triage's internal request/response/stream format is the OpenAI Chat Completions wire
format, as plain dicts (the lingua franca most clients already speak), with two documented
extensions so that nothing Anthropic- or Gemini-specific is lost on the way through:

- an assistant message may carry ``thinking_blocks``: a list of Anthropic thinking blocks
  (``{"type": "thinking", "thinking", "signature"}`` or ``{"type": "redacted_thinking",
  "data"}``), and a stream delta may carry ``reasoning_content`` (text of a thinking delta);
- a content part or a tool may carry ``cache_control`` (Anthropic prompt caching); a tool
  call may carry ``provider_specific_fields`` (e.g. a Gemini thought signature).

An adapter translates between that format and its provider's wire format. Translation is
pure: the adapter builds requests and parses responses, it never sends anything, logs
anything or touches global state. Sending is done once, by ``triage.upstream``.

An adapter also classifies its provider's errors into an ``ErrorClass``; fallback and
circuit-breaking logic reads the class, never the message text.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Mapping, Protocol


@dataclass(frozen=True, slots=True)
class ProviderConfig:
    """One configured upstream: where it is and which key the gateway calls it with."""

    name: str  # e.g. "openai", "anthropic", "gemini", "ollama"
    kind: str  # wire dialect / adapter: "openai", "anthropic", "gemini"
    base_url: str  # openai kind: includes /v1; anthropic and gemini: the API root
    api_key: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    # When true, a client's own credential for this provider may be forwarded to it.
    client_keys: bool = False

    def __repr__(self) -> str:  # never print a key
        return f"ProviderConfig(name={self.name!r}, kind={self.kind!r}, base_url={self.base_url!r}, api_key={'set' if self.api_key else 'unset'})"


@dataclass(frozen=True, slots=True)
class UpstreamRequest:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes


def tokens(v: Any) -> int:
    """A token count as an upstream reported it, read defensively: usage is bookkeeping, so a
    malformed count must not fail an answer the upstream gave. A non-negative integer (or float,
    truncated, or string of digits) is the count; anything else (negative, NaN, a list, a dict,
    a bool) is 0."""
    if type(v) is int:
        return v if v > 0 else 0
    if type(v) is float:
        return int(v) if 0.0 < v < 1e30 else 0
    if type(v) is str and v.isdigit() and len(v) < 40:
        return int(v)
    return 0


def obj(v: Any) -> Mapping[str, Any]:
    """``v`` if it is a JSON object, else an empty one (an upstream's usage or details field)."""
    return v if isinstance(v, dict) else {}


@dataclass(slots=True)
class Usage:
    """Token counts as the provider bills them.

    ``input_tokens`` counts every prompt token, including cached reads and cache writes;
    ``cached_input_tokens`` and ``cache_write_tokens`` say how many of them were billed at the
    cache-read / cache-write price. ``output_tokens`` includes ``reasoning_tokens``.
    """

    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0


class ErrorClass(str, enum.Enum):
    RATE_LIMITED = "rate_limited"  # 429
    OVERLOADED = "overloaded"  # Anthropic 529, Gemini 503 UNAVAILABLE
    SERVER = "server_error"  # 5xx
    TIMEOUT = "timeout"  # connect / first byte / idle / total deadline
    CONNECTION = "connection_error"  # refused, reset, DNS
    AUTH = "authentication_error"  # 401/403: the provider rejected the gateway's key
    BAD_REQUEST = "invalid_request_error"  # other 4xx: the caller's error
    NOT_FOUND = "not_found_error"  # 404 model or path
    CONTEXT_LENGTH = "context_length_exceeded"
    CONTENT_FILTER = "content_filter"

    @property
    def retryable(self) -> bool:
        return self in _RETRYABLE


_RETRYABLE = frozenset(
    {ErrorClass.RATE_LIMITED, ErrorClass.OVERLOADED, ErrorClass.SERVER, ErrorClass.TIMEOUT, ErrorClass.CONNECTION}
)


class UpstreamError(Exception):
    """A provider answered with an error, or could not be reached."""

    def __init__(
        self,
        error_class: ErrorClass,
        message: str,
        *,
        status: int = 502,
        retry_after: float | None = None,
        provider: str = "",
        code: str | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.error_class = error_class
        self.message = message
        self.status = status
        self.retry_after = retry_after
        self.provider = provider
        self.code = code
        self.param = param

    @property
    def retryable(self) -> bool:
        return self.error_class.retryable


class StreamTranslator(Protocol):
    """Created per request; fed the upstream's raw stream bytes in whatever pieces arrive.

    ``feed`` returns the OpenAI ``chat.completion.chunk`` dicts that those bytes complete
    (possibly none); ``finish`` returns any final chunks once the upstream stream ended.
    ``usage`` holds the usage seen so far (partial if the stream was cut). A provider error
    event inside the stream raises ``UpstreamError``.
    """

    usage: Usage

    def feed(self, data: bytes) -> list[dict[str, Any]]: ...

    def finish(self) -> list[dict[str, Any]]: ...


class ProviderAdapter(Protocol):
    """Translation between the internal (OpenAI chat) format and one provider's API."""

    kind: str  # "openai" | "anthropic" | "gemini"

    def chat_request(
        self, provider: ProviderConfig, body: dict[str, Any], model: str, *, stream: bool, api_key: str | None
    ) -> UpstreamRequest:
        """Build the upstream call for an OpenAI-shaped chat request aimed at ``model``."""
        ...

    def chat_response(self, data: bytes, model: str) -> tuple[dict[str, Any], Usage]:
        """Parse a successful upstream body into an OpenAI ``chat.completion`` dict."""
        ...

    def stream_translator(self, model: str) -> StreamTranslator: ...

    def classify_error(self, status: int, headers: Mapping[str, str], data: bytes, provider: str) -> UpstreamError:
        """Map an upstream error response to an ``UpstreamError`` with its class."""
        ...


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """Parse ``Retry-After`` (seconds form) or ``retry-after-ms``; None if absent or odd."""
    raw = headers.get("retry-after-ms") or headers.get("Retry-After-Ms")
    if raw:
        try:
            return max(0.0, float(raw) / 1000.0)
        except ValueError:
            pass
    raw = headers.get("retry-after") or headers.get("Retry-After")
    if raw:
        try:
            return max(0.0, float(raw))
        except ValueError:
            return None
    return None
