"""The default estimator of ``model: "auto"``: the learned model on a pool it has evidence for,
the catalog's capability scores everywhere else.

A pool is the learned model's when every eligible model is one its training data scored, or one
the LMArena table rates within the range of ratings of those it scored (it interpolates between
measured models; it does not extrapolate beyond them). Why (docs/router.md, "Which estimator
model: auto uses"):

- On a pool the data scored in full, the learned model has measured evidence on each model
  (their own corrections, the neighbours, the topics and the rule without the bar: all gated
  on exactly this, ``QualityModel.selection``) and it is
  clearly better than mixing single models on every such file here (LLMRouter and MMLU-Pro,
  cross-validated and held out).
- On a pool rated within the data's range (RouteLLM's GPT-4-1106 next to Mixtral) its item
  difficulty still separates the requests a stronger model is worth paying for: +0.010 AIQ over
  random mixing, where the capability scores, whose only per-request signal is the gateway's
  coarse difficulty, get +0.002 (+0.0003 on RouteLLM's bulk of plain multiple-choice items).
- The 2026 catalog is rated above every model the data scored (gpt-5.4-nano alone is inside).
  There the learned predictions are an extrapolation, flat (0.64-0.74 for "What is the capital
  of Australia?" on every model), and its value rule then buys the top model for simple
  questions; the capability scores send them to a small model and keep hard prompts off the
  cheapest (the hand-labelled table). A model with no rating at all (a local model with a hand
  set ``capability``) is the capability scores' too: nothing places it on the learned scale.

The choice reads only the pool's names and the arena table, never a score or a label:
``for_pool`` returns the estimator ``decide`` then uses, with its own selection rule. The
evidence (``seen.json``: the scored models and their rating range) is written with the weights
by ``scripts/train_router.py``; the weights themselves are read only when a pool needs them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from importlib import resources
from typing import NamedTuple

from triage.catalog.model import CatalogModel
from triage.routing.decide import capability_quality
from triage.routing.learned.estimator import LearnedEstimator
from triage.routing.learned.model import QualityModel
from triage.routing.pool import PoolModel, model_key

NAME = "hybrid"


class Evidence(NamedTuple):
    """What the learned model was fitted on: the models its data scored (keys: ``model_key``) and
    the range of their overall LMArena ratings."""

    seen: frozenset[str]
    lo: float
    hi: float

    @classmethod
    def of(cls, seen: Iterable[str], arena: Mapping[str, Mapping[str, float]]) -> "Evidence":
        seen = frozenset(seen)
        by_key = {k.lower(): r for k, r in arena.items()}
        rated = [by_key[k]["full"] for k in seen if k in by_key and "full" in by_key[k]]
        return cls(seen, min(rated, default=math.inf), max(rated, default=-math.inf))

    def trusts(self, m: CatalogModel | PoolModel, arena: Mapping[str, Mapping[str, float]]) -> bool:
        """Scored by the data, or rated within the range of the models it scored."""
        if model_key(m) in self.seen:
            return True
        r = arena.get(m.arena_name) if m.arena_name else None
        return r is not None and self.lo <= r.get("full", math.nan) <= self.hi


def _router_file(name: str) -> dict:
    return json.loads(resources.files("triage").joinpath(f"data/router/{name}").read_text(encoding="utf-8"))


def shipped_evidence() -> Evidence:
    """The shipped weights' evidence (``triage/data/router/seen.json``, a few hundred bytes)."""
    doc = _router_file("seen.json")
    lo, hi = doc["rating_range"]
    return Evidence(frozenset(doc["models"]), float(lo), float(hi))


def shipped_arena() -> dict[str, dict[str, float]]:
    return _router_file("arena.json")["ratings"]


class HybridEstimator:
    """``for_pool(models)``: the learned estimator if it has evidence for every one of two or more
    ``models`` (``Evidence.trusts``), else ``capability_quality``. The quality model is loaded on first
    need, or by ``prepare`` at start when the catalog has a model it could be used for."""

    name = NAME

    def __init__(self, evidence: Evidence | None = None, arena: Mapping[str, Mapping[str, float]] | None = None,
                 load: Callable[[], QualityModel] = QualityModel.load_default) -> None:
        self.evidence = shipped_evidence() if evidence is None else evidence
        self.arena = shipped_arena() if arena is None else arena
        self._load = load
        self._learned: LearnedEstimator | None = None

    @property
    def learned(self) -> LearnedEstimator:
        if self._learned is None:
            self._learned = LearnedEstimator(self._load())
        return self._learned

    def trusts(self, m: CatalogModel | PoolModel) -> bool:
        return self.evidence.trusts(m, self.arena)

    def covers(self, models: Sequence[CatalogModel | PoolModel]) -> bool:
        """Two or more models (one is no choice: nothing to load a model for), each trusted."""
        return len(models) >= 2 and all(map(self.trusts, models))

    def for_pool(self, models: Sequence[CatalogModel]):
        return self.learned if self.covers(models) else capability_quality

    def prepare(self, models: Sequence[CatalogModel]) -> None:
        """Load the learned model (and what it needs) now if a pool of ``models`` could be its,
        so that no request pays for reading it."""
        usable = [m for m in models if self.trusts(m)]
        if len(usable) >= 2:
            self.learned.prepare(usable)

    def __call__(self, features, models: Sequence[CatalogModel]) -> list[float]:
        return self.for_pool(models)(features, models)
