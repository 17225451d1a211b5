"""The Anthropic Messages API adapter (``kind = "anthropic"``).

Owns the ``ProviderAdapter`` seam for Anthropic: the URL and headers of a call
(``x-api-key``, ``anthropic-version``), and delegation to ``request`` (body), ``response``
(non-streaming parse), ``stream`` (SSE translation) and ``errors`` (classification).
Pure translation: never sends, logs or reads configuration beyond the ``ProviderConfig`` it
is handed. A client's own key reaches Anthropic only if the caller passes it as ``api_key``.
"""

from __future__ import annotations

import json
from typing import Any, Mapping

from triage.providers.anthropic.errors import classify
from triage.providers.anthropic.request import ANTHROPIC_VERSION, build_body
from triage.providers.anthropic.response import to_chat_completion
from triage.providers.anthropic.stream import AnthropicStreamTranslator
from triage.providers.base import ProviderConfig, UpstreamError, UpstreamRequest, Usage


def messages_url(base_url: str) -> str:
    """``base_url`` is the API root (``https://api.anthropic.com``); a trailing ``/v1`` is tolerated."""
    root = base_url.rstrip("/")
    return root + ("/messages" if root.endswith("/v1") else "/v1/messages")


def headers_for(provider: ProviderConfig, api_key: str | None, *, stream: bool) -> dict[str, str]:
    headers = {"content-type": "application/json", "anthropic-version": ANTHROPIC_VERSION,
               "accept": "text/event-stream" if stream else "application/json"}
    headers.update(provider.headers)
    key = api_key if api_key is not None else provider.api_key
    if key:
        headers["x-api-key"] = key
    return headers


class AnthropicAdapter:
    kind = "anthropic"

    def chat_request(self, provider: ProviderConfig, body: dict[str, Any], model: str, *, stream: bool, api_key: str | None) -> UpstreamRequest:
        payload = build_body(body, model, stream=stream)
        return UpstreamRequest("POST", messages_url(provider.base_url), headers_for(provider, api_key, stream=stream),
                               json.dumps(payload, ensure_ascii=False).encode())

    def chat_response(self, data: bytes, model: str) -> tuple[dict[str, Any], Usage]:
        return to_chat_completion(json.loads(data), model)

    def stream_translator(self, model: str) -> AnthropicStreamTranslator:
        return AnthropicStreamTranslator(model)

    def classify_error(self, status: int, headers: Mapping[str, str], data: bytes, provider: str) -> UpstreamError:
        return classify(status, headers, data, provider)


ADAPTER = AnthropicAdapter()

__all__ = ["ADAPTER", "AnthropicAdapter", "messages_url", "headers_for"]
