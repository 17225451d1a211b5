"""Native pass-through: an Anthropic request for a named Claude model goes to Anthropic as sent.

Owns building that upstream call: the client's body byte-for-byte except ``model`` (set to
the upstream id when an alias or catalog name differs), the client's ``anthropic-version``
and ``anthropic-beta`` headers intact, and the key the gateway chose (its own, or the
client's own Anthropic key where the user allowed it; never a key meant for another vendor).
Pure: returns an ``UpstreamRequest``.
"""

from __future__ import annotations

from typing import Any

import orjson

from triage.providers.anthropic import headers_for, messages_url
from triage.providers.base import ProviderConfig, UpstreamRequest

FORWARDED_HEADERS = ("anthropic-version", "anthropic-beta")


def native_request(provider: ProviderConfig, raw: bytes, body: dict[str, Any], upstream_model: str,
                   client_headers: dict[str, str], api_key: str | None, *, count_tokens: bool = False) -> UpstreamRequest:
    stream = bool(body.get("stream")) and not count_tokens
    headers = headers_for(provider, api_key, stream=stream)
    for name in FORWARDED_HEADERS:
        if client_headers.get(name):
            headers[name] = client_headers[name]
    if body.get("model") != upstream_model:
        payload = orjson.dumps({**body, "model": upstream_model})
    else:
        payload = raw  # untouched: what the client sent is what Anthropic gets
    url = messages_url(provider.base_url) + ("/count_tokens" if count_tokens else "")
    return UpstreamRequest("POST", url, headers, payload)
