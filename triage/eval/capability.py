"""The gateway's hand-set ``capability`` estimator, measured on an evaluation pool.

In production ``decide.capability_quality`` reads each catalog model's capability per task
type (``triage/data/catalog.json``, built by ``scripts/build_catalog.py``): twice its
Bradley-Terry win probability against the best-rated model of the task's LMArena categories
(style-controlled, 2025-12-11), averaged over those categories. An evaluation pool has no
catalog entries, so the same scores are computed here from the pool models' arena ratings
(the router's shipped ``arena.json``), with the catalog's task -> categories map, minus the two
``industry_*`` categories that table does not carry (coding: coding; reasoning: math + hard_6;
analysis: expert + hard_6; simple_qa: full; creative: creative_writing; general: full + if).
A pool model without a rating gets an overall rating from its price within the pool, as the
learned router's prior does (``prior.prior_vectors``), and that rating for every task.

Then the production function itself (``decide.capability_quality`` on the gateway's own task
type and difficulty of the item) and its selection rule (``value_order(..., rule="cheapest")``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from triage.routing.learned.prior import SCALE, CENTER, prior_vectors
from triage.routing.pool import PoolModel

TASK_CATEGORIES: dict[str, tuple[str, ...]] = {
    "coding": ("coding",),
    "reasoning": ("math", "hard_6"),
    "analysis": ("expert", "hard_6"),
    "simple_qa": ("full",),
    "creative": ("creative_writing",),
    "general": ("full", "if"),
}


def _win(r: float, r_best: float) -> float:
    return 1.0 / (1.0 + 10 ** ((r_best - r) / 400.0))


@dataclass(frozen=True)
class PoolCapability:
    """A pool model as ``capability_quality`` sees a catalog model."""

    name: str
    capability: Mapping[str, float]

    def capability_for(self, task_type: str) -> float:
        if task_type in self.capability:
            return self.capability[task_type]
        return self.capability.get("general", 0.5)


def capabilities(models: Sequence[PoolModel], arena: Mapping[str, Mapping[str, float]],
                 price_slope: float = 0.3) -> list[PoolCapability]:
    leaders: dict[str, float] = {}
    for cats in TASK_CATEGORIES.values():
        for c in cats:
            leaders[c] = max(r[c] for r in arena.values() if c in r)
    priors = prior_vectors(models, arena, price_slope)
    out = []
    for m, vec in zip(models, priors):
        ratings = arena.get(m.arena_name) if m.arena_name else None
        if not ratings:  # unrated: its price-based overall rating for every category
            ratings = {"full": CENTER + SCALE * vec[1]}
        cap = {}
        for task, cats in TASK_CATEGORIES.items():
            scores = [2 * _win(ratings[c], leaders[c]) for c in cats if c in ratings]
            if not scores:
                scores = [2 * _win(ratings["full"], leaders["full"])]
            cap[task] = sum(scores) / len(scores)
        out.append(PoolCapability(m.name, cap))
    return out
