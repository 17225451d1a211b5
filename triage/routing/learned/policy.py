"""The learned router outside the gateway: ``choose`` a model of a pool for a request.

The selection rule is the gateway's own (``triage.routing.decide.value_order``): the best value,
predicted quality minus ``(1 - t)/t`` x expected cost / reference cost (a typical
300-in/300-out request on the pool's dearest model), among every model where the training data
scored them all, else among those predicted to reach ``quality_target`` x the best predicted
quality (``QualityModel.selection``). The evaluation harness and ``decide`` call the same
functions, so what is measured is what the gateway does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from triage.routing.decide import reference_cost, value_order
from triage.routing.learned.model import QualityModel
from triage.routing.learned.prior import TYPICAL_OUTPUT_TOKENS
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
    if output_tokens is not None:
        touts: list[float | None] = [output_tokens] * len(models)
    else:
        touts = [m.default_output_tokens for m in models]
        if quality_model is not None and None in touts:
            learned = quality_model.output_lengths(messages, models)
            touts = [t if t is not None else u for t, u in zip(touts, learned)]
    return [m.cost(tin, float(t if t is not None else TYPICAL_OUTPUT_TOKENS)) for m, t in zip(models, touts)]


def select(qualities: Sequence[float], costs: Sequence[float], target: float, ref_cost: float,
           rule: str = "value") -> int:
    """Index of the chosen model (``value_order``'s first)."""
    return value_order(qualities, costs, min(max(target, 0.0), 1.0), ref_cost, rule)[0]


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
    i = select(qualities, costs, target, reference_cost(models), qm.selection(models))
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
