"""OpenAI chat request (internal format) -> Anthropic Messages request body.

Owns every choice made on the way to ``POST /v1/messages``: system hoisting, message and
content-block mapping, shape normalisation (Anthropic refuses what OpenAI allows), tools and
tool_choice, per-model parameter adaptation and the ``max_tokens`` default. Pure: builds a
dict, never sends, logs or reads configuration; unknown internal fields are dropped here,
never forwarded.

Internal-format extensions read here (see ``triage.providers.base``): ``thinking_blocks`` on
assistant messages, ``cache_control`` on content parts and tools, ``is_error`` on tool
messages, and ``provider_specific_fields.anthropic`` on the body (exact ``thinking``,
``top_k``, ``metadata``, ``service_tier`` from an Anthropic client).
"""

from __future__ import annotations

import json
import re
from typing import Any

from triage.providers.base import ErrorClass, UpstreamError
from triage.providers.media import is_http_url, parse_data_url

ANTHROPIC_VERSION = "2023-06-01"
IMAGE_TYPES = {"image/jpeg", "image/png", "image/gif", "image/webp"}

# Sampling per family (platform.claude.com/docs/en/about-claude/models/migration-guide):
# Opus 4.7+ and all later generations refuse temperature/top_p/top_k ("`temperature` is
# deprecated for this model"); Claude 4.1-4.6 refuse temperature together with top_p;
# Claude 3.x and the first Claude 4 releases take both.
_NO_SAMPLING = re.compile(r"^claude-(opus-4-([7-9]|\d\d)|[a-z]+-[5-9]|fable|mythos)")
_BOTH_SAMPLING = re.compile(r"^claude-(3|instant|2|(opus|sonnet)-4(-0|-2025\d{4})?$)")
# Manual thinking budgets are gone on the same models that dropped sampling (adaptive only).
_BUDGETS = {"minimal": 1024, "low": 1024, "medium": 4096, "high": 16384, "xhigh": 32000}

# Default max_tokens when the caller sets none (OpenAI allows that, Anthropic does not): the
# model's output limit, capped at 32000 so a forgotten limit cannot run a non-streaming call
# past the upstream's 10-minute guidance. First matching prefix wins.
_MAX_TOKENS = (
    ("claude-3-5", 8192),
    ("claude-3-7", 32000),
    ("claude-3", 4096),
    ("claude-opus-4-0", 32000),
    ("claude-opus-4-1", 32000),
    ("claude-opus-4-2025", 32000),
)
_DEFAULT_MAX_TOKENS = 32000
_TOOL_ID = re.compile(r"[^a-zA-Z0-9_-]")


def default_max_tokens(model: str) -> int:
    for prefix, n in _MAX_TOKENS:
        if model.startswith(prefix):
            return n
    return _DEFAULT_MAX_TOKENS


def tool_id(raw: str) -> str:
    """Anthropic ids must match ``^[a-zA-Z0-9_-]+$``; ids minted elsewhere are made to fit,
    the same way for the call and its result so the pair still matches."""
    return _TOOL_ID.sub("_", raw) or "toolu_empty"


def bad_request(message: str) -> UpstreamError:
    return UpstreamError(ErrorClass.BAD_REQUEST, message, status=400, provider="anthropic")


def content_blocks(content: Any) -> list[dict[str, Any]]:
    """OpenAI message content (string or parts) -> Anthropic content blocks."""
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    blocks: list[dict[str, Any]] = []
    for part in content:
        ptype = part.get("type")
        if ptype == "text":
            if not part.get("text"):
                continue  # Anthropic refuses empty text blocks
            block: dict[str, Any] = {"type": "text", "text": part["text"]}
        elif ptype == "image_url":
            block = image_block(part["image_url"]["url"] if isinstance(part["image_url"], dict) else part["image_url"])
        elif ptype == "file":
            block = document_block(part.get("file") or {})
        else:
            raise bad_request(f"content part type {ptype!r} cannot be sent to an Anthropic model")
        if "cache_control" in part:
            block["cache_control"] = part["cache_control"]
        blocks.append(block)
    return blocks


def image_block(url: str) -> dict[str, Any]:
    parsed = parse_data_url(url)
    if parsed:
        mime, data = parsed
        if mime not in IMAGE_TYPES:
            raise bad_request(f"image type {mime} is not supported by Anthropic (jpeg, png, gif, webp)")
        return {"type": "image", "source": {"type": "base64", "media_type": mime, "data": data}}
    if is_http_url(url):
        return {"type": "image", "source": {"type": "url", "url": url}}
    raise bad_request("image_url must be an http(s) URL or a base64 data URL")


def document_block(file: dict[str, Any]) -> dict[str, Any]:
    parsed = parse_data_url(file.get("file_data", ""))
    if not parsed or parsed[0] != "application/pdf":
        raise bad_request("only base64 PDF files can be sent to an Anthropic model")
    block: dict[str, Any] = {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": parsed[1]}}
    if file.get("filename"):
        block["title"] = file["filename"]
    return block


def tool_result_content(content: Any) -> str | list[dict[str, Any]]:
    if isinstance(content, str) or content is None:
        return content or ""
    return content_blocks(content)


def tool_input(arguments: Any) -> dict[str, Any]:
    if isinstance(arguments, dict):
        return arguments
    if not arguments:
        return {}
    try:
        value = json.loads(arguments)
    except ValueError:
        raise bad_request("tool call arguments are not valid JSON") from None
    if not isinstance(value, dict):
        raise bad_request("tool call arguments must be a JSON object for Anthropic")
    return value


def convert_messages(messages: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(system blocks, alternating user/assistant messages)."""
    system: list[dict[str, Any]] = []
    turns: list[dict[str, Any]] = []
    open_calls: dict[str, str] = {}  # tool_use ids of the last assistant turn awaiting results

    def push(role: str, blocks: list[dict[str, Any]]) -> None:
        if not blocks:
            return  # empty turns are dropped: Anthropic refuses them
        if turns and turns[-1]["role"] == role:
            # Consecutive same-role messages merge; tool results stay first in a user turn.
            merged = turns[-1]["content"] + blocks
            turns[-1]["content"] = sorted(merged, key=lambda b: b["type"] != "tool_result") if role == "user" else merged
        else:
            turns.append({"role": role, "content": blocks})

    for msg in messages:
        role = msg.get("role")
        if role in ("system", "developer"):
            system.extend(content_blocks(msg.get("content")))
        elif role == "user":
            close_calls(push, open_calls)
            push("user", content_blocks(msg.get("content")))
        elif role == "assistant":
            close_calls(push, open_calls)
            # Unsigned thinking (reasoning another model produced) would be refused: leave it out.
            blocks = [dict(b) for b in msg.get("thinking_blocks") or [] if b.get("type") != "thinking" or b.get("signature")]
            blocks += content_blocks(msg.get("content"))
            for call in msg.get("tool_calls") or []:
                cid = tool_id(call["id"])
                blocks.append({"type": "tool_use", "id": cid, "name": call["function"]["name"], "input": tool_input(call["function"].get("arguments"))})
                open_calls[cid] = call["function"]["name"]
            push("assistant", blocks)
        elif role in ("tool", "function"):
            cid = tool_id(msg.get("tool_call_id") or msg.get("name") or "")
            if cid in open_calls:
                open_calls.pop(cid)
                block: dict[str, Any] = {"type": "tool_result", "tool_use_id": cid, "content": tool_result_content(msg.get("content"))}
                if msg.get("is_error"):
                    block["is_error"] = True
                push("user", [block])
            else:
                # A result whose call is not in the previous turn would be refused; keep it as text.
                text = msg.get("content") if isinstance(msg.get("content"), str) else json.dumps(msg.get("content"))
                push("user", [{"type": "text", "text": f"[tool result {msg.get('tool_call_id', '')}]: {text}"}])
        else:
            raise bad_request(f"message role {role!r} is not supported")
    close_calls(push, open_calls, final=True)
    return system, turns


def close_calls(push: Any, open_calls: dict[str, str], final: bool = False) -> None:
    """Calls left without a result before the conversation moves on get an explicit error
    result: Anthropic refuses a tool_use that the next turn does not answer."""
    if open_calls and not final:
        push("user", [{"type": "tool_result", "tool_use_id": cid, "content": "No result was provided for this tool call.", "is_error": True} for cid in open_calls])
    open_calls.clear()


def convert_tools(tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for tool in tools:
        if tool.get("type", "function") != "function":
            raise bad_request(f"tool type {tool.get('type')!r} cannot be sent to an Anthropic model")
        fn = tool["function"]
        schema = fn.get("parameters") or {"type": "object", "properties": {}}
        entry: dict[str, Any] = {"name": fn["name"], "input_schema": schema}
        if fn.get("description"):
            entry["description"] = fn["description"]
        cache = tool.get("cache_control") or fn.get("cache_control")
        if cache:
            entry["cache_control"] = cache
        out.append(entry)
    return out


def convert_tool_choice(choice: Any, parallel: bool | None) -> dict[str, Any] | None:
    if choice is None:
        out: dict[str, Any] | None = {"type": "auto"} if parallel is False else None
    elif choice == "auto":
        out = {"type": "auto"}
    elif choice == "none":
        return {"type": "none"}
    elif choice == "required":
        out = {"type": "any"}  # OpenAI's "required" is Anthropic's "any"
    elif isinstance(choice, dict) and choice.get("type") == "function":
        out = {"type": "tool", "name": choice["function"]["name"]}
    else:
        raise bad_request(f"tool_choice {choice!r} is not supported")
    if out is not None and parallel is False:
        out["disable_parallel_tool_use"] = True
    return out


def build_body(body: dict[str, Any], model: str, *, stream: bool) -> dict[str, Any]:
    extra = (body.get("provider_specific_fields") or {}).get("anthropic") or {}
    system, messages = convert_messages(body.get("messages") or [])
    out: dict[str, Any] = {"model": model, "messages": messages}
    max_tokens = body.get("max_completion_tokens") or body.get("max_tokens") or default_max_tokens(model)
    thinking = thinking_config(body, extra, model)
    if thinking and thinking.get("type") == "enabled" and max_tokens <= thinking["budget_tokens"]:
        max_tokens = thinking["budget_tokens"] + default_max_tokens(model) // 4  # budget must be below max_tokens
    out["max_tokens"] = max_tokens
    fmt = body.get("response_format") or {}
    if fmt.get("type") == "json_schema" and not _BOTH_SAMPLING.match(model):
        out["output_config"] = {"format": {"type": "json_schema", "schema": fmt["json_schema"].get("schema", {})}}
    elif fmt.get("type") in ("json_object", "json_schema"):
        # No JSON mode on this model: ask for it in the system prompt (the schema, if any, too).
        hint = "Respond with a single valid JSON object and nothing else."
        if fmt.get("type") == "json_schema":
            hint += " It must conform to this JSON schema: " + json.dumps(fmt["json_schema"].get("schema", {}))
        system.append({"type": "text", "text": hint})
    if system:
        out["system"] = system
    stops = body.get("stop")
    stops = [stops] if isinstance(stops, str) else list(stops or [])
    stops = [s for s in stops if s.strip()]  # whitespace-only stop sequences are refused
    if stops:
        out["stop_sequences"] = stops
    out.update(sampling(body, extra, model, thinking is not None and thinking.get("type") != "disabled"))
    if body.get("tools"):
        out["tools"] = convert_tools(body["tools"])
    choice = convert_tool_choice(body.get("tool_choice"), body.get("parallel_tool_calls"))
    if choice is not None and body.get("tools"):
        out["tool_choice"] = choice
    if thinking:
        out["thinking"] = thinking
    effort = extra.get("output_config", {}).get("effort") if isinstance(extra.get("output_config"), dict) else None
    if effort:
        out.setdefault("output_config", {})["effort"] = effort
    metadata = extra.get("metadata") or ({"user_id": body["user"]} if body.get("user") else None)
    if metadata:
        out["metadata"] = metadata
    if extra.get("service_tier"):
        out["service_tier"] = extra["service_tier"]
    if stream:
        out["stream"] = True
    return out


def thinking_config(body: dict[str, Any], extra: dict[str, Any], model: str) -> dict[str, Any] | None:
    if "thinking" in extra:
        return extra["thinking"]
    effort = body.get("reasoning_effort")
    if not effort or effort == "none":
        return None
    if _NO_SAMPLING.match(model):
        return {"type": "adaptive"}
    return {"type": "enabled", "budget_tokens": _BUDGETS.get(effort, 4096)}


def sampling(body: dict[str, Any], extra: dict[str, Any], model: str, thinking: bool) -> dict[str, Any]:
    """temperature/top_p/top_k as far as the model accepts them; the rest is dropped."""
    if _NO_SAMPLING.match(model) or thinking:
        return {}  # refused outright, or incompatible with extended thinking
    out: dict[str, Any] = {}
    if body.get("temperature") is not None:
        out["temperature"] = min(1.0, max(0.0, float(body["temperature"])))  # OpenAI goes to 2
    if body.get("top_p") is not None and ("temperature" not in out or _BOTH_SAMPLING.match(model)):
        out["top_p"] = body["top_p"]
    top_k = extra.get("top_k", body.get("top_k"))
    if top_k is not None:
        out["top_k"] = top_k
    return out
