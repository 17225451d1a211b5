"""The learned quality model behind ``decide``'s estimator interface.

``decide`` asks an estimator for each eligible catalog model's chance of doing a request
well; this adapter answers with ``QualityModel.predict`` on the request's messages. It keeps
the catalog-model -> ``PoolModel`` conversions it has made (per instance: the gateway owns one).
The gateway's own task type and difficulty of the request (already computed) are passed on:
the model reads them as prior cues.
"""

from __future__ import annotations

from typing import Sequence

from triage.catalog.model import CatalogModel
from triage.routing.features import RequestFeatures
from triage.routing.learned.model import QualityModel
from triage.routing.pool import PoolModel


class LearnedEstimator:
    name = "learned"

    def __init__(self, model: QualityModel) -> None:
        self.model = model
        self._pool: dict[str, tuple[CatalogModel, PoolModel]] = {}
        # eligible-model lists seen (by identity) -> (the models, their PoolModels): a gateway
        # has a handful of them (per configuration and request requirements)
        self._pools: dict[tuple[int, ...], tuple[tuple[CatalogModel, ...], tuple[PoolModel, ...]]] = {}

    def _as_pool(self, m: CatalogModel) -> PoolModel:
        hit = self._pool.get(m.name)
        if hit is None or hit[0] is not m:
            hit = self._pool[m.name] = (m, m.as_pool_model())
        return hit[1]

    def prepare(self, models: Sequence[CatalogModel]) -> None:
        """Load now what requests over these catalog models would need (the neighbour index)."""
        self.model.prepare([self._as_pool(m) for m in models])

    def pool(self, models: Sequence[CatalogModel]) -> tuple[PoolModel, ...]:
        key = tuple(map(id, models))
        hit = self._pools.get(key)
        if hit is None or any(a is not b for a, b in zip(hit[0], models)):
            if len(self._pools) >= 256:
                self._pools.clear()
            hit = self._pools[key] = (tuple(models), tuple(self._as_pool(m) for m in models))
        return hit[1]

    def selection_for(self, models: Sequence[CatalogModel]) -> str:
        """decide's selection rule for these predictions: the one ``triage eval`` measures
        (``QualityModel.selection``: best value, with the bar unless the data scored every model),
        never "cheapest within the bar"."""
        return self.model.selection(self.pool(models))

    def __call__(self, features: RequestFeatures, models: Sequence[CatalogModel]) -> list[float]:
        return self.model.predict(features.messages, self.pool(models), features.task_type,
                                  features.difficulty)
