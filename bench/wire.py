"""Exact wire bodies the benchmark sends and the fake upstream answers, as bytes.

OpenAI Chat Completions (JSON, SSE chunks with the optional usage chunk and ``[DONE]``),
Anthropic Messages (JSON and the SSE event sequence: message_start, content_block_start,
content_block_delta(text_delta)..., content_block_stop, message_delta with usage,
message_stop) and the errors of both. Pure functions; the upstream caches what they return.
"""

from __future__ import annotations

import orjson

CREATED = 1767225600
PROMPT = "Summarise the main trade-offs between latency and cost when routing LLM requests."
ANSWER_WORDS = ("Routing ", "trades ", "a ", "little ", "quality ", "for ", "a ", "lot ", "of ", "cost. ")


def chat_request(model: str = "auto", stream: bool = False, prompt: str = PROMPT) -> bytes:
    """A typical small client request (what the load generator POSTs)."""
    body: dict = {"model": model, "messages": [
        {"role": "system", "content": "You are a concise assistant."},
        {"role": "user", "content": prompt}]}
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    return orjson.dumps(body)


def openai_completion(model: str, text: str = "".join(ANSWER_WORDS)) -> bytes:
    return orjson.dumps({
        "id": "chatcmpl-bench0001", "object": "chat.completion", "created": CREATED, "model": model,
        "system_fingerprint": "fp_bench",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text, "refusal": None,
                                             "annotations": []},
                     "logprobs": None, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 31, "completion_tokens": 12, "total_tokens": 43,
                  "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
                  "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                                "accepted_prediction_tokens": 0,
                                                "rejected_prediction_tokens": 0}},
        "service_tier": "default"})


def openai_chunks(model: str, chunks: int, include_usage: bool) -> list[bytes]:
    """SSE events (each ``data: ...\\n\\n``) of an OpenAI stream with ``chunks`` content deltas."""
    base = {"id": "chatcmpl-bench0001", "object": "chat.completion.chunk", "created": CREATED,
            "model": model, "system_fingerprint": "fp_bench", "service_tier": "default"}

    def event(obj: dict) -> bytes:
        return b"data: " + orjson.dumps(obj) + b"\n\n"

    def choice(delta: dict, finish=None) -> dict:
        return {**base, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}

    out = [event(choice({"role": "assistant", "content": "", "refusal": None}))]
    for i in range(chunks):
        out.append(event(choice({"content": ANSWER_WORDS[i % len(ANSWER_WORDS)]})))
    out.append(event(choice({}, "stop")))
    if include_usage:
        out.append(event({**base, "choices": [], "usage": {
            "prompt_tokens": 31, "completion_tokens": chunks, "total_tokens": 31 + chunks}}))
    out.append(b"data: [DONE]\n\n")
    return out


def anthropic_message(model: str, text: str = "".join(ANSWER_WORDS)) -> bytes:
    return orjson.dumps({
        "id": "msg_bench0001", "type": "message", "role": "assistant", "model": model,
        "content": [{"type": "text", "text": text}], "stop_reason": "end_turn", "stop_sequence": None,
        "usage": {"input_tokens": 31, "output_tokens": 12, "cache_creation_input_tokens": 0,
                  "cache_read_input_tokens": 0}})


def anthropic_events(model: str, chunks: int) -> list[bytes]:
    """SSE events of an Anthropic Messages stream with ``chunks`` text deltas."""

    def event(name: str, obj: dict) -> bytes:
        return b"event: " + name.encode() + b"\ndata: " + orjson.dumps(obj) + b"\n\n"

    out = [event("message_start", {"type": "message_start", "message": {
        "id": "msg_bench0001", "type": "message", "role": "assistant", "model": model, "content": [],
        "stop_reason": None, "stop_sequence": None,
        "usage": {"input_tokens": 31, "output_tokens": 1, "cache_creation_input_tokens": 0,
                  "cache_read_input_tokens": 0}}}),
        event("content_block_start", {"type": "content_block_start", "index": 0,
                                      "content_block": {"type": "text", "text": ""}}),
        event("ping", {"type": "ping"})]
    for i in range(chunks):
        out.append(event("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {
            "type": "text_delta", "text": ANSWER_WORDS[i % len(ANSWER_WORDS)]}}))
    out.append(event("content_block_stop", {"type": "content_block_stop", "index": 0}))
    out.append(event("message_delta", {"type": "message_delta", "delta": {
        "stop_reason": "end_turn", "stop_sequence": None}, "usage": {"output_tokens": chunks}}))
    out.append(event("message_stop", {"type": "message_stop"}))
    return out


def openai_error(status: int, message: str, anthropic: bool = False) -> bytes:
    if anthropic:
        kind = {529: "overloaded_error", 429: "rate_limit_error", 400: "invalid_request_error",
                404: "not_found_error"}.get(status, "api_error")
        return orjson.dumps({"type": "error", "error": {"type": kind, "message": message}})
    kind = {429: "rate_limit_exceeded", 400: "invalid_request_error", 404: "not_found"}.get(status, "server_error")
    return orjson.dumps({"error": {"message": message, "type": kind, "param": None, "code": kind}})


def anthropic_request(model: str = "claude-haiku-4-5", stream: bool = False, prompt: str = PROMPT) -> bytes:
    """The same small request in Anthropic's Messages shape (for hitting the upstream directly)."""
    body: dict = {"model": model, "max_tokens": 1024, "system": "You are a concise assistant.",
                  "messages": [{"role": "user", "content": prompt}]}
    if stream:
        body["stream"] = True
    return orjson.dumps(body)
