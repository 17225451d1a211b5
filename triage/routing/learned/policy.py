"""The routing decision: trade predicted quality against cost at a rate set by the quality target.

``quality_target`` t in [0, 1] sets the price of quality: the chosen model maximises

    predicted quality  -  lambda x (expected cost of this request / reference cost),
    lambda = (1 - t) / t,

where the reference cost is what a typical request (300 tokens in, 300 out) costs on the
pool's most expensive model. So at t = 0.9 a model is worth paying the whole reference cost
for only if it adds at least 0.11 of predicted quality (a probability of success), and a
model is never chosen over the predicted-best one if it loses more than (1-t)/t of quality
per reference cost saved. t = 1 picks the model predicted best (ties: cheaper); t -> 0 the
cheapest. This Lagrangian rule is the cost-optimal policy for calibrated predictions: for
any budget, no other per-request rule gets more expected quality for the same spend.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from triage.routing.learned.model import QualityModel
from triage.routing.learned.prior import TYPICAL_OUTPUT_TOKENS, blended_price
from triage.routing.pool import PoolModel


@dataclass(frozen=True)
class Choice:
    model: str  # chosen model name
    quality: dict[str, float]  # predicted quality per model
    cost: dict[str, float]  # expected cost (USD) of this request per model
    reason: str
    best_model: str = ""  # the model predicted best (the quality reference)
    target: float = 0.0
    extra: dict = field(default_factory=dict)


def expected_costs(
    messages: list[dict],
    models: Sequence[PoolModel],
    output_tokens: float | None = None,
    quality_model: QualityModel | None = None,
) -> list[float]:
    """USD of this request per model: chars/4 input tokens, and ``output_tokens`` if given,
    else the model's ``default_output_tokens``, else the answer length the quality model
    learned for it (models with measured answers in training), else a typical 300."""
    chars = 0
    for m in messages:
        c = m.get("content")
        if isinstance(c, str):
            chars += len(c)
        elif isinstance(c, list):
            chars += sum(len(p.get("text", "")) for p in c if isinstance(p, dict))
    tin = chars / 4.0
    out = []
    for m in models:
        tout = output_tokens if output_tokens is not None else m.default_output_tokens
        if tout is None and quality_model is not None:
            tout = quality_model.output_tokens(messages, m)
        out.append(m.cost(tin, float(tout if tout is not None else TYPICAL_OUTPUT_TOKENS)))
    return out


def reference_cost(models: Sequence[PoolModel]) -> float:
    """Cost of a typical request (300 in, 300 out) on the pool's most expensive model."""
    return max(blended_price(m) for m in models)


def select(
    qualities: Sequence[float], costs: Sequence[float], target: float, ref_cost: float
) -> int:
    """Index maximising quality - (1-t)/t x cost/ref_cost (ties: cheaper)."""
    if target <= 0:
        return min(range(len(costs)), key=lambda i: (costs[i], -qualities[i]))
    lam = (1.0 - min(target, 1.0)) / target / max(ref_cost, 1e-15)
    best, chosen = float("-inf"), -1
    for i, (q, c) in enumerate(zip(qualities, costs)):
        u = q - lam * c
        if u > best + 1e-12 or (abs(u - best) <= 1e-12 and c < costs[chosen]):
            best, chosen = u, i
    return chosen


def choose(
    messages: list[dict],
    models: Sequence[PoolModel],
    quality_target: float,
    *,
    output_tokens: float | None = None,
    quality_model: QualityModel | None = None,
) -> Choice:
    """Pick a model for this request. Pass a loaded ``quality_model`` (``QualityModel.load_default()``,
    kept by the caller); without one the shipped weights are read on every call."""
    if not models:
        raise ValueError("choose() needs at least one model")
    qm = quality_model if quality_model is not None else QualityModel.load_default()
    target = min(max(float(quality_target), 0.0), 1.0)
    qualities = qm.predict(messages, models)
    costs = expected_costs(messages, models, output_tokens, qm)
    i = select(qualities, costs, target, reference_cost(models))
    b = max(range(len(models)), key=lambda k: (qualities[k], -costs[k]))
    name, best = models[i].name, models[b].name
    if i == b:
        reason = f"{name}: predicted best ({qualities[i]:.2f}), worth its cost at target {target:.2f}"
    else:
        reason = (
            f"{name}: predicted {qualities[i]:.2f} vs {qualities[b]:.2f} for {best}; "
            f"the difference is not worth {costs[b] / max(costs[i], 1e-15):.1f}x the cost at target {target:.2f}"
        )
    return Choice(
        model=name,
        quality={m.name: q for m, q in zip(models, qualities)},
        cost={m.name: c for m, c in zip(models, costs)},
        reason=reason,
        best_model=best,
        target=target,
    )
