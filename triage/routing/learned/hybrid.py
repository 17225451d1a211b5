"""The default estimator of ``model: "auto"``: the learned model where its training data measured
every eligible model, the catalog's capability scores everywhere else.

Why two, and why this split (docs/router.md, "Which estimator model: auto uses"):

- On a pool whose every model the training data scored, the learned model has measured evidence
  on each of them (their own corrections, the neighbours, the topics: all gated on exactly this),
  and it is clearly better than mixing single models on every such file here (LLMRouter and
  MMLU-Pro, cross-validated and held out).
- On any other pool it predicts from arena ratings and price alone, and there it is no better
  than the capability scores on the benchmark files (both about random mixing), while on
  everyday prompts over the 2026 catalog its predictions are flat (0.64-0.74 for "What is the
  capital of Australia?" on every model) and its value rule then pays for the top model; the
  capability scores send such prompts to a small model and still keep hard ones off the cheapest.

So the choice is made per eligible pool, from the pool alone (names, never scores or labels):
``for_pool`` returns the estimator ``decide`` then uses, with its own selection rule. The
production catalog is never covered today, so a gateway on it never reads the learned weights;
one configured with models the data scored (a local Llama-3.1-8B, say) reads them at start.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from importlib import resources

from triage.catalog.model import CatalogModel
from triage.routing.decide import capability_quality
from triage.routing.learned.estimator import LearnedEstimator
from triage.routing.learned.model import QualityModel
from triage.routing.pool import PoolModel

NAME = "hybrid"


def model_key(m: CatalogModel | PoolModel) -> str:
    """How the training data knows a model: its LMArena name, else its name (lower case)."""
    return (m.arena_name or m.name).lower()


def shipped_seen() -> frozenset[str]:
    """The models the shipped weights were fitted on (``triage/data/router/seen.json``, written
    with them by ``scripts/train_router.py``): a few hundred bytes, read instead of the weights."""
    base = resources.files("triage").joinpath("data/router")
    return frozenset(json.loads(base.joinpath("seen.json").read_text(encoding="utf-8"))["models"])


class HybridEstimator:
    """``for_pool(models)``: the learned estimator if the training data scored every one of
    ``models``, else ``capability_quality``. The quality model is loaded on first need (or by
    ``prepare``, at start, when the catalog has a model the data scored)."""

    name = NAME

    def __init__(self, seen: frozenset[str] | None = None,
                 load: Callable[[], QualityModel] = QualityModel.load_default) -> None:
        self.seen = shipped_seen() if seen is None else seen
        self._load = load
        self._learned: LearnedEstimator | None = None

    @property
    def learned(self) -> LearnedEstimator:
        if self._learned is None:
            self._learned = LearnedEstimator(self._load())
        return self._learned

    def covers(self, models: Sequence[CatalogModel | PoolModel]) -> bool:
        seen = self.seen
        return bool(models) and all(model_key(m) in seen for m in models)

    def for_pool(self, models: Sequence[CatalogModel]):
        return self.learned if self.covers(models) else capability_quality

    def prepare(self, models: Sequence[CatalogModel]) -> None:
        """Load the learned model (and what it needs) now if some pool of ``models`` could be
        covered, so that no request pays for reading it."""
        covered = [m for m in models if model_key(m) in self.seen]
        if covered:
            self.learned.prepare(covered)

    def __call__(self, features, models: Sequence[CatalogModel]) -> list[float]:
        return self.for_pool(models)(features, models)
