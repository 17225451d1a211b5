"""A fake Gemini API (generativelanguage): a real HTTP server on 127.0.0.1 in its own process.

Owns the Gemini wire format as the real API speaks it: ``POST /{v1,v1beta}/models/{m}:generateContent``,
``:streamGenerateContent`` (``?alt=sse`` for server-sent events, a JSON array otherwise) and
``:countTokens``; validation that refuses what the real API refuses (unknown fields anywhere,
schema keywords outside Gemini's OpenAPI subset, roles other than user/model, function
call/response turns out of order or miscounted, Gemini 3 function calls replayed without their
thought signature); the API's error shape ``{"error":{"code","message","status"}}``.
Must not import ``triage``: it is the spec the Gemini adapter is checked against.

Reply script (JSON to ``/_script``; keys optional)::

    {"text": "...", "parts": [{"text"}|{"functionCall":{"name","args"}}|{"text","thought":true}],
     "finishReason": "STOP", "chunks": 3, "usage": {"cachedContentTokenCount": 4, ...},
     "blockReason": "SAFETY", "status": 429, "message": "...", "retryDelay": "7s", "delay": 0.0}

Key handling as the real API: a missing key is 403 PERMISSION_DENIED, a wrong one is
400 INVALID_ARGUMENT with ErrorInfo reason API_KEY_INVALID (Gemini never answers 401 to a key).
Run: ``python gemini_server.py [--port 0] [--key KEY]``; prints ``LISTENING <port>``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import sys
import uuid
from typing import Any

from aiohttp import web

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scripted import Recorder, apply_stop, serve, split_text  # noqa: E402

DEFAULT_KEY = "test-gemini-key"
PATH = re.compile(r"^/(v1|v1beta|v1alpha)/models/([^/:]+):(generateContent|streamGenerateContent|countTokens)$")
STATUS_NAMES = {400: "INVALID_ARGUMENT", 403: "PERMISSION_DENIED", 404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED",
                500: "INTERNAL", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}

# Field sets of the request messages (proto JSON: camelCase; snake_case is accepted too).
FIELDS: dict[str, set[str]] = {
    "request": {"model", "contents", "systemInstruction", "tools", "toolConfig", "safetySettings", "generationConfig", "cachedContent"},
    "content": {"role", "parts"},
    "part": {"text", "inlineData", "fileData", "functionCall", "functionResponse", "executableCode", "codeExecutionResult",
             "thought", "thoughtSignature", "videoMetadata", "partMetadata", "mediaResolution"},
    "inlineData": {"mimeType", "data", "displayName"},
    "fileData": {"mimeType", "fileUri", "displayName"},
    "functionCall": {"id", "name", "args"},
    "functionResponse": {"id", "name", "response", "parts", "willContinue", "scheduling"},
    "tool": {"functionDeclarations", "googleSearch", "googleSearchRetrieval", "codeExecution", "urlContext"},
    "functionDeclaration": {"name", "description", "parameters", "parametersJsonSchema", "response", "responseJsonSchema", "behavior"},
    "toolConfig": {"functionCallingConfig"},
    "functionCallingConfig": {"mode", "allowedFunctionNames"},
    "generationConfig": {"stopSequences", "responseMimeType", "responseSchema", "responseJsonSchema", "responseModalities",
                         "candidateCount", "maxOutputTokens", "temperature", "topP", "topK", "seed", "presencePenalty",
                         "frequencyPenalty", "responseLogprobs", "logprobs", "thinkingConfig", "mediaResolution"},
    "thinkingConfig": {"includeThoughts", "thinkingBudget", "thinkingLevel"},
    "schema": {"type", "format", "title", "description", "nullable", "enum", "maxItems", "minItems", "properties", "required",
               "minProperties", "maxProperties", "minLength", "maxLength", "pattern", "example", "anyOf", "propertyOrdering",
               "default", "items", "minimum", "maximum"},
}
DATA_FIELDS = ("text", "inlineData", "fileData", "functionCall", "functionResponse", "executableCode", "codeExecutionResult")
SCHEMA_TYPES = {"STRING", "NUMBER", "INTEGER", "BOOLEAN", "ARRAY", "OBJECT", "NULL"}
MIME_TYPES = {"text/plain", "application/json", "text/x.enum"}


class Invalid(Exception):
    def __init__(self, message: str, status: int = 400, details: list | None = None) -> None:
        super().__init__(message)
        self.message, self.status, self.details = message, status, details


def error_response(status: int, message: str, details: list | None = None) -> web.Response:
    err: dict[str, Any] = {"code": status, "message": message, "status": STATUS_NAMES.get(status, "UNKNOWN")}
    if details:
        err["details"] = details
    return web.json_response({"error": err}, status=status)


def camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(w[:1].upper() + w[1:] for w in rest)


def check_fields(obj: Any, kind: str, at: str) -> dict:
    if not isinstance(obj, dict):
        raise Invalid(f"Invalid JSON payload received. Expected an object at '{at}'.")
    out = {}
    for k, v in obj.items():
        name = camel(k)
        if name not in FIELDS[kind]:
            raise Invalid(f"Invalid JSON payload received. Unknown name \"{k}\" at '{at}': Cannot find field.")
        out[name] = v
    return out


def check_schema(schema: Any, at: str) -> None:
    s = check_fields(schema, "schema", at)
    t = s.get("type")
    if t is not None and (not isinstance(t, str) or t.upper() not in SCHEMA_TYPES):
        raise Invalid(f"Invalid value at '{at}.type' ({json.dumps(t)})")
    for name, sub in (s.get("properties") or {}).items():
        check_schema(sub, f"{at}.properties[{name}].value")
    if "items" in s:
        check_schema(s["items"], f"{at}.items")
    for i, sub in enumerate(s.get("anyOf") or []):
        check_schema(sub, f"{at}.any_of[{i}]")
    if "enum" in s and not all(isinstance(e, str) for e in s["enum"]):
        raise Invalid(f"Invalid value at '{at}.enum': enum values must be strings")


def check_part(part: Any, at: str) -> dict:
    p = check_fields(part, "part", at)
    present = [f for f in DATA_FIELDS if f in p]
    if len(present) != 1:
        raise Invalid(f"* GenerateContentRequest.{at}.data: required oneof field 'data' must have one initialized field")
    if "text" in p and p["text"] == "" and not p.get("thought"):
        raise Invalid("Unable to submit request because it has an empty text parameter. Add a value to the parameter and try again.")
    for f in ("inlineData", "fileData", "functionCall", "functionResponse"):
        if f in p:
            p[f] = check_fields(p[f], f, f"{at}.{f}")
    if "inlineData" in p and not (p["inlineData"].get("mimeType") and p["inlineData"].get("data")):
        raise Invalid(f"* GenerateContentRequest.{at}.inline_data: mime_type and data are required")
    if "functionCall" in p and not p["functionCall"].get("name"):
        raise Invalid(f"* GenerateContentRequest.{at}.function_call.name: name is required")
    if "functionResponse" in p and not p["functionResponse"].get("name"):
        raise Invalid(f"* GenerateContentRequest.{at}.function_response.name: Name cannot be empty.")
    return p


def check_contents(contents: Any, model: str) -> list[dict]:
    if not isinstance(contents, list) or not contents:
        raise Invalid("* GenerateContentRequest.contents: contents is not specified")
    turns = []
    for i, c in enumerate(contents):
        c = check_fields(c, "content", f"contents[{i}]")
        role = c.get("role", "user" if len(contents) == 1 else "")
        if role not in ("user", "model"):
            raise Invalid("Please use a valid role: user, model.")
        parts = c.get("parts")
        if not parts:
            raise Invalid(f"* GenerateContentRequest.contents[{i}].parts: contents.parts must not be empty.")
        turns.append((role, [check_part(p, f"contents[{i}].parts[{j}]") for j, p in enumerate(parts)]))
    for i, (role, parts) in enumerate(turns):
        calls = [p for p in parts if "functionCall" in p]
        responses = [p for p in parts if "functionResponse" in p]
        if calls:
            if role != "model" or i == 0 or turns[i - 1][0] != "user":
                raise Invalid("Please ensure that function call turn comes immediately after a user turn or after a function response turn.")
        if responses:
            prev_calls = [p for p in turns[i - 1][1] if "functionCall" in p] if i > 0 else []
            if role != "user" or not prev_calls:
                raise Invalid("Please ensure that function response turn comes immediately after a function call turn.")
            if len(prev_calls) != len(responses):
                raise Invalid("Please ensure that the number of function response parts is equal to the number of function call parts of the function call turn.")
    if model.startswith("gemini-3"):
        check_signatures(turns)
    return turns


def check_signatures(turns: list[tuple[str, list[dict]]]) -> None:
    """Gemini 3: in the current turn, each model step's first functionCall part must carry its
    thoughtSignature (https://ai.google.dev/gemini-api/docs/thought-signatures)."""
    start = 0
    for i, (role, parts) in enumerate(turns):
        if role == "user" and any("text" in p for p in parts):
            start = i
    for i, (role, parts) in enumerate(turns[start:], start):
        calls = [p for p in parts if "functionCall" in p]
        if role == "model" and calls and not calls[0].get("thoughtSignature"):
            raise Invalid(f"Function call is missing a thought_signature in functionCall parts. This is required for tools to work correctly, and missing thought_signature may lead to degraded model performance. Additional data, function call `default_api:{calls[0]['functionCall']['name']}` , position {i + 1}. Please refer to https://ai.google.dev/gemini-api/docs/thought-signatures for more details.")


def check_body(body: Any, model: str) -> dict:
    b = check_fields(body, "request", "")
    turns = check_contents(b.get("contents"), model)
    if "systemInstruction" in b:
        si = check_fields(b["systemInstruction"], "content", "system_instruction")
        if not si.get("parts"):
            raise Invalid("* GenerateContentRequest.system_instruction.parts: contents.parts must not be empty.")
        for j, p in enumerate(si["parts"]):
            if "text" not in check_part(p, f"system_instruction.parts[{j}]"):
                raise Invalid("* GenerateContentRequest.system_instruction: only text parts are supported.")
    for i, tool in enumerate(b.get("tools") or []):
        t = check_fields(tool, "tool", f"tools[{i}]")
        for j, fd in enumerate(t.get("functionDeclarations") or []):
            d = check_fields(fd, "functionDeclaration", f"tools[{i}].function_declarations[{j}]")
            if not re.match(r"^[a-zA-Z_][a-zA-Z0-9_.:-]{0,127}$", str(d.get("name", ""))):
                raise Invalid(f"* GenerateContentRequest.tools[{i}].function_declarations[{j}].name: Invalid function name.")
            if "parameters" in d:
                check_schema(d["parameters"], f"tools[{i}].function_declarations[{j}].parameters")
    if "toolConfig" in b:
        fcc = check_fields(check_fields(b["toolConfig"], "toolConfig", "tool_config").get("functionCallingConfig", {}), "functionCallingConfig", "tool_config.function_calling_config")
        if fcc.get("mode", "AUTO") not in ("AUTO", "ANY", "NONE", "VALIDATED", "MODE_UNSPECIFIED"):
            raise Invalid(f"Invalid value at 'tool_config.function_calling_config.mode' ({json.dumps(fcc.get('mode'))})")
        if fcc.get("allowedFunctionNames") and fcc.get("mode") not in ("ANY", "VALIDATED"):
            raise Invalid("* GenerateContentRequest.tool_config.function_calling_config.allowed_function_names: only allowed when mode is ANY or VALIDATED")
    gc = check_fields(b.get("generationConfig", {}), "generationConfig", "generation_config")
    if "thinkingConfig" in gc:
        check_fields(gc["thinkingConfig"], "thinkingConfig", "generation_config.thinking_config")
    if "responseMimeType" in gc and gc["responseMimeType"] not in MIME_TYPES:
        raise Invalid(f"* GenerateContentRequest.generation_config.response_mime_type: allowed mimetypes are {', '.join(sorted(MIME_TYPES))}.")
    if "responseSchema" in gc:
        if gc.get("responseMimeType") not in ("application/json", "text/x.enum"):
            raise Invalid("* GenerateContentRequest.generation_config.response_schema: response_mime_type must be application/json or text/x.enum")
        check_schema(gc["responseSchema"], "generation_config.response_schema")
    b["generationConfig"], b["_turns"] = gc, turns
    return b


def build_reply(b: dict, model: str, script: dict) -> tuple[list[dict], dict, dict | None]:
    """(parts, candidate-level fields, promptFeedback) for the scripted reply."""
    gc = b["generationConfig"]
    if script.get("blockReason"):
        return [], {}, {"blockReason": script["blockReason"]}
    parts = script.get("parts")
    if parts is None:
        last = next((p["text"] for role, ps in reversed(b["_turns"]) if role == "user" for p in ps if "text" in p), "")
        parts = [{"text": script.get("text", "echo: " + last)}]
    parts = json.loads(json.dumps(parts))
    finish = script.get("finishReason", "STOP")
    budget = gc.get("maxOutputTokens")
    for p in parts:
        if "text" in p and not p.get("thought"):
            p["text"], _ = apply_stop(p["text"], gc.get("stopSequences") or [])
            words = p["text"].split(" ")
            if budget and len(words) > budget:  # one word = one token, so the limit is observable
                p["text"], finish = " ".join(words[:budget]), "MAX_TOKENS"
    calls = [p for p in parts if "functionCall" in p]
    if calls and model.startswith("gemini-3") and "thoughtSignature" not in calls[0]:
        calls[0]["thoughtSignature"] = base64.b64encode(b"sig-" + uuid.uuid4().bytes).decode()  # opaque bytes, as the real one
    extra: dict[str, Any] = {"finishReason": finish, "index": 0}
    if finish in ("SAFETY", "PROHIBITED_CONTENT", "BLOCKLIST", "SPII"):
        extra["safetyRatings"] = [{"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH", "blocked": True}]
    return parts, extra, None


def usage_for(b: dict, parts: list[dict], script: dict) -> dict:
    prompt = max(1, len(json.dumps([b.get("systemInstruction"), b.get("contents"), b.get("tools")])) // 4)
    out = sum(len(p["text"].split()) for p in parts if "text" in p and not p.get("thought")) + sum(len(json.dumps(p["functionCall"])) // 4 for p in parts if "functionCall" in p)
    thoughts = sum(len(p["text"].split()) for p in parts if p.get("thought"))
    u = {"promptTokenCount": prompt, "candidatesTokenCount": out, "totalTokenCount": prompt + out + thoughts,
         "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt}]}
    if thoughts:
        u["thoughtsTokenCount"] = thoughts
    u.update(script.get("usage") or {})
    return u


def response(model: str, parts: list[dict] | None, extra: dict, feedback: dict | None, usage: dict, rid: str) -> dict:
    out: dict[str, Any] = {}
    if feedback is None:
        cand = dict(extra)
        if parts:
            cand = {"content": {"parts": parts, "role": "model"}, **extra}
        out["candidates"] = [cand]
    else:
        out["promptFeedback"] = feedback
    out.update({"usageMetadata": usage, "modelVersion": model, "responseId": rid})
    return out


def build(recorder: Recorder) -> web.Application:
    app = web.Application(client_max_size=64 * 1024 * 1024)

    async def handle(request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        entry = recorder.record(request, raw)
        m = PATH.match(request.path)
        if not m:
            return error_response(404, f"Method not found: {request.path}")
        _, model, method = m.groups()
        key = request.headers.get("x-goog-api-key") or request.query.get("key")
        if not key:
            return error_response(403, "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.")
        if key != recorder.api_key:
            return error_response(400, "API key not valid. Please pass a valid API key.", [
                {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID", "domain": "googleapis.com"}])
        if entry["body"] is None:
            return error_response(400, "Invalid JSON payload received.")
        if method == "countTokens":
            contents = entry["body"].get("contents") or (entry["body"].get("generateContentRequest") or {}).get("contents")
            return web.json_response({"totalTokens": max(1, len(json.dumps(contents)) // 4)})
        try:
            b = check_body(entry["body"], model)
        except Invalid as e:
            return error_response(e.status, e.message, e.details)
        script = recorder.next_script() or {}
        if "status" in script:
            status = int(script["status"])
            details = [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": script["retryDelay"]}] if "retryDelay" in script else None
            return error_response(status, script.get("message", "scripted error"), details)
        parts, extra, feedback = build_reply(b, model, script)
        usage, rid = usage_for(b, parts, script), uuid.uuid4().hex[:22]
        if method == "generateContent":
            return web.json_response(response(model, parts, extra, feedback, usage, rid))
        chunks = stream_chunks(model, parts, extra, feedback, usage, rid, int(script.get("chunks", 3)))
        if request.query.get("alt") != "sse":
            return web.json_response(chunks)
        resp = web.StreamResponse(headers={"content-type": "text/event-stream"})
        await resp.prepare(request)
        for c in chunks:
            # The real API separates events with CRLF CRLF.
            await resp.write(b"data: " + json.dumps(c).encode() + b"\r\n\r\n")
            if script.get("delay"):
                await asyncio.sleep(float(script["delay"]))
        return resp

    app.router.add_post("/{tail:.*}", handle)
    return app


def stream_chunks(model: str, parts: list[dict], extra: dict, feedback: dict | None, usage: dict, rid: str, n: int) -> list[dict]:
    """Text parts split into ``n`` chunks each; function calls arrive whole, one per chunk."""
    if feedback is not None or not parts:
        return [response(model, parts, extra, feedback, usage, rid)]
    pieces: list[dict] = []
    for p in parts:
        if "text" in p:
            pieces += [dict(p, text=t) for t in split_text(p["text"], n) if t]
        else:
            pieces.append(p)
    partial = {k: v for k, v in usage.items() if k in ("promptTokenCount", "totalTokenCount")}
    out = [response(model, [pc], {"index": 0}, None, partial, rid) for pc in pieces]
    if not out:
        return [response(model, [], extra, None, usage, rid)]
    last = out[-1]["candidates"][0]
    last.update(extra)
    out[-1]["usageMetadata"] = usage
    return out


if __name__ == "__main__":
    serve(build, DEFAULT_KEY)
