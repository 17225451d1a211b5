"""The surface-independent middle of a chat request: plan, call upstream, account.

Every client API (OpenAI chat, Anthropic messages) turns its body into the internal
OpenAI-shaped request and then uses these three steps:

1. ``plan``: which models to try, in order. ``auto`` -> the routing decision's candidates
   (cheapest passing first, the rest as fallbacks); an explicit name -> that model.
2. ``open_upstream``: send to the first target; on a retryable failure before any byte
   reached the client, try the next one (bounded by attempts and the total deadline).
3. ``account``: tokens -> cost at the answering model's prices, and the baseline's cost.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from typing import Any

import orjson

from triage.config.settings import Policy
from triage.ledger.record import LedgerRecord
from triage.providers.base import ErrorClass, ProviderAdapter, StreamTranslator, UpstreamError, Usage
from triage.providers.registry import adapter_for
from triage.routing.decide import Decision, NoCandidateError, decide, eligibility, pick_baseline
from triage.routing.features import extract
from triage.server.adapt import StopFilter, adapt, apply_stops
from triage.server.errors import GatewayError, from_upstream
from triage.server.state import AUTO_NAMES, Gateway, Target
from triage.upstream.client import UpstreamResponse


@dataclass(slots=True)
class Plan:
    requested: str
    targets: list[Target]
    decision: Decision | None = None
    attempts: list[dict[str, Any]] = field(default_factory=list)
    stops: tuple[str, ...] = ()  # stop sequences the gateway applies for the answering model
    adapted: list[str] = field(default_factory=list)  # what was changed for the answering model


def plan(gw: Gateway, body: dict[str, Any], quality: float | None, policy: Policy | None = None) -> Plan:
    """Where a request goes. ``quality`` and ``policy``: the request's own quality target and
    routing policy (``validate.policy_override``), if it set them; for ``model: "auto"``."""
    requested = body.get("model") or "auto"
    settings = gw.settings
    if requested in AUTO_NAMES:
        if not settings.providers:
            raise GatewayError(
                503, "no provider is configured: set " + ", ".join(settings.missing_keys) + " (or add providers in the config file)",
                type="service_unavailable", code="no_provider_configured",
            )  # fmt: skip
        features = extract(body)
        providers = list(settings.providers)
        models = gw.catalog.models
        # Models whose circuit is open are skipped, unless that would leave nothing to try.
        open_now = gw.breakers.open_models([(m.provider, m.name) for m in models if m.provider in settings.providers])
        if policy is None or policy is settings.policy:
            policy, cache = settings.policy, gw.decide_cache
        else:  # the request's own narrowing: not memoised (the cache is keyed by the configuration)
            cache = None
        try:
            try:
                decision = decide(features, models, policy, providers, quality_target=quality, estimator=gw.estimator, exclude=open_now, cache=cache)
            except NoCandidateError:
                if not open_now:
                    raise
                decision = decide(features, models, policy, providers, quality_target=quality, estimator=gw.estimator, cache=cache)
        except NoCandidateError as e:
            details = "; ".join(f"{m}: {why}" for m, why in list(e.rejected.items())[:6])
            raise GatewayError(400, f"no configured model can serve this request ({details})", code="no_eligible_model", param="model") from None
        # First choice, then its configured chain, the task's chain, then the other passing candidates.
        names = [decision.model, *settings.fallbacks.get(decision.model, ()), *settings.fallbacks.get(f"task:{features.task_type}", ())]
        names += [c.model for c in decision.candidates]
        targets = _targets(gw, names, features)
        return Plan(requested, targets, decision)

    target = gw.target_for(requested)
    if target is None:
        provider = gw.provider_for_unconfigured(requested)
        if provider is not None and provider not in settings.providers:
            hint = {"openai": "OPENAI_API_KEY", "anthropic": "ANTHROPIC_API_KEY", "gemini": "GEMINI_API_KEY"}.get(provider, f"providers.{provider}")
            raise GatewayError(503, f"model '{requested}' needs provider '{provider}', which is not configured (set {hint})", type="service_unavailable", code="provider_not_configured", param="model")
        raise GatewayError(404, f"The model '{requested}' does not exist or you do not have access to it.", code="model_not_found", param="model")
    chain = settings.fallbacks.get(requested) or settings.fallbacks.get(target.model) or ()
    if not chain:
        return Plan(requested, [target])
    features = extract(body)
    return Plan(requested, [target, *_targets(gw, chain, features)])


def _targets(gw: Gateway, names: list[str] | tuple[str, ...], features: Any) -> list[Target]:
    """Targets for model names in order, once each, keeping only those that can serve the request."""
    out: list[Target] = []
    seen: set[str] = set()
    policy, providers = gw.settings.policy, list(gw.settings.providers)
    for name in names:
        if name in seen:
            continue
        seen.add(name)
        t = gw.target_for(name)
        if t is None:
            continue
        if t.entry is not None and out and eligibility(t.entry, features, policy, providers) is not None:
            continue  # a fallback must meet the same hard requirements
        out.append(t)
    return out


def client_key(target: Target, headers: dict[str, str], gateway_auth: bool) -> str | None:
    """The key to call ``target`` with. A client's own key is used only where the user allowed
    it for that provider, and only if it is plainly that provider's key."""
    p = target.provider
    if not p.client_keys:
        return p.api_key
    own = headers.get(f"x-{p.name}-api-key") or headers.get("x-provider-api-key")
    if not own and not gateway_auth:
        auth = headers.get("authorization", "")
        own = auth[7:].strip() if auth[:7].lower() == "bearer " else headers.get("x-api-key")
    if own and _looks_like(own, p.kind):
        return own
    return p.api_key


def _looks_like(key: str, kind: str) -> bool:
    if kind == "anthropic":
        return key.startswith("sk-ant-")
    if kind == "gemini":
        return key.startswith("AIza")
    return not key.startswith(("sk-ant-", "AIza"))


class ReadResponse:
    """A non-stream response whose body ``open_upstream`` has already read and parsed (the
    internal answer and its usage in ``parsed``), with the upstream response's interface."""

    __slots__ = ("status", "headers", "_data", "parsed")

    def __init__(self, status: int, headers: dict[str, str], data: bytes,
                 parsed: tuple[dict[str, Any], Usage]) -> None:
        self.status, self.headers, self._data, self.parsed = status, headers, data, parsed

    async def read(self) -> bytes:
        return self._data

    def close(self) -> None:
        pass


async def open_upstream(
    gw: Gateway, p: Plan, body: dict[str, Any], stream: bool, headers: dict[str, str]
) -> tuple[Target, ProviderAdapter, UpstreamResponse | ReadResponse]:
    """The first target that answers with a success status (and, not streaming, a whole body
    of the expected shape).

    A retryable failure (connect error, timeout before the first byte, 408/409/429/5xx/529, a
    non-stream body that breaks off or is not an answer) moves on to the next target, within
    ``limits.max_attempts`` and the total deadline; any other failure is the caller's error and
    goes straight back. Circuit breakers learn from every outcome.
    """
    settings = gw.settings
    deadline = time.monotonic() + settings.timeouts.total
    last: UpstreamError | None = None
    gateway_auth = bool(settings.api_key)
    for target in p.targets[: settings.limits.max_attempts]:
        if time.monotonic() >= deadline:
            break
        adapter = adapter_for(target.provider.kind)
        sent, stops, notes = adapt(body, target.entry)
        req = adapter.chat_request(target.provider, sent, target.upstream_model, stream=stream, api_key=client_key(target, headers, gateway_auth))
        t0 = time.perf_counter()
        try:
            resp = await gw.client.send(req)
            if resp.status >= 400:
                data = await resp.read()
                resp.close()
                raise adapter.classify_error(resp.status, resp.headers, data, target.provider.name)
            if not stream:  # read and parsed here, while a bad body can still go to the next target
                data = await resp.read()
                resp = ReadResponse(resp.status, resp.headers, data, parse_answer(adapter, target, data))
        except UpstreamError as e:
            e.provider = e.provider or target.provider.name
            gw.breakers.failure(target.provider.name, target.model, e.error_class, e.retry_after)
            p.attempts.append({"model": target.model, "provider": target.provider.name, "outcome": e.error_class.value, "status": e.status, "ms": round((time.perf_counter() - t0) * 1000, 1)})
            last = e
            if not e.retryable:
                raise from_upstream(e, target.model) from None
            continue
        gw.breakers.success(target.provider.name, target.model)
        p.stops, p.adapted = stops, notes
        p.attempts.append({"model": target.model, "provider": target.provider.name, "outcome": "ok", "status": resp.status, "ms": round((time.perf_counter() - t0) * 1000, 1)})
        return target, adapter, resp
    if last is None:
        raise GatewayError(504, "the request's deadline passed before any provider answered", type="upstream_error", code="upstream_timeout")
    raise from_upstream(last, p.targets[0].model)


async def start(gw: Gateway, ctx: Any, p: Plan, body: dict[str, Any], stream: bool) -> tuple[Target, ProviderAdapter, UpstreamResponse | ReadResponse]:
    """Record the decision in the request's ledger row, then open the upstream (with fallbacks)."""
    rec = ctx.rec
    if p.decision is not None:
        rec.chosen_model = p.decision.model
        rec.task_type = p.decision.features.task_type
        rec.reason = p.decision.reason
    elif p.targets and not rec.chosen_model:
        rec.chosen_model = p.targets[0].model
    target, adapter, resp = await open_upstream(gw, p, body, stream, ctx.headers)
    rec.answered_model, rec.provider = target.model, target.provider.name
    return target, adapter, resp


async def whole_answer(gw: Gateway, ctx: Any, p: Plan, target: Target, resp: ReadResponse) -> dict[str, Any]:
    """A non-streamed answer (read and parsed by ``open_upstream``: a body that broke off or
    was not an answer fell back there), stops applied, accounted in the ledger row."""
    answer, usage = resp.parsed
    if p.stops:
        apply_stops(answer, p.stops)
    rec = ctx.rec
    account(gw, rec, p, target, usage)
    rec.status = 200
    rec.ttfb_ms = (time.perf_counter() - ctx.t0) * 1000
    return answer


# What reading an upstream answer of an unexpected shape raises in translation code (a string
# where an object was due, a missing key...): the upstream's fault, answered as a 502 in the
# caller's shape, never a gateway 500 or a stream cut mid-way.
SHAPE_ERRORS = (AttributeError, TypeError, KeyError, IndexError, ValueError)


def malformed(e: BaseException) -> UpstreamError:
    return UpstreamError(ErrorClass.SERVER, f"the upstream's answer did not have the expected shape ({type(e).__name__})",
                         status=502)


def parse_answer(adapter: ProviderAdapter, target: Target, data: bytes) -> tuple[dict[str, Any], Usage]:
    """The upstream's non-stream body as an internal (OpenAI) response and its usage; a body of
    another shape raises ``UpstreamError`` (a retryable server error, status 502)."""
    try:
        answer, usage = adapter.chat_response(data, target.upstream_model)
        check_answer(answer)
    except SHAPE_ERRORS as e:  # (an UpstreamError the adapter raises goes up as it is)
        raise malformed(e) from None
    return answer, usage


def _kind(v: Any, kind: type, where: str) -> None:
    if v is not None and not isinstance(v, kind):
        raise TypeError(f"{where} is a {type(v).__name__}")


def check_answer(answer: Any) -> None:
    """Raise TypeError unless ``answer`` has the internal (OpenAI chat.completion) shape every
    surface reads: so a surface's translation never meets a string where an object is due."""
    _kind(answer, dict, "the answer")
    choices = answer.get("choices")
    _kind(choices, list, "choices")
    for c in choices or ():
        _kind(c, dict, "a choice")
        msg = c.get("message")
        _kind(msg, dict, "a message")
        if msg:
            _kind(msg.get("content"), (str, list), "content")
            for name in ("tool_calls", "thinking_blocks"):
                items = msg.get(name)
                _kind(items, list, name)
                for item in items or ():
                    _kind(item, dict, name[:-1])
                    _kind(item.get("function"), dict, "a function")
    # usage is not checked: it is bookkeeping, read defensively (providers.base.tokens)


def translator(p: Plan, adapter: ProviderAdapter, target: Target) -> StreamTranslator:
    """The per-request stream translator for the answering target, stops applied."""
    t = adapter.stream_translator(target.upstream_model)
    return StopFilter(t, p.stops) if p.stops else t


def account(gw: Gateway, rec: LedgerRecord, p: Plan, target: Target, usage: Usage) -> None:
    """Fill the ledger record's tokens and costs: the answering model's, and the baseline's."""
    rec.answered_model = target.model
    rec.provider = target.provider.name
    rec.input_tokens = usage.input_tokens
    rec.output_tokens = usage.output_tokens
    rec.cached_tokens = usage.cached_input_tokens
    rec.cache_write_tokens = usage.cache_write_tokens
    rec.reasoning_tokens = usage.reasoning_tokens
    rec.attempts = len(p.attempts) or 1
    if len(p.attempts) > 1:
        rec.attempt_log = orjson.dumps(p.attempts).decode()
    entry = target.entry
    cost = entry.cost(usage.input_tokens, usage.output_tokens, usage.cached_input_tokens, usage.cache_write_tokens) if entry else 0.0
    rec.cost_usd = cost
    if p.decision is not None:
        baseline = gw.catalog.get(p.decision.baseline_model) if p.decision.baseline_model else None
    else:
        baseline = entry  # an explicit model choice saves nothing by routing
    rec.baseline_model = baseline.name if baseline else None
    rec.baseline_cost_usd = (
        baseline.cost(usage.input_tokens, usage.output_tokens, usage.cached_input_tokens, usage.cache_write_tokens) if baseline else cost
    )


def routing_info(gw: Gateway, p: Plan, target: Target, rec: LedgerRecord | None = None) -> dict[str, Any]:
    d = p.decision
    info: dict[str, Any] = {
        "selected_model": target.model,
        "original_model": p.requested,
        "provider": target.provider.name,
        "task_type": d.features.task_type if d else None,
        "difficulty": d.features.difficulty if d else None,
        "capability_score": None,
        "predicted_quality": None,
        "baseline_model": None,
        "baseline_predicted_quality": d.baseline_predicted_quality if d else None,
        "savings_percent": 0.0,
        "reasoning": d.reason if d else f"model '{p.requested}' was requested explicitly; no routing",
        "attempts": p.attempts,
    }
    if p.adapted:
        info["adapted"] = p.adapted
    if d is not None:
        c = next((c for c in d.candidates if c.model == target.model), None)
        if c is not None:
            info["capability_score"] = round(c.capability, 4)
            info["predicted_quality"] = round(c.predicted_quality, 4)
        info["baseline_model"] = d.baseline_model
        info["quality_target"] = d.quality_target
        info["estimator"] = d.estimator
        if target.model != d.model:
            info["reasoning"] += f" Fell back to {target.model} after {d.model} failed."
    if rec is not None and rec.baseline_cost_usd > 0:
        info["savings_percent"] = max(0.0, round(100.0 * (1 - rec.cost_usd / rec.baseline_cost_usd), 1))
        info["cost_usd"] = round(rec.cost_usd, 8)
        info["baseline_cost_usd"] = round(rec.baseline_cost_usd, 8)
    elif d is not None:
        info["savings_percent"] = d.expected_savings_percent
    return info


def key_id(headers: dict[str, str]) -> str | None:
    """A short, non-reversible id of the client's gateway credential, for per-key reports."""
    auth = headers.get("authorization") or headers.get("x-api-key")
    if not auth:
        return None
    return hashlib.sha256(auth.encode()).hexdigest()[:12]


async def watch_disconnect(receive: Any, ctx: Any) -> None:
    """Cancel the request's task when the client goes away: an abandoned upstream call still
    costs money. ``ctx.client_gone`` tells the app the cancellation was ours."""
    task = ctx.task
    while True:
        msg = await receive()
        if msg["type"] == "http.disconnect":
            ctx.client_gone = True
            task.cancel()
            return


def baseline_for(gw: Gateway) -> str | None:
    b = pick_baseline(gw.catalog.models, gw.settings.policy, list(gw.settings.providers))
    return b.name if b else None
