"""The OpenAI shapes every non-OpenAI adapter produces: usage objects and stream chunks.

Owns the exact form of ``usage`` in a ``chat.completion`` and of a ``chat.completion.chunk``
envelope, so the Anthropic and Gemini translators cannot drift apart. Pure constructors.
"""

from __future__ import annotations

from typing import Any

from triage.providers.base import Usage


def openai_usage(usage: Usage) -> dict[str, Any]:
    """``Usage`` in the OpenAI response shape (``prompt_tokens`` includes cached tokens)."""
    return {
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.input_tokens + usage.output_tokens,
        "prompt_tokens_details": {"cached_tokens": usage.cached_input_tokens, "cache_write_tokens": usage.cache_write_tokens},
        "completion_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
    }


def chunk(cid: str, created: int, model: str, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}]}


def usage_chunk(cid: str, created: int, model: str, usage: Usage) -> dict[str, Any]:
    """The trailing usage chunk, as OpenAI sends it with ``stream_options.include_usage``."""
    return {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
            "choices": [], "usage": openai_usage(usage)}
