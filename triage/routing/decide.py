"""The routing decision: (request features, catalog, policy) -> Decision. Pure, no I/O.

1. Filter: keep models whose provider is configured, that the policy allows, and that meet
   every hard requirement (tools, images, JSON mode, reasoning, context length). Each model
   left out gets its reason.
2. Estimate each remaining model's quality on this request (a ``QualityEstimator``: the
   catalog's capability scores, or the learned router; ``routing.router`` chooses, and the
   default, ``hybrid``, chooses between the two per eligible pool through ``for_pool``).
3. Keep those whose predicted quality reaches ``quality_target`` x the best candidate's (the
   bar), and among them take (``value_order``) the lowest *expected total cost* (input +
   expected output (+ hidden reasoning) tokens at the catalog's prices), or, for an estimator
   whose ``selection`` is ``"value"`` (the learned router), the best value: predicted
   quality minus ``(1 - t)/t`` x expected cost in units of a typical request on the dearest
   eligible model. On a pool whose every model the learned router's data scored, its
   predictions are calibrated on those models' own results and the rule is ``"value_only"``:
   the best value of all, no bar. The evaluation harness (``triage eval``) measures this same
   function.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, NamedTuple, Sequence

from triage.catalog.model import CatalogModel
from triage.config.settings import Policy
from triage.routing.features import RequestFeatures

QualityEstimator = Callable[[RequestFeatures, Sequence[CatalogModel]], list[float]]
# An estimator may carry ``selection`` (its rule for ``value_order``, default "cheapest") or
# ``selection_for(models) -> rule`` (its rule for this pool), ``name`` (shown in routing_info)
# and ``for_pool(models) -> QualityEstimator`` (a dispatcher: the estimator to use for these
# eligible models, e.g. ``learned.hybrid.HybridEstimator``).


def resolve(estimator: QualityEstimator, models: Sequence[CatalogModel]) -> tuple[QualityEstimator, str, str]:
    """(the estimator for these eligible models, its name, its selection rule for them)."""
    pick = getattr(estimator, "for_pool", None)
    est = pick(models) if pick is not None else estimator
    name = getattr(est, "name", None) or ("capability" if est is capability_quality else getattr(est, "__name__", "custom"))
    per_pool = getattr(est, "selection_for", None)
    return est, name, per_pool(models) if per_pool is not None else getattr(est, "selection", "cheapest")


def capability_quality(features: RequestFeatures, models: Sequence[CatalogModel]) -> list[float]:
    """P(the model does this request well), from its catalog capability for the task type.

    A request of difficulty d needs a capability around 0.35 + 0.6 d; a model's chance rises
    steeply (logistic, scale 0.05) with its margin over that need.
    """
    need = 0.35 + 0.6 * features.difficulty
    return [1.0 / (1.0 + math.exp(-(m.capability_for(features.task_type) - need) / 0.05)) for m in models]


class Candidate(NamedTuple):  # a tuple: built for every eligible model on every request
    model: str
    provider: str
    expected_cost: float
    predicted_quality: float
    capability: float


@dataclass(frozen=True, slots=True)
class Decision:
    model: str
    provider: str
    features: RequestFeatures
    reason: str
    candidates: tuple[Candidate, ...]  # those meeting the bar, best first (``value_order``: cheapest or best value)
    rejected: dict[str, str] = field(default_factory=dict)
    baseline_model: str | None = None
    baseline_expected_cost: float | None = None
    baseline_predicted_quality: float | None = None
    quality_target: float = 0.9
    estimator: str = "capability"  # which quality estimator predicted (``resolve``)

    @property
    def chosen(self) -> Candidate:
        return self.candidates[0]

    @property
    def expected_savings_percent(self) -> float:
        if not self.baseline_expected_cost:
            return 0.0
        return max(0.0, round(100.0 * (1 - self.chosen.expected_cost / self.baseline_expected_cost), 1))


class NoCandidateError(Exception):
    """No configured model can serve this request; ``rejected`` says why for each."""

    def __init__(self, message: str, rejected: dict[str, str]) -> None:
        super().__init__(message)
        self.rejected = rejected


def expected_cost(m: CatalogModel, f: RequestFeatures) -> float:
    output = f.expected_output_tokens * (m.reasoning_output_factor if m.reasoning else 1.0)
    return (f.input_tokens * m.input_per_mtok + output * m.output_per_mtok) / 1e6


def _static_reason(m: CatalogModel, policy: Policy, providers: Sequence[str]) -> str | None:
    """Why ``m`` cannot serve any request under this policy and these providers, or None."""
    if m.provider not in providers:
        return f"provider {m.provider} is not configured"
    if policy.allowed_models and m.name not in policy.allowed_models:
        return "not in the allowed models"
    if m.name in policy.denied_models:
        return "denied by policy"
    if policy.allowed_providers and m.provider not in policy.allowed_providers:
        return "provider not allowed by policy"
    if m.provider in policy.denied_providers:
        return "provider denied by policy"
    if policy.max_cost_per_mtok is not None and m.output_per_mtok > policy.max_cost_per_mtok:
        return f"costs ${m.output_per_mtok}/1M output tokens, above the ${policy.max_cost_per_mtok} ceiling"
    return None


def _request_reason(m: CatalogModel, f: RequestFeatures) -> str | None:
    """Why ``m`` cannot serve this request's hard requirements, or None."""
    if f.needs_tools and not m.tools:
        return "no tool calling"
    if f.needs_vision and not m.vision:
        return "no image input"
    if f.needs_json and not m.json_schema:
        return "no JSON mode"
    if f.needs_reasoning and not m.reasoning:
        return "no reasoning mode"
    if m.context_window and f.context_needed > m.context_window:
        return f"context window {m.context_window} < {f.context_needed} tokens needed"
    if f.max_output_tokens and m.max_output_tokens and f.max_output_tokens > m.max_output_tokens:
        return f"max output {m.max_output_tokens} < the {f.max_output_tokens} tokens asked"
    return None


def eligibility(m: CatalogModel, f: RequestFeatures, policy: Policy, providers: Sequence[str]) -> str | None:
    """Why ``m`` cannot serve this request, or None if it can."""
    return _static_reason(m, policy, providers) or _request_reason(m, f)


class _Static(NamedTuple):
    """What ``decide`` needs that does not depend on the request, per (catalog, policy, providers)."""

    models: tuple[CatalogModel, ...]  # held so the ids in the cache key stay theirs
    policy: Policy
    reasons: tuple[str | None, ...]  # per model: its static reason, or None
    baseline: CatalogModel | None


class ConfigCache:
    """Memo of ``decide``'s configuration-only work (static reasons, baseline), keyed by the
    identity of an immutable catalog and policy and the provider list. The caller owns it
    (the gateway keeps one); ``decide`` without one computes that work each time."""

    def __init__(self, size: int = 16) -> None:
        self.size = size
        self._entries: dict[tuple[int, int, tuple[str, ...]], _Static] = {}

    def get(self, models: Sequence[CatalogModel], policy: Policy, providers: Sequence[str]) -> _Static:
        if type(models) is not tuple:
            return _compute_static(models, policy, providers)
        key = (id(models), id(policy), tuple(providers))
        hit = self._entries.get(key)
        if hit is not None and hit.models is models and hit.policy is policy:
            return hit
        if len(self._entries) >= self.size:
            self._entries.clear()
        st = self._entries[key] = _compute_static(models, policy, providers)
        return st


def _compute_static(models: Sequence[CatalogModel], policy: Policy, providers: Sequence[str]) -> _Static:
    held = models if type(models) is tuple else ()
    return _Static(held, policy, tuple(_static_reason(m, policy, providers) for m in models), pick_baseline(models, policy, providers))


def pick_baseline(models: Sequence[CatalogModel], policy: Policy, providers: Sequence[str]) -> CatalogModel | None:
    """The model savings are measured against: the policy's, else the most capable configured one."""
    if policy.baseline_model:
        for m in models:
            if m.name == policy.baseline_model:
                return m
    configured = [m for m in models if m.provider in providers]
    if not configured:
        return None
    return max(configured, key=lambda m: (m.capability_for("general"), m.output_per_mtok))


TYPICAL_TOKENS = 300.0  # a typical request, in and out: the unit of cost of ``value_order``


def reference_cost(models: Sequence) -> float:
    """USD of a typical request (300 tokens in, 300 out) on the dearest of ``models`` (anything
    with ``input_per_mtok`` / ``output_per_mtok``)."""
    return max((m.input_per_mtok + m.output_per_mtok) * TYPICAL_TOKENS / 1e6 for m in models)


def value_order(qualities: Sequence[float], costs: Sequence[float], target: float, ref_cost: float,
                rule: str = "value") -> list[int]:
    """The selection rule, shared by ``decide`` and the evaluation harness: indices of the models
    that may serve the request, first choice first. ``rule="cheapest"``: those whose predicted
    quality reaches ``target`` x the best (the bar), cheapest first (ties: better).
    ``rule="value"``: those reaching the bar, best value first, where value =
    quality - (1 - t)/t x cost / ``ref_cost`` (ties: cheaper). ``rule="value_only"``: every
    model, best value first (no bar).

    At target 1 only the best predicted models pass (``value_only``: the best comes first); at 0
    every model passes and the cheapest comes first. In between a model is worth ``ref_cost``
    more than another only if its predicted chance of doing the request well is (1 - t)/t higher
    (at 0.9: 0.11). The value is the Lagrangian of "most expected quality for the money" with one
    price of quality for every request, which is what traces the best cost-quality curve over a
    workload when the predictions are calibrated (dividing by each request's best predicted
    quality, as before 2026-11-26, priced quality differently per request: a tie in
    cross-validation, see docs/router.md). The bar is for predictions whose levels are not:
    it trusts only their ratios. A higher target never picks a cheaper model (the bar only
    rises and the price of quality only falls)."""
    if rule == "value_only":
        passing = list(range(len(qualities)))
    else:
        cut = target * max(qualities) - 1e-12
        passing = [i for i, q in enumerate(qualities) if q >= cut]
        if rule == "cheapest":
            return sorted(passing, key=lambda i: (costs[i], -qualities[i]))
    if target <= 0.0:
        lam, scale = 1e18, 0.0
    else:
        lam, scale = (1.0 - target) / target / max(ref_cost, 1e-15), 1.0
    return sorted(passing, key=lambda i: (lam * costs[i] - scale * qualities[i], costs[i]))


def decide(
    features: RequestFeatures,
    models: Sequence[CatalogModel],
    policy: Policy,
    providers: Sequence[str],
    *,
    quality_target: float | None = None,
    estimator: QualityEstimator = capability_quality,
    exclude: frozenset[str] = frozenset(),
    cache: ConfigCache | None = None,
) -> Decision:
    target = policy.quality if quality_target is None else quality_target
    if not 0.0 <= target <= 1.0:  # above 1 no model could pass the bar (and NaN compares false)
        raise ValueError(f"quality target must be in [0, 1], got {target}")
    st = cache.get(models, policy, providers) if cache is not None else _compute_static(models, policy, providers)
    rejected: dict[str, str] = {}
    eligible: list[CatalogModel] = []
    for m, static in zip(models, st.reasons):
        why = "excluded for this request" if exclude and m.name in exclude else (static or _request_reason(m, features))
        if why:
            rejected[m.name] = why
        else:
            eligible.append(m)
    if not eligible:
        raise NoCandidateError("no configured model meets this request's requirements", rejected)

    estimator, est_name, rule = resolve(estimator, eligible)
    quality = estimator(features, eligible)
    best_q = max(quality)
    bar = target * best_q
    task, inp, out = features.task_type, features.input_tokens, features.expected_output_tokens
    scored = [
        Candidate(m.name, m.provider, (inp * m.input_per_mtok + out * (m.reasoning_output_factor if m.reasoning else 1.0) * m.output_per_mtok) / 1e6,
                  q, m.capability_for(task))
        for m, q in zip(eligible, quality)
    ]  # fmt: skip  (expected_cost inlined)
    order = value_order(quality, [c.expected_cost for c in scored], target, reference_cost(eligible), rule)
    passing = [scored[i] for i in order]
    if len(passing) < len(scored):
        for c in scored:
            if c.predicted_quality < bar - 1e-12:
                rejected[c.model] = f"predicted quality {c.predicted_quality:.2f} below the bar {bar:.2f}"
    chosen = passing[0]

    baseline = st.baseline
    b_cost = expected_cost(baseline, features) if baseline else None
    b_q = None
    if baseline is not None:
        b_q = next((c.predicted_quality for c in scored if c.model == baseline.name), None)
        if b_q is None:
            b_q = estimator(features, [baseline])[0]

    f = features
    needs = [n for n, on in (("tools", f.needs_tools), ("images", f.needs_vision), ("JSON", f.needs_json), ("reasoning", f.needs_reasoning)) if on]
    reason = (
        f"{f.task_type} request of difficulty {f.difficulty:.2f} ({'; '.join(f.signals[:2])})"
        + (f", needing {', '.join(needs)}" if needs else "")
        + f": {chosen.model} is the "
        + (f"best value for its cost of the {len(eligible)} eligible models at quality target {target:.0%}" if rule == "value_only"
           else f"{'best value for its cost' if rule == 'value' else 'cheapest'} of {len(passing)} of {len(eligible)} eligible models"
           f" predicted to reach {target:.0%} of the best quality")
        + f" ({est_name} estimator: predicted {chosen.predicted_quality:.2f} vs best {best_q:.2f}),"
        f" expected ${chosen.expected_cost:.6f}"
        + (f" vs ${b_cost:.6f} on {baseline.name}." if baseline and b_cost is not None else ".")
    )
    return Decision(
        model=chosen.model,
        provider=chosen.provider,
        features=features,
        reason=reason,
        candidates=tuple(passing),
        rejected=rejected,
        baseline_model=baseline.name if baseline else None,
        baseline_expected_cost=b_cost,
        baseline_predicted_quality=b_q,
        quality_target=target,
        estimator=est_name,
    )
