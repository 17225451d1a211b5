"""Checks on an OpenAI chat request: only what the gateway needs to route and forward it.

Everything else (unknown fields, provider-specific options) is the upstream's to judge; the
gateway carries it intact. Each failure is a 400 naming the offending parameter.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

import orjson

from triage.config.settings import Limits, Policy
from triage.server.errors import GatewayError

ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})
TRIAGE_OPTIONS = ("quality", "models", "max_cost_per_mtok")  # the body's "triage" object


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
    # the gateway's own namespace: a typo there ("qualty") must not pass for a routing option
    t = body.get("triage")
    if t is not None:
        if not isinstance(t, dict):
            raise GatewayError(400, "'triage' must be an object of routing options", param="triage", code="invalid_type")
        unknown = [k for k in t if k not in TRIAGE_OPTIONS]
        if unknown:
            raise GatewayError(400, f"unknown routing option 'triage.{unknown[0][:60]}' (known: {', '.join(TRIAGE_OPTIONS)})",
                               param=f"triage.{unknown[0][:60]}", code="unknown_parameter")


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


MAX_REQUEST_MODELS = 100


def policy_override(body: dict[str, Any], headers: dict[str, str], policy: Policy,
                    resolve: Callable[[str], str | None]) -> Policy:
    """The configured ``policy`` narrowed by the request, for ``model: "auto"``: an allow-list
    (body ``triage.models`` or header ``x-triage-models``, comma-separated) and a ceiling on a
    model's output price (``triage.max_cost_per_mtok`` or ``x-triage-max-cost-per-mtok``, USD per
    1M tokens). A request can only narrow what the configuration allows, never widen it: the
    allow-lists intersect and the lower ceiling wins. ``resolve`` maps a name (or alias) to a
    catalog model name, or None. Returns ``policy`` itself when the request narrows nothing."""
    t = body.get("triage")
    t = t if isinstance(t, dict) else {}
    changes: dict[str, Any] = {}
    raw: Any = t["models"] if "models" in t else headers.get("x-triage-models")
    if raw is not None:
        if isinstance(raw, str) and "models" not in t:
            raw = [x.strip() for x in raw.split(",") if x.strip()]
        if not (isinstance(raw, list) and raw and all(isinstance(x, str) and x for x in raw)):
            raise GatewayError(400, "'triage.models' must be a non-empty array of model names", param="triage.models", code="invalid_type")
        if len(raw) > MAX_REQUEST_MODELS:
            raise GatewayError(400, f"'triage.models' lists {len(raw)} models, at most {MAX_REQUEST_MODELS}", param="triage.models", code="invalid_value")
        names = []
        for x in raw:
            name = resolve(x)
            if name is None:
                raise GatewayError(400, f"'triage.models' names {x[:100]!r}, which the catalog does not know (GET /v1/models lists it)",
                                   param="triage.models", code="model_not_found")
            names.append(name)
        allowed = tuple(dict.fromkeys(names))
        if policy.allowed_models:
            allowed = tuple(n for n in allowed if n in policy.allowed_models)
            if not allowed:
                raise GatewayError(400, "none of 'triage.models' is among the models the configuration allows",
                                   param="triage.models", code="no_eligible_model")
        changes["allowed_models"] = allowed
    raw = t["max_cost_per_mtok"] if "max_cost_per_mtok" in t else headers.get("x-triage-max-cost-per-mtok")
    if raw is not None:
        try:
            ceiling = float(raw) if not isinstance(raw, bool) else math.nan
        except (TypeError, ValueError):
            ceiling = math.nan
        if not (ceiling > 0 and math.isfinite(ceiling)):
            raise GatewayError(400, f"'triage.max_cost_per_mtok' must be a positive number of USD per 1M output tokens, got {raw!r}"[:300],
                               param="triage.max_cost_per_mtok", code="invalid_value")
        if policy.max_cost_per_mtok is not None:
            ceiling = min(ceiling, policy.max_cost_per_mtok)
        changes["max_cost_per_mtok"] = ceiling
    return dataclasses.replace(policy, **changes) if changes else policy
