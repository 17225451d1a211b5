"""Anthropic Messages request -> internal (OpenAI chat) request.

Owns the client-side mapping: top-level ``system`` -> a system message; content blocks ->
OpenAI parts (images as data URLs or URLs, PDFs as ``file`` parts); ``tool_result`` blocks ->
``tool`` messages placed before the rest of their user turn (``is_error`` kept); ``tool_use``
-> ``tool_calls`` with the same ids; thinking blocks -> ``thinking_blocks``; tools and
``tool_choice``; ``thinking``/``top_k``/``metadata``/``service_tier`` kept exactly in
``provider_specific_fields.anthropic`` (plus a portable ``reasoning_effort``). Pure: raises
``ValueError`` with an Anthropic-style message for what it cannot translate.
"""

from __future__ import annotations

import json
from typing import Any

from triage.providers.media import data_url


def _effort(budget: int) -> str:
    return "low" if budget < 2048 else "medium" if budget < 8192 else "high"


def parts_from_blocks(blocks: Any, where: str) -> str | list[dict[str, Any]]:
    if isinstance(blocks, str):
        return blocks
    if not isinstance(blocks, list):
        raise ValueError(f"{where}: Input should be a valid list")
    parts: list[dict[str, Any]] = []
    for i, b in enumerate(blocks):
        btype = b.get("type") if isinstance(b, dict) else None
        if btype == "text":
            part: dict[str, Any] = {"type": "text", "text": b.get("text", "")}
        elif btype == "image":
            src = b.get("source") or {}
            if src.get("type") == "base64":
                url = data_url(src.get("media_type", ""), src.get("data", ""))
            elif src.get("type") == "url":
                url = src.get("url", "")
            else:
                raise ValueError(f"{where}.{i}.source: image source type {src.get('type')!r} cannot be translated")
            part = {"type": "image_url", "image_url": {"url": url}}
        elif btype == "document":
            src = b.get("source") or {}
            if src.get("type") != "base64":
                raise ValueError(f"{where}.{i}.source: only base64 documents can be translated")
            file: dict[str, Any] = {"file_data": data_url(src.get("media_type", "application/pdf"), src.get("data", ""))}
            if b.get("title"):
                file["filename"] = b["title"]
            part = {"type": "file", "file": file}
        else:
            raise ValueError(f"{where}.{i}: content block type {btype!r} cannot be translated to another provider")
        if b.get("cache_control"):
            part["cache_control"] = b["cache_control"]
        parts.append(part)
    # A single plain text block reads as a string, which every upstream takes.
    if len(parts) == 1 and parts[0]["type"] == "text" and "cache_control" not in parts[0]:
        return parts[0]["text"]
    return parts


def convert_user(content: Any, i: int) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"role": "user", "content": content}]
    out: list[dict[str, Any]] = []
    rest: list[dict[str, Any]] = []
    for j, b in enumerate(content or []):
        if isinstance(b, dict) and b.get("type") == "tool_result":
            msg: dict[str, Any] = {"role": "tool", "tool_call_id": b.get("tool_use_id", ""),
                                   "content": parts_from_blocks(b.get("content", ""), f"messages.{i}.content.{j}.content")}
            if b.get("is_error"):
                msg["is_error"] = True
            out.append(msg)
        else:
            rest.append(b)
    if rest:
        out.append({"role": "user", "content": parts_from_blocks(rest, f"messages.{i}.content")})
    return out


def convert_assistant(content: Any, i: int) -> dict[str, Any]:
    if isinstance(content, str):
        return {"role": "assistant", "content": content}
    texts, calls, thinking = [], [], []
    for j, b in enumerate(content or []):
        btype = b.get("type")
        if btype == "text":
            texts.append(b.get("text", ""))
        elif btype == "tool_use":
            calls.append({"id": b["id"], "type": "function",
                          "function": {"name": b["name"], "arguments": json.dumps(b.get("input") or {}, ensure_ascii=False)}})
        elif btype == "thinking":
            thinking.append({"type": "thinking", "thinking": b.get("thinking", ""), "signature": b.get("signature", "")})
        elif btype == "redacted_thinking":
            thinking.append({"type": "redacted_thinking", "data": b.get("data", "")})
        else:
            raise ValueError(f"messages.{i}.content.{j}: content block type {btype!r} cannot be translated to another provider")
    msg: dict[str, Any] = {"role": "assistant", "content": "".join(texts) if texts else None}
    if calls:
        msg["tool_calls"] = calls
    if thinking:
        msg["thinking_blocks"] = thinking
    return msg


def convert_tools(tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for i, t in enumerate(tools):
        if t.get("type") not in (None, "custom"):
            raise ValueError(f"tools.{i}: server tool {t.get('type')!r} exists only on Anthropic; name a Claude model to use it")
        fn: dict[str, Any] = {"name": t["name"], "parameters": t.get("input_schema") or {"type": "object", "properties": {}}}
        if t.get("description"):
            fn["description"] = t["description"]
        tool: dict[str, Any] = {"type": "function", "function": fn}
        if t.get("cache_control"):
            tool["cache_control"] = t["cache_control"]
        out.append(tool)
    return out


def convert_tool_choice(choice: dict[str, Any]) -> tuple[Any, bool | None]:
    kind = choice.get("type")
    parallel = False if choice.get("disable_parallel_tool_use") else None
    if kind == "auto":
        return "auto", parallel
    if kind == "any":
        return "required", parallel
    if kind == "none":
        return "none", None
    if kind == "tool":
        return {"type": "function", "function": {"name": choice["name"]}}, parallel
    raise ValueError("tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'")


def to_internal_request(body: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"model": body.get("model") or "auto", "messages": []}
    extra: dict[str, Any] = {}
    system = body.get("system")
    if system:
        out["messages"].append({"role": "system", "content": parts_from_blocks(system, "system")})
    for i, m in enumerate(body.get("messages") or []):
        role = m.get("role") if isinstance(m, dict) else None
        if role == "user":
            out["messages"].extend(convert_user(m.get("content"), i))
        elif role == "assistant":
            out["messages"].append(convert_assistant(m.get("content"), i))
        else:
            raise ValueError(f"messages.{i}.role: Input should be 'user' or 'assistant'")
    if body.get("max_tokens") is not None:
        out["max_tokens"] = body["max_tokens"]
    if body.get("stop_sequences"):
        out["stop"] = list(body["stop_sequences"])
    for key in ("temperature", "top_p", "stream"):
        if body.get(key) is not None:
            out[key] = body[key]
    if body.get("top_k") is not None:
        extra["top_k"] = body["top_k"]
    if body.get("tools"):
        out["tools"] = convert_tools(body["tools"])
    if body.get("tool_choice"):
        choice, parallel = convert_tool_choice(body["tool_choice"])
        out["tool_choice"] = choice
        if parallel is not None:
            out["parallel_tool_calls"] = parallel
    thinking = body.get("thinking")
    if thinking and thinking.get("type") != "disabled":
        extra["thinking"] = thinking
        out["reasoning_effort"] = _effort(thinking["budget_tokens"]) if thinking.get("budget_tokens") else "medium"
    elif thinking:
        extra["thinking"] = thinking
    output_config = body.get("output_config") or {}
    fmt = output_config.get("format")
    if fmt and fmt.get("type") == "json_schema":
        out["response_format"] = {"type": "json_schema", "json_schema": {"name": "output", "schema": fmt.get("schema", {})}}
    if output_config.get("effort"):
        extra["output_config"] = {"effort": output_config["effort"]}
        out.setdefault("reasoning_effort", {"max": "high", "xhigh": "high"}.get(output_config["effort"], output_config["effort"]))
    metadata = body.get("metadata") or {}
    if metadata.get("user_id"):
        out["user"] = metadata["user_id"]
        extra["metadata"] = metadata
    if body.get("service_tier"):
        extra["service_tier"] = body["service_tier"]
    if extra:
        out["provider_specific_fields"] = {"anthropic": extra}
    if "triage" in body:  # the gateway's own routing options (quality, models, price ceiling): never forwarded
        out["triage"] = body["triage"]
    return out
