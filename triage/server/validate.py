"""Checks on an OpenAI chat request: only what the gateway needs to route and forward it.

Everything else (unknown fields, provider-specific options) is the upstream's to judge; the
gateway carries it intact. Each failure is a 400 naming the offending parameter.
"""

from __future__ import annotations

from typing import Any

import orjson

from triage.config.settings import Limits
from triage.server.errors import GatewayError

ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})


def parse_json_object(raw: bytes, limits: Limits) -> dict[str, Any]:
    if not raw:
        raise GatewayError(400, "the request body is empty; send a JSON object", code="invalid_json")
    if raw[:3] == b"\xef\xbb\xbf":  # a UTF-8 byte order mark (some Windows tools write one): JSON may ignore it
        raw = raw[3:]
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        msg = str(e)
        if "utf-8" in msg.lower():
            raise GatewayError(400, "the request body is not valid UTF-8", code="invalid_encoding") from None
        if "surrogate" in msg.lower():
            raise GatewayError(400, "the request body has an unpaired UTF-16 surrogate escape (\\ud800-\\udfff)", code="invalid_encoding") from None
        raise GatewayError(400, f"the request body is not valid JSON: {msg}", code="invalid_json") from None
    except RecursionError:
        raise GatewayError(400, "the request body is nested too deeply", code="invalid_json") from None
    if not isinstance(body, dict):
        raise GatewayError(400, f"the request body must be a JSON object, not {type(body).__name__}", code="invalid_json")
    if _depth(body, limits.max_json_depth) > limits.max_json_depth:
        raise GatewayError(400, f"the request body is nested deeper than {limits.max_json_depth} levels", code="invalid_json")
    return body


def _depth(obj: Any, limit: int) -> int:
    """Nesting depth, giving up once past ``limit`` (iterative: no recursion on hostile input)."""
    stack = [(obj, 1)]
    deepest = 1
    while stack:
        o, d = stack.pop()
        if d > deepest:
            deepest = d
            if deepest > limit:
                return deepest
        if isinstance(o, dict):
            stack.extend((v, d + 1) for v in o.values() if isinstance(v, (dict, list)))
        elif isinstance(o, list):
            stack.extend((v, d + 1) for v in o if isinstance(v, (dict, list)))
    return deepest


def _int(body: dict[str, Any], key: str, lo: int, hi: int) -> None:
    v = body.get(key)
    if v is None:
        return
    if isinstance(v, bool) or not isinstance(v, int):
        raise GatewayError(400, f"'{key}' must be an integer, got {type(v).__name__}", param=key, code="invalid_type")
    if not lo <= v <= hi:
        raise GatewayError(400, f"'{key}' must be between {lo} and {hi}, got {v}", param=key, code="invalid_value")


def validate_chat(body: dict[str, Any], limits: Limits) -> None:
    model = body.get("model")
    if model is not None and not isinstance(model, str):
        raise GatewayError(400, "'model' must be a string", param="model", code="invalid_type")
    messages = body.get("messages")
    if messages is None:
        raise GatewayError(400, "'messages' is required", param="messages", code="missing_required_parameter")
    if not isinstance(messages, list):
        raise GatewayError(400, "'messages' must be an array of message objects", param="messages", code="invalid_type")
    if not messages:
        raise GatewayError(400, "'messages' must contain at least one message", param="messages", code="empty_array")
    if len(messages) > limits.max_messages:
        raise GatewayError(400, f"'messages' has {len(messages)} messages; the limit is {limits.max_messages}", param="messages", code="too_many_messages")
    for i, m in enumerate(messages):
        if not isinstance(m, dict):
            raise GatewayError(400, f"messages[{i}] must be an object", param=f"messages[{i}]", code="invalid_type")
        role = m.get("role")
        if role not in ROLES:
            raise GatewayError(400, f"messages[{i}].role must be one of {', '.join(sorted(ROLES))}, got {role!r}", param=f"messages[{i}].role", code="invalid_value")
        content = m.get("content")
        if content is not None and not isinstance(content, (str, list)):
            raise GatewayError(400, f"messages[{i}].content must be a string or an array of content parts", param=f"messages[{i}].content", code="invalid_type")
        if isinstance(content, list):
            for j, part in enumerate(content):
                if not isinstance(part, dict) or not isinstance(part.get("type"), str):
                    raise GatewayError(400, f"messages[{i}].content[{j}] must be an object with a 'type'", param=f"messages[{i}].content[{j}]", code="invalid_type")
    stream = body.get("stream")
    if stream is not None and not isinstance(stream, bool):
        raise GatewayError(400, "'stream' must be a boolean", param="stream", code="invalid_type")
    _int(body, "max_tokens", 1, 10_000_000)
    _int(body, "max_completion_tokens", 1, 10_000_000)
    _int(body, "n", 1, 128)
    tools = body.get("tools")
    if tools is not None and not isinstance(tools, list):
        raise GatewayError(400, "'tools' must be an array", param="tools", code="invalid_type")
    rf = body.get("response_format")
    if rf is not None and not (isinstance(rf, dict) and isinstance(rf.get("type"), str)):
        raise GatewayError(400, "'response_format' must be an object with a 'type'", param="response_format", code="invalid_type")
    # fields the gateway itself reads (stops it may apply, the usage it asks a stream for)
    stop = body.get("stop")
    if stop is not None and not (isinstance(stop, str) or (isinstance(stop, list) and all(isinstance(x, str) for x in stop))):
        raise GatewayError(400, "'stop' must be a string or an array of strings", param="stop", code="invalid_type")
    opts = body.get("stream_options")
    if opts is not None and not isinstance(opts, dict):
        raise GatewayError(400, "'stream_options' must be an object", param="stream_options", code="invalid_type")


def quality_override(body: dict[str, Any], headers: dict[str, str]) -> float | None:
    """The per-request quality target: body ``triage.quality`` or header ``x-triage-quality``."""
    raw: Any = None
    t = body.get("triage")
    if isinstance(t, dict) and "quality" in t:
        raw = t["quality"]
    elif "x-triage-quality" in headers:
        raw = headers["x-triage-quality"]
    if raw is None:
        return None
    try:
        q = float(raw)
    except (TypeError, ValueError):
        raise GatewayError(400, f"the quality target must be a number in (0, 1], got {raw!r}", param="triage.quality", code="invalid_value") from None
    if not 0.0 < q <= 1.0:
        raise GatewayError(400, f"the quality target must be in (0, 1], got {q}", param="triage.quality", code="invalid_value")
    return q
