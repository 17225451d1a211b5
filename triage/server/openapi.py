"""The gateway's own OpenAPI document, served at /openapi.json (behind the API key when set).

Describes the request shapes the gateway itself checks; provider-specific fields are open
(``additionalProperties``) because they are carried to the upstream untouched.
"""

from __future__ import annotations

from typing import Any

from triage import __version__

ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "object", "required": ["message", "type"],
                             "properties": {"message": {"type": "string"}, "type": {"type": "string"},
                                            "param": {"type": ["string", "null"]}, "code": {"type": ["string", "null"]}}}},
}  # fmt: skip

MESSAGE = {
    "type": "object",
    "required": ["role"],
    "properties": {
        "role": {"type": "string", "enum": ["system", "developer", "user", "assistant", "tool"]},
        "content": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "object", "required": ["type"], "properties": {"type": {"type": "string"}}}}, {"type": "null"}]},
        "name": {"type": "string"},
        "tool_call_id": {"type": "string"},
    },
}

CHAT_REQUEST = {
    "type": "object",
    "required": ["messages"],
    "properties": {
        "model": {"type": "string", "description": "'auto' to route, or a model name"},
        "messages": {"type": "array", "minItems": 1, "items": MESSAGE},
        "stream": {"type": "boolean"},
        "max_tokens": {"type": "integer", "minimum": 1},
        "max_completion_tokens": {"type": "integer", "minimum": 1},
        "n": {"type": "integer", "minimum": 1, "maximum": 128},
        "tools": {"type": "array", "items": {"type": "object"}},
        "response_format": {"type": "object", "required": ["type"], "properties": {"type": {"type": "string"}}},
        "triage": {"type": "object", "description": "routing options for model 'auto', within what the configuration allows",
                   "properties": {"quality": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
                                  "models": {"type": "array", "minItems": 1, "maxItems": 100, "items": {"type": "string", "minLength": 1},
                                             "description": "allow-list: catalog model names or aliases"},
                                  "max_cost_per_mtok": {"type": "number", "exclusiveMinimum": 0,
                                                        "description": "ceiling on a model's output price, USD per 1M tokens"}},
                   "additionalProperties": False},
    },
    "additionalProperties": True,
}


def _op(summary: str, body: dict[str, Any] | None = None, params: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        "responses": {
            "200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}},
            "4XX": {"description": "The caller's error", "content": {"application/json": {"schema": ERROR}}},
            "5XX": {"description": "An upstream or configuration failure", "content": {"application/json": {"schema": ERROR}}},
        },
    }
    if body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    if params:
        op["parameters"] = params
    return op


def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "Triage LLM routing gateway", "version": __version__},
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}],
        "paths": {
            "/v1/chat/completions": {"post": _op("OpenAI Chat Completions, routed", CHAT_REQUEST)},
            "/v1/route": {"post": _op("The routing decision for a request, no call made", {**CHAT_REQUEST, "required": []})},
            "/v1/models": {"get": _op("Models the gateway can reach, and auto")},
            "/v1/models/compare": {"get": _op("Models ranked for a task type", params=[{"name": "task", "in": "query", "schema": {"type": "string"}}])},
            "/v1/stats": {"get": _op("Spend and savings", params=[{"name": "period", "in": "query", "schema": {"type": "string", "enum": ["day", "week", "month", "all"]}}])},
            "/v1/config": {"get": _op("The running configuration (no secrets)"), "patch": _op("Change routing and aliases", {"type": "object"})},
            "/health": {"get": {**_op("Liveness and readiness"), "security": []}},
        },
    }
