"""Prometheus metrics at ``GET /metrics``, fed by a ledger observer on every finished request.

Owns the metric names and labels. One ``CollectorRegistry`` per app (never the global one),
so several gateways in one process, or tests, never share counters. Label cardinality is
bounded: a model the catalog does not know gets its own label only for the first
``MAX_EXTRA_MODELS`` such names, then ``other``; providers, task types, surfaces and error
classes are closed sets (anything else is ``other``).

With ``--workers N`` the port is shared and a scrape reaches any one worker, so counters and
histograms use prometheus_client's multiprocess mode (``triage start`` points
``PROMETHEUS_MULTIPROC_DIR`` at a fresh folder in TRIAGE_HOME): every scrape returns the sum
over all workers, past and present. The state gauges (providers, circuits, ledger queue) are
computed at scrape time by ``LiveState`` and describe the worker that answered.
"""

from __future__ import annotations

import os
from typing import Any, Iterator, TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from triage.catalog.model import TASK_TYPES
from triage.ledger.record import LedgerRecord
from triage.providers.base import ErrorClass
from triage.server.asgi import Receive, Send, send_bytes

if TYPE_CHECKING:
    from triage.server.app import TriageApp
    from triage.server.context import RequestContext
    from triage.server.state import Gateway

MAX_EXTRA_MODELS = 20
OTHER = "other"
NONE = "none"
SURFACES = frozenset({"openai", "anthropic", "gemini", "route", "admin", "mcp"})
TASKS = frozenset(TASK_TYPES)
UPSTREAM_CLASSES = frozenset(c.value for c in ErrorClass)
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80, 160, 320)
CIRCUIT_STATES = {"closed": 0, "half_open": 1, "open": 2}
TOKEN_KINDS = ("input", "output", "cached", "cache_write", "reasoning")


class LabelPolicy:
    """Maps raw record values to bounded label values."""

    def __init__(self, gw: "Gateway", max_extra_models: int = MAX_EXTRA_MODELS) -> None:
        self.gw = gw
        self.max_extra = max_extra_models
        self.extra_models: set[str] = set()

    def model(self, name: str | None) -> str:
        if not name:
            return NONE
        if self.gw.catalog.get(name) is not None or name in self.extra_models:
            return name
        if len(self.extra_models) < self.max_extra and len(name) <= 100:
            self.extra_models.add(name)
            return name
        return OTHER

    def provider(self, name: str | None) -> str:
        if not name:
            return NONE
        return name if name in self.gw.settings.providers or name in ("openai", "anthropic", "gemini") else OTHER

    @staticmethod
    def task(name: str | None) -> str:
        return NONE if not name else (name if name in TASKS else OTHER)

    @staticmethod
    def surface(name: str) -> str:
        return name if name in SURFACES else OTHER

    @staticmethod
    def error_class(name: str | None) -> str:
        if not name:
            return NONE
        base = name.removeprefix("stream_")
        return base if base in UPSTREAM_CLASSES else OTHER


def status_class(status: int) -> str:
    return "0xx" if status <= 0 else f"{status // 100}xx"


class GatewayMetrics:
    def __init__(self, gw: "Gateway") -> None:
        self.gw = gw
        self.labels = LabelPolicy(gw)
        self._children: dict[tuple[int, tuple[str, ...]], Any] = {}  # bounded: labels are (see LabelPolicy)
        r = self.registry = CollectorRegistry(auto_describe=True)
        mp = ("model", "provider")
        self.requests = Counter("triage_requests", "Requests that reached the gateway (ledgered)", [*mp, "task_type", "surface", "status_class"], registry=r)
        self.tokens = Counter("triage_tokens", "Tokens billed, by kind (input counts cached and cache-write tokens too; output counts reasoning)", [*mp, "kind"], registry=r)
        self.cost = Counter("triage_cost_usd", "USD spent, at the answering model's prices", [*mp, "task_type"], registry=r)
        self.baseline = Counter("triage_baseline_cost_usd", "USD the baseline model would have cost for the same tokens", [*mp, "task_type"], registry=r)
        self.savings = Counter("triage_savings_usd", "USD saved against the baseline (per request, never below zero)", [*mp, "task_type"], registry=r)
        self.latency = Histogram("triage_request_duration_seconds", "Total time from request arrival to the last byte", [*mp, "surface"], buckets=LATENCY_BUCKETS, registry=r)
        self.ttft = Histogram("triage_time_to_first_token_seconds", "Time from request arrival to the first byte of the upstream's answer", [*mp, "surface"], buckets=LATENCY_BUCKETS, registry=r)
        self.errors = Counter("triage_errors", "Requests answered with an error, by class (upstream classes are the provider's; the rest are 'other')", ["provider", "error_class", "surface"], registry=r)
        self.fallbacks = Counter("triage_fallbacks", "Requests that needed more than one attempt (the label is the model that finally answered)", mp, registry=r)
        self.attempts = Counter("triage_upstream_attempts", "Upstream attempts made (a fallback adds attempts)", mp, registry=r)
        self.live = LiveState(gw, self.labels)
        r.register(self.live)
        # Several workers: counters and histograms live in files every worker writes; a scrape
        # reads them all (plus the answering worker's live state).
        self.multiprocess_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None
        if self.multiprocess_dir:
            self.exported = CollectorRegistry()
            MultiProcessCollector(self.exported, self.multiprocess_dir)
            self.exported.register(self.live)
        else:
            self.exported = r

    def observe(self, rec: LedgerRecord) -> None:
        """A ledger observer: must not raise or block (it runs on the request's task)."""
        try:
            self._observe(rec)
        except Exception:  # pragma: no cover - metrics must never break a request
            pass

    def _child(self, metric: Any, *labels: str) -> Any:
        """The labelled child, from a plain dict after the first time: ``labels()`` validates
        and locks on every call, which was ~7% of the gateway's CPU per request."""
        key = (id(metric), labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    def _observe(self, rec: LedgerRecord) -> None:
        lp = self.labels
        child = self._child
        name = rec.answered_model or rec.chosen_model or rec.requested_model
        # A failed request has no answering provider in its row: the one its model belongs to.
        provider = lp.provider(rec.provider or (self.gw.provider_for_unconfigured(name) if name else None))
        model = lp.model(name)
        task, surface = lp.task(rec.task_type), lp.surface(rec.surface)
        child(self.requests, model, provider, task, surface, status_class(rec.status)).inc()
        for kind, n in zip(TOKEN_KINDS, (rec.input_tokens, rec.output_tokens, rec.cached_tokens, rec.cache_write_tokens, rec.reasoning_tokens)):
            if n:
                child(self.tokens, model, provider, kind).inc(n)
        if rec.cost_usd or rec.baseline_cost_usd:
            child(self.cost, model, provider, task).inc(max(0.0, rec.cost_usd))
            child(self.baseline, model, provider, task).inc(max(0.0, rec.baseline_cost_usd))
            child(self.savings, model, provider, task).inc(max(0.0, rec.baseline_cost_usd - rec.cost_usd))
        if rec.latency_ms is not None:
            child(self.latency, model, provider, surface).observe(rec.latency_ms / 1000.0)
        if rec.ttfb_ms is not None:
            child(self.ttft, model, provider, surface).observe(rec.ttfb_ms / 1000.0)
        if rec.error_class:
            child(self.errors, provider, lp.error_class(rec.error_class), surface).inc()
        if rec.attempts > 1:
            child(self.fallbacks, model, provider).inc()
        if rec.answered_model or rec.error_class and rec.provider:
            child(self.attempts, model, provider).inc(max(1, rec.attempts))

    def render(self) -> bytes:
        return generate_latest(self.exported)


class LiveState:
    """Gauges computed when scraped: configured providers, circuits, the ledger's queue."""

    def __init__(self, gw: "Gateway", labels: LabelPolicy) -> None:
        self.gw, self.labels = gw, labels

    def describe(self) -> list:
        return []  # collected only on scrape (not at registration)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        gw, lp = self.gw, self.labels
        writer = gw.writer
        yield GaugeMetricFamily("triage_ledger_pending_rows", "Ledger rows waiting for the next batch write", value=len(writer._pending))
        yield GaugeMetricFamily("triage_ledger_failed_batches", "Ledger batch writes that failed (rows kept for retry)", value=writer.failed_batches)
        yield GaugeMetricFamily("triage_ledger_spilled_rows", "Ledger rows put in a spill file while the store failed", value=writer.spilled)
        yield GaugeMetricFamily("triage_ledger_rejected_rows", "Ledger rows the store refused, kept in ledger-rejected.jsonl", value=writer.rejected)
        providers = GaugeMetricFamily("triage_provider_configured", "1 for each provider the gateway can call", labels=["provider"])
        for name in sorted({lp.provider(n) for n in gw.settings.providers}):
            providers.add_metric([name], 1)
        yield providers
        circuits = GaugeMetricFamily("triage_circuit_state", "Circuit breaker per model that has failed: 0 closed, 1 half-open, 2 open", labels=["model", "provider"])
        misconfigured = GaugeMetricFamily("triage_provider_misconfigured", "1 while a provider is skipped because it rejected the gateway's key", labels=["provider"])
        breakers = getattr(gw, "breakers", None)
        if breakers is not None:
            snap = breakers.snapshot()
            states: dict[tuple[str, str], int] = {}
            for key, c in snap["circuits"].items():
                provider, model = key.split("/", 1)
                labels = (lp.model(model), lp.provider(provider))  # "other" may gather several: the worst
                states[labels] = max(states.get(labels, 0), CIRCUIT_STATES.get(c["state"], 0))
            for labels, state in states.items():
                circuits.add_metric(list(labels), state)
            for provider in sorted({lp.provider(p) for p in snap["providers"]}):
                misconfigured.add_metric([provider], 1)
        yield circuits
        yield misconfigured


def mount(app: "TriageApp") -> None:
    metrics = GatewayMetrics(app.gw)
    app.gw.observers.append(metrics.observe)

    async def handler(gw: "Gateway", ctx: "RequestContext", receive: Receive, send: Send) -> None:
        await send_bytes(send, 200, metrics.render(), ctx.extra, CONTENT_TYPE_LATEST.encode())

    app.add_route("GET", "/metrics", handler, "admin", ledgered=False)
