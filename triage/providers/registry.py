"""Adapters by kind. Adding a provider: one folder under ``triage/providers`` and one line here."""

from __future__ import annotations

import importlib

from triage.providers.base import ProviderAdapter

_KINDS = {
    "openai": "triage.providers.openai",
    "anthropic": "triage.providers.anthropic",
    "gemini": "triage.providers.gemini",
}


def adapter_for(kind: str) -> ProviderAdapter:
    """The adapter of a wire dialect; raises LookupError if the kind has none (yet)."""
    module = importlib.import_module(_KINDS[kind])
    adapter = getattr(module, "ADAPTER", None)
    if adapter is None:
        raise LookupError(f"no adapter for provider kind {kind!r}")
    return adapter
