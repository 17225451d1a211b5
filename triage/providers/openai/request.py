"""OpenAI-compatible request building: the body goes through intact, only ``model`` changes.

Every field the client sent (tools, response_format, n, seed, logprobs, unknown future
fields) reaches the upstream untouched. Streams always ask for usage so the ledger can cost
them; ``triage.server`` strips that final usage chunk again if the client did not ask for it.
"""

from __future__ import annotations

from typing import Any

import orjson

from triage.providers.base import ProviderConfig, UpstreamRequest

# Gateway-only fields a client may send to Triage; never forwarded.
GATEWAY_FIELDS = ("triage",)


def chat_request(
    provider: ProviderConfig, body: dict[str, Any], model: str, *, stream: bool, api_key: str | None
) -> UpstreamRequest:
    out = dict(body)
    for k in GATEWAY_FIELDS:
        out.pop(k, None)
    out["model"] = model
    if stream:
        out["stream"] = True
        opts = dict(out.get("stream_options") or {})
        opts["include_usage"] = True
        out["stream_options"] = opts
    else:
        out.pop("stream_options", None)
        if out.get("stream") is not None:
            out["stream"] = False
    headers = {"content-type": "application/json", "accept": "text/event-stream" if stream else "application/json"}
    headers.update(provider.headers)
    if api_key:
        headers["authorization"] = f"Bearer {api_key}"
    return UpstreamRequest("POST", provider.base_url + "/chat/completions", headers, orjson.dumps(out))
