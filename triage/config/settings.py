"""The gateway's settings: one immutable object, parsed once and passed in.

Precedence, highest first: command-line flags > environment variables > the YAML config
file > built-in defaults. Nothing here reads the environment at import; ``load_settings``
takes the environment and flags as arguments so tests can pass their own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from triage.providers.base import ProviderConfig

DEFAULT_PORT = 3838

# Built-in providers: name -> (adapter kind, default base URL, key variables in order).
BUILTIN_PROVIDERS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "openai": ("openai", "https://api.openai.com/v1", ("OPENAI_API_KEY",)),
    "anthropic": ("anthropic", "https://api.anthropic.com", ("ANTHROPIC_API_KEY",)),
    "gemini": ("gemini", "https://generativelanguage.googleapis.com", ("GEMINI_API_KEY", "GOOGLE_API_KEY")),
}


@dataclass(frozen=True, slots=True)
class Policy:
    """How ``model: "auto"`` chooses."""

    quality: float = 0.9  # target, relative to the best candidate's predicted quality (0, 1]
    # quality estimator for auto: "hybrid" (the learned model on pools it has evidence for: models
    # the training data scored or rated within their range; else the catalog's capability
    # scores), "capability" or "learned" (docs/router.md)
    router: str = "hybrid"
    baseline_model: str | None = None  # savings are measured against it; None: most capable configured
    allowed_models: tuple[str, ...] = ()
    denied_models: tuple[str, ...] = ()
    allowed_providers: tuple[str, ...] = ()
    denied_providers: tuple[str, ...] = ()
    max_cost_per_mtok: float | None = None  # ceiling on a model's output price, USD per 1M tokens


@dataclass(frozen=True, slots=True)
class Timeouts:
    connect: float = 10.0
    first_byte: float = 120.0
    idle: float = 60.0  # longest silence between two stream chunks
    total: float = 600.0


@dataclass(frozen=True, slots=True)
class Limits:
    max_body_bytes: int = 20 * 1024 * 1024
    max_messages: int = 5000
    max_json_depth: int = 64
    max_attempts: int = 3  # models tried for one request (the first choice and its fallbacks)


@dataclass(frozen=True, slots=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    workers: int = 1
    api_key: str | None = None
    cors_origins: tuple[str, ...] = ("http://localhost", "http://127.0.0.1")
    allowed_hosts: tuple[str, ...] = ()  # extra Host header values accepted besides localhost names
    home: Path = Path.home() / ".triage"
    db: str = ""  # SQLite path or postgresql:// URL; "" means home/ledger.db
    store_prompts: bool = False
    ledger_flush_ms: int = 200
    # OpenTelemetry traces (GenAI conventions), off unless an OTLP/HTTP endpoint is given.
    otlp_endpoint: str | None = None
    otlp_headers: Mapping[str, str] = field(default_factory=dict)
    service_name: str = "triage"
    providers: Mapping[str, ProviderConfig] = field(default_factory=dict)
    aliases: Mapping[str, str] = field(default_factory=dict)
    # Fallback chains: model name -> models to try next; "task:<type>" -> models for that task.
    fallbacks: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    model_overrides: tuple[Mapping[str, Any], ...] = ()
    policy: Policy = field(default_factory=Policy)
    timeouts: Timeouts = field(default_factory=Timeouts)
    limits: Limits = field(default_factory=Limits)
    config_file: Path | None = None
    missing_keys: tuple[str, ...] = ()  # built-in providers left unconfigured, for messages

    @property
    def ledger_url(self) -> str:
        return self.db or str(self.home / "ledger.db")

    def __repr__(self) -> str:  # keys never printed
        return f"Settings(host={self.host!r}, port={self.port}, providers={list(self.providers)}, home={str(self.home)!r})"
