"""OpenAI chat request (internal format) -> Gemini ``generateContent`` request body.

Owns every choice made on the way to Gemini: ``systemInstruction``, ``contents`` with roles
user/model (consecutive same-role turns merged, function call/response turns kept in the order
Gemini demands), parts, tool call ids mapped back to function names (Gemini has no ids),
thought signatures replayed, ``tools.functionDeclarations`` with JSON Schema reduced to the
OpenAPI subset Gemini accepts, ``toolConfig`` and ``generationConfig``. Pure: builds dicts.

Images: base64 data URLs become ``inlineData``. An http(s) image URL cannot be inlined without
fetching it, which a pure translator does not do; it is sent as ``fileData.fileUri`` (Gemini
fetches public URLs itself) with the MIME type taken from the URL's extension.
"""

from __future__ import annotations

import copy
import json
import mimetypes
from typing import Any

from triage.providers.base import ErrorClass, UpstreamError
from triage.providers.media import is_http_url, parse_data_url

# Google's documented placeholder for function calls that Gemini 3 did not sign (history from
# another model): https://ai.google.dev/gemini-api/docs/thought-signatures
DUMMY_SIGNATURE = "skip_thought_signature_validator"
MAX_STOP_SEQUENCES = 5  # generationConfig.stopSequences takes at most 5
_BUDGETS = {"minimal": 512, "low": 1024, "medium": 8192, "high": 24576}
_SCHEMA_KEEP = {"title", "description", "nullable", "maxItems", "minItems", "minProperties", "maxProperties",
                "minLength", "maxLength", "pattern", "minimum", "maximum", "default", "propertyOrdering", "example"}
_FORMATS = {"STRING": {"enum", "date-time"}, "INTEGER": {"int32", "int64"}, "NUMBER": {"float", "double"}}


def bad_request(message: str) -> UpstreamError:
    return UpstreamError(ErrorClass.BAD_REQUEST, message, status=400, provider="gemini")


def to_schema(schema: Any, defs: dict[str, Any] | None = None, depth: int = 0) -> dict[str, Any]:
    """JSON Schema -> Gemini ``Schema`` (OpenAPI 3.0 subset): ``$ref`` inlined, ``null`` types
    turned into ``nullable``, ``oneOf`` into ``anyOf``, unsupported keywords dropped."""
    if not isinstance(schema, dict) or depth > 32:
        return {}
    if defs is None:
        defs = {**schema.get("definitions", {}), **schema.get("$defs", {})}
    if "$ref" in schema:
        target = defs.get(str(schema["$ref"]).rsplit("/", 1)[-1], {})
        merged = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
        return to_schema(merged, defs, depth + 1)
    s = dict(schema)
    out: dict[str, Any] = {}
    types = s.get("type")
    if isinstance(types, list):
        non_null = [t for t in types if t != "null"]
        if len(non_null) < len(types):
            out["nullable"] = True
        types = non_null[0] if len(non_null) == 1 else None
        if len(non_null) > 1:
            s["anyOf"] = [{**{k: v for k, v in s.items() if k not in ("type", "anyOf")}, "type": t} for t in non_null]
    variants = s.get("anyOf") or s.get("oneOf")
    if variants:
        real = [v for v in variants if not (isinstance(v, dict) and v.get("type") == "null")]
        if len(real) < len(variants):
            out["nullable"] = True
        if len(real) == 1:
            rest = {k: v for k, v in s.items() if k not in ("anyOf", "oneOf")}
            return {**to_schema({**real[0], **rest}, defs, depth + 1), **out}
        out["anyOf"] = [to_schema(v, defs, depth + 1) for v in real]
    for part in s.get("allOf") or []:  # allOf: merge the parts (Gemini has no intersection)
        merged_part = to_schema(part, defs, depth + 1)
        out.setdefault("properties", {}).update(merged_part.get("properties", {}))
        out["required"] = out.get("required", []) + merged_part.get("required", [])
        types = types or merged_part.get("type")
    if types == "null":
        out["nullable"] = True
        types = None
    if types is None and "anyOf" not in out:
        types = "object" if "properties" in s else "array" if "items" in s else None
    if types:
        out["type"] = str(types).upper()
    for key in _SCHEMA_KEEP:
        if key in s:
            out[key] = s[key]
    if "examples" in s and "example" not in out and isinstance(s["examples"], list) and s["examples"]:
        out["example"] = s["examples"][0]
    if "const" in s:
        s["enum"] = [s["const"]]
    if "enum" in s:
        if all(isinstance(e, str) for e in s["enum"]):
            out["enum"] = list(s["enum"])
            out.setdefault("type", "STRING")
        else:  # Gemini enums are strings only; keep the allowed values as guidance
            out["description"] = (out.get("description", "") + f" Allowed values: {json.dumps(s['enum'])}").strip()
    fmt = s.get("format")
    if fmt and fmt in _FORMATS.get(out.get("type", ""), set()):
        out["format"] = fmt
    if isinstance(s.get("properties"), dict):
        out["properties"] = {**out.get("properties", {}), **{k: to_schema(v, defs, depth + 1) for k, v in s["properties"].items()}}
    if "items" in s:
        out["items"] = to_schema(s["items"], defs, depth + 1)
    required = list(dict.fromkeys(out.get("required", []) + list(s.get("required") or [])))
    if required and "properties" in out:
        out["required"] = [r for r in required if r in out["properties"]]
    else:
        out.pop("required", None)
    return out


def parts_of(content: Any) -> list[dict[str, Any]]:
    if content is None:
        return []
    if isinstance(content, str):
        return [{"text": content}] if content else []  # Gemini refuses empty text parts
    parts = []
    for part in content:
        ptype = part.get("type")
        if ptype == "text":
            if part.get("text"):
                parts.append({"text": part["text"]})
        elif ptype == "image_url":
            url = part["image_url"]["url"] if isinstance(part["image_url"], dict) else part["image_url"]
            parts.append(media_part(url))
        elif ptype == "input_audio":
            audio = part["input_audio"]
            parts.append({"inlineData": {"mimeType": f"audio/{audio.get('format', 'wav')}", "data": audio["data"]}})
        elif ptype == "file":
            parsed = parse_data_url((part.get("file") or {}).get("file_data", ""))
            if not parsed:
                raise bad_request("file parts must carry base64 file_data for a Gemini model")
            parts.append({"inlineData": {"mimeType": parsed[0], "data": parsed[1]}})
        else:
            raise bad_request(f"content part type {ptype!r} cannot be sent to a Gemini model")
    return parts


def media_part(url: str) -> dict[str, Any]:
    parsed = parse_data_url(url)
    if parsed:
        return {"inlineData": {"mimeType": parsed[0], "data": parsed[1]}}
    if is_http_url(url):
        mime = mimetypes.guess_type(url.split("?", 1)[0])[0] or "image/jpeg"
        return {"fileData": {"mimeType": mime, "fileUri": url}}
    raise bad_request("image_url must be an http(s) URL or a base64 data URL")


def call_args(arguments: Any) -> dict[str, Any]:
    if isinstance(arguments, dict):
        return arguments
    try:
        value = json.loads(arguments) if arguments else {}
    except ValueError:
        raise bad_request("tool call arguments are not valid JSON") from None
    return value if isinstance(value, dict) else {"value": value}


def convert_messages(messages: list[dict[str, Any]], model: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(systemInstruction parts, contents)."""
    system: list[dict[str, Any]] = []
    contents: list[dict[str, Any]] = []
    names: dict[str, str] = {}  # tool call id -> function name, for functionResponse.name
    pending: list[str] = []  # ids of the last model turn's calls still without a response

    def push(role: str, parts: list[dict[str, Any]]) -> None:
        if not parts:
            return
        if contents and contents[-1]["role"] == role:
            contents[-1]["parts"].extend(parts)
        else:
            contents.append({"role": role, "parts": parts})

    def close_pending() -> None:
        # Gemini needs one response per call of the previous turn, in the same user turn.
        if pending:
            push("user", [{"functionResponse": {"name": names[c], "response": {"error": "No result was provided for this tool call."}}} for c in pending])
            pending.clear()

    for msg in messages:
        role = msg.get("role")
        if role in ("system", "developer"):
            system.extend(p for p in parts_of(msg.get("content")) if "text" in p)
        elif role == "user":
            close_pending()
            push("user", parts_of(msg.get("content")))
        elif role == "assistant":
            close_pending()
            parts = parts_of(msg.get("content"))
            calls = []
            for call in msg.get("tool_calls") or []:
                fn = call["function"]
                names[call["id"]] = fn["name"]
                part: dict[str, Any] = {"functionCall": {"name": fn["name"], "args": call_args(fn.get("arguments"))}}
                sig = (call.get("provider_specific_fields") or {}).get("thought_signature")
                if sig:
                    part["thoughtSignature"] = sig
                calls.append(part)
                pending.append(call["id"])
            if calls and model.startswith("gemini-3") and "thoughtSignature" not in calls[0]:
                calls[0]["thoughtSignature"] = DUMMY_SIGNATURE
            push("model", parts + calls)
        elif role in ("tool", "function"):
            cid = msg.get("tool_call_id") or ""
            text = msg.get("content") if isinstance(msg.get("content"), str) else "".join(
                p.get("text", "") for p in msg.get("content") or [] if p.get("type") == "text")
            if cid in pending:
                pending.remove(cid)
                key = "error" if msg.get("is_error") else "output"
                push("user", [{"functionResponse": {"name": names[cid], "response": {key: text}}}])
                if not isinstance(msg.get("content"), str):
                    push("user", [p for p in parts_of(msg.get("content")) if "text" not in p])
            else:
                push("user", [{"text": f"[tool result {cid}]: {text}"}])
        else:
            raise bad_request(f"message role {role!r} is not supported")
    if pending and messages and messages[-1].get("role") != "assistant":
        close_pending()
    return system, contents


def generation_config(body: dict[str, Any], model: str) -> dict[str, Any]:
    gc: dict[str, Any] = {}
    max_tokens = body.get("max_completion_tokens") or body.get("max_tokens")
    if max_tokens:
        gc["maxOutputTokens"] = max_tokens
    stops = body.get("stop")
    stops = [stops] if isinstance(stops, str) else list(stops or [])
    if stops:
        gc["stopSequences"] = stops[:MAX_STOP_SEQUENCES]
    for src, dst in (("temperature", "temperature"), ("top_p", "topP"), ("top_k", "topK"), ("seed", "seed"),
                     ("presence_penalty", "presencePenalty"), ("frequency_penalty", "frequencyPenalty"), ("n", "candidateCount")):
        if body.get(src) is not None:
            gc[dst] = body[src]
    fmt = body.get("response_format") or {}
    if fmt.get("type") == "json_object":
        gc["responseMimeType"] = "application/json"
    elif fmt.get("type") == "json_schema":
        gc["responseMimeType"] = "application/json"
        schema = (fmt.get("json_schema") or {}).get("schema")
        if schema:
            gc["responseSchema"] = to_schema(schema)
    effort = body.get("reasoning_effort")
    if effort:
        if model.startswith("gemini-3"):
            level = {"none": "minimal", "minimal": "minimal", "low": "low", "medium": "medium"}.get(effort, "high")
            gc["thinkingConfig"] = {"thinkingLevel": level, "includeThoughts": effort != "none"}
        elif effort == "none":
            gc["thinkingConfig"] = {"thinkingBudget": 0}
        else:
            gc["thinkingConfig"] = {"thinkingBudget": _BUDGETS.get(effort, 8192), "includeThoughts": True}
    return gc


def function_declarations(tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for tool in tools:
        if tool.get("type", "function") != "function":
            raise bad_request(f"tool type {tool.get('type')!r} cannot be sent to a Gemini model")
        fn = tool["function"]
        decl: dict[str, Any] = {"name": fn["name"]}
        if fn.get("description"):
            decl["description"] = fn["description"]
        params = to_schema(copy.deepcopy(fn.get("parameters") or {}))
        if params.get("properties"):  # an OBJECT without properties is refused: omit it
            decl["parameters"] = params
        out.append(decl)
    return out


def tool_config(choice: Any) -> dict[str, Any] | None:
    if choice is None:
        return None
    if choice == "auto":
        fcc: dict[str, Any] = {"mode": "AUTO"}
    elif choice == "none":
        fcc = {"mode": "NONE"}
    elif choice == "required":
        fcc = {"mode": "ANY"}
    elif isinstance(choice, dict) and choice.get("type") == "function":
        fcc = {"mode": "ANY", "allowedFunctionNames": [choice["function"]["name"]]}
    else:
        raise bad_request(f"tool_choice {choice!r} is not supported")
    return {"functionCallingConfig": fcc}


def build_body(body: dict[str, Any], model: str) -> dict[str, Any]:
    system, contents = convert_messages(body.get("messages") or [], model)
    out: dict[str, Any] = {"contents": contents}
    if system:
        out["systemInstruction"] = {"parts": system}
    if body.get("tools"):
        out["tools"] = [{"functionDeclarations": function_declarations(body["tools"])}]
        cfg = tool_config(body.get("tool_choice"))
        if cfg:
            out["toolConfig"] = cfg
    gc = generation_config(body, model)
    if gc:
        out["generationConfig"] = gc
    return out
