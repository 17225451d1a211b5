"""The Gemini API adapter (``kind = "gemini"``, generativelanguage ``v1beta``).

Owns the ``ProviderAdapter`` seam for Gemini: URLs (``models/{model}:generateContent`` and
``:streamGenerateContent?alt=sse``), the ``x-goog-api-key`` header (never the ``?key=`` query,
which would land in access logs), and delegation to ``request``, ``response``, ``stream`` and
``errors``. Pure translation: never sends, logs or reads configuration.
"""

from __future__ import annotations

import json
from typing import Any, Mapping
from urllib.parse import quote

from triage.providers.base import ProviderConfig, UpstreamError, UpstreamRequest, Usage
from triage.providers.gemini.errors import classify
from triage.providers.gemini.request import build_body
from triage.providers.gemini.response import to_chat_completion
from triage.providers.gemini.stream import GeminiStreamTranslator

API_VERSION = "v1beta"


def model_url(base_url: str, model: str, *, stream: bool) -> str:
    """``base_url`` is the API root; one that already ends in a version is used as is."""
    root = base_url.rstrip("/")
    if not root.rsplit("/", 1)[-1].startswith("v1"):
        root += "/" + API_VERSION
    name = model if model.startswith(("models/", "tunedModels/")) else "models/" + quote(model, safe="-._")
    return f"{root}/{name}:" + ("streamGenerateContent?alt=sse" if stream else "generateContent")


class GeminiAdapter:
    kind = "gemini"

    def chat_request(self, provider: ProviderConfig, body: dict[str, Any], model: str, *, stream: bool, api_key: str | None) -> UpstreamRequest:
        headers = {"content-type": "application/json"}
        headers.update(provider.headers)
        key = api_key if api_key is not None else provider.api_key
        if key:
            headers["x-goog-api-key"] = key
        payload = build_body(body, model)
        return UpstreamRequest("POST", model_url(provider.base_url, model, stream=stream), headers,
                               json.dumps(payload, ensure_ascii=False).encode())

    def chat_response(self, data: bytes, model: str) -> tuple[dict[str, Any], Usage]:
        return to_chat_completion(json.loads(data), model)

    def stream_translator(self, model: str) -> GeminiStreamTranslator:
        return GeminiStreamTranslator(model)

    def classify_error(self, status: int, headers: Mapping[str, str], data: bytes, provider: str) -> UpstreamError:
        return classify(status, headers, data, provider)


ADAPTER = GeminiAdapter()

__all__ = ["ADAPTER", "GeminiAdapter", "model_url"]
