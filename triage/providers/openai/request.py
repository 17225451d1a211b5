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
GATEWAY_FIELDS = ("triage", "provider_specific_fields")
# The internal format's extensions (see providers/base.py), which OpenAI-compatible APIs refuse.
MESSAGE_EXTENSIONS = ("thinking_blocks", "reasoning_content", "is_error")


def _strip_extensions(messages: list) -> list:
    """Messages without the internal extensions; the same list object when there are none."""
    out = None
    for i, m in enumerate(messages):
        if not isinstance(m, dict):
            continue
        dirty = any(k in m for k in MESSAGE_EXTENSIONS)
        calls = m.get("tool_calls")
        content = m.get("content")
        dirty = dirty or (isinstance(calls, list) and any(isinstance(c, dict) and "provider_specific_fields" in c for c in calls))
        dirty = dirty or (isinstance(content, list) and any(isinstance(p, dict) and "cache_control" in p for p in content))
        if not dirty:
            continue
        if out is None:
            out = list(messages)
        m = {k: v for k, v in m.items() if k not in MESSAGE_EXTENSIONS}
        if isinstance(calls, list):
            m["tool_calls"] = [{k: v for k, v in c.items() if k != "provider_specific_fields"} if isinstance(c, dict) else c for c in calls]
        if isinstance(content, list):
            m["content"] = [{k: v for k, v in p.items() if k != "cache_control"} if isinstance(p, dict) else p for p in content]
        out[i] = m
    return messages if out is None else out


def chat_request(
    provider: ProviderConfig, body: dict[str, Any], model: str, *, stream: bool, api_key: str | None
) -> UpstreamRequest:
    out = dict(body)
    for k in GATEWAY_FIELDS:
        out.pop(k, None)
    out["model"] = model
    if isinstance(out.get("messages"), list):
        out["messages"] = _strip_extensions(out["messages"])
    if isinstance(out.get("tools"), list) and any(isinstance(t, dict) and "cache_control" in t for t in out["tools"]):
        out["tools"] = [{k: v for k, v in t.items() if k != "cache_control"} if isinstance(t, dict) else t for t in out["tools"]]
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
