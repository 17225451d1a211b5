"""The running gateway's state: settings, catalog, the pooled client, the ledger writer.

One ``Gateway`` per process, created by the app factory and passed to every handler; no
module-level mutable state. Settings are replaced as a whole (``apply``) so a request sees
either the old configuration or the new one, never half of each.
"""

from __future__ import annotations

import secrets
import sys
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Mapping

from triage.catalog.model import Catalog, CatalogModel, load_catalog
from triage.config.settings import Settings
from triage.ledger.record import LedgerRecord
from triage.ledger.store import open_store
from triage.ledger.writer import LedgerWriter
from triage.providers.base import ProviderConfig
from triage.routing.decide import ConfigCache, QualityEstimator, capability_quality
from triage.upstream.breaker import Breakers
from triage.upstream.client import UpstreamClient

# Names whose provider is clear even when the catalog does not know the model yet.
PREFIX_PROVIDERS: tuple[tuple[str, str], ...] = (
    ("gpt-", "openai"), ("chatgpt-", "openai"), ("o1", "openai"), ("o3", "openai"), ("o4", "openai"),
    ("o5", "openai"), ("codex-", "openai"), ("claude-", "anthropic"), ("gemini-", "gemini"),
)  # fmt: skip

AUTO_NAMES = frozenset({"auto", "triage/auto", "triage-auto", "router/auto"})


@dataclass(frozen=True, slots=True)
class Target:
    """Where one attempt goes: the catalog entry (if any), the upstream model id, the provider."""

    model: str  # the name the client sees (catalog name or passthrough name)
    upstream_model: str  # the id sent to the provider
    provider: ProviderConfig
    entry: CatalogModel | None


def estimator_for(router: str) -> QualityEstimator:
    """The quality estimator a router name stands for (the learned one loads its weights once;
    the hybrid, the default, only if the catalog has models it could use them for)."""
    if router == "hybrid":
        from triage.routing.learned.hybrid import HybridEstimator

        return HybridEstimator()
    if router == "learned":
        from triage.routing.learned import QualityModel
        from triage.routing.learned.estimator import LearnedEstimator

        return LearnedEstimator(QualityModel.load_default())
    return capability_quality


class Gateway:
    def __init__(self, settings: Settings, catalog: Catalog | None = None, estimator: QualityEstimator | None = None) -> None:
        self.instance_id = secrets.token_hex(8)
        self.started_at = time.time()
        self.settings = settings
        self.base_catalog = catalog or load_catalog(settings.home)
        self.catalog = self.base_catalog.with_overrides(settings.model_overrides)
        self.estimator = estimator or estimator_for(settings.policy.router)
        self._prepare_estimator()
        self.client = UpstreamClient(settings.timeouts, self.instance_id)
        self.breakers = Breakers()
        self.decide_cache = ConfigCache()
        self.writer = LedgerWriter(open_store(settings.ledger_url), settings.ledger_flush_ms, spill_dir=settings.home)
        # Read-only callbacks on every finished request (metrics); they must not raise or block.
        self.observers: list[Callable[[LedgerRecord], None]] = []
        # The same, given the whole request context (headers too: the tracer reads traceparent).
        self.request_observers: list[Callable[[Any], None]] = []
        # Async hooks run after start and (in reverse) before close, in the lifespan task (MCP's session manager).
        self.on_start: list[Callable[[], Awaitable[None]]] = []
        self.on_close: list[Callable[[], Awaitable[None]]] = []

    async def start(self) -> None:
        await self.client.start()
        await self.writer.start()
        if err := getattr(self.writer.store, "startup_error", None):
            print(f"triage: {err}; serving anyway, ledger rows are kept until it answers", file=sys.stderr)
        for hook in self.on_start:
            await hook()

    async def close(self) -> None:
        for hook in reversed(self.on_close):
            await hook()
        await self.client.close()
        await self.writer.close()

    def apply(self, settings: Settings) -> None:
        self.catalog = self.base_catalog.with_overrides(settings.model_overrides)
        if settings.policy.router != self.settings.policy.router:
            self.estimator = estimator_for(settings.policy.router)
        self._prepare_estimator()
        self.settings = settings

    def _prepare_estimator(self) -> None:
        """Data the estimator would otherwise read on a request (file I/O in the event loop) is
        read here, before serving: the learned router's neighbour index, if a catalog model needs it."""
        prepare = getattr(self.estimator, "prepare", None)
        if prepare is not None:
            prepare(self.catalog.models)

    @property
    def providers(self) -> Mapping[str, ProviderConfig]:
        return self.settings.providers

    def reachable_models(self) -> list[CatalogModel]:
        return [m for m in self.catalog.models if m.provider in self.settings.providers]

    def resolve_model(self, name: str) -> str | None:
        """A model name or alias -> the catalog model's name, or None if the catalog has none."""
        entry = self.catalog.get(self.settings.aliases.get(name, name))
        return entry.name if entry is not None else None

    def target_for(self, name: str) -> Target | None:
        """An explicit model name -> where it goes, or None if nothing can tell."""
        name = self.settings.aliases.get(name, name)
        entry = self.catalog.get(name)
        providers = self.settings.providers
        if entry is not None:
            p = providers.get(entry.provider)
            return Target(entry.name, entry.upstream_name or entry.name, p, entry) if p else None
        if "/" in name:
            prefix, rest = name.split("/", 1)
            if prefix in providers:
                return Target(name, rest, providers[prefix], self.catalog.get(rest))
        for prefix, provider in PREFIX_PROVIDERS:
            if name.startswith(prefix) and provider in providers:
                return Target(name, name, providers[provider], None)
        return None

    def provider_for_unconfigured(self, name: str) -> str | None:
        """The provider a known-shaped name belongs to, when that provider is not configured."""
        name = self.settings.aliases.get(name, name)
        entry = self.catalog.get(name)
        if entry is not None:
            return entry.provider
        if "/" in name:
            return name.split("/", 1)[0]
        for prefix, provider in PREFIX_PROVIDERS:
            if name.startswith(prefix):
                return provider
        return None
