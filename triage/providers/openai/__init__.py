"""Adapter for OpenAI and every OpenAI-compatible server (Ollama, vLLM, OpenRouter, Groq...)."""

from __future__ import annotations

from triage.providers.openai.errors import classify_error
from triage.providers.openai.request import chat_request
from triage.providers.openai.response import chat_response
from triage.providers.openai.stream import OpenAIStreamTranslator


class OpenAIAdapter:
    kind = "openai"

    chat_request = staticmethod(chat_request)
    chat_response = staticmethod(chat_response)
    classify_error = staticmethod(classify_error)

    def stream_translator(self, model: str) -> OpenAIStreamTranslator:
        return OpenAIStreamTranslator()


ADAPTER = OpenAIAdapter()
