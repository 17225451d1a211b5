"""The learned quality model behind ``decide``'s estimator interface.

``decide`` asks an estimator for each eligible catalog model's chance of doing a request
well; this adapter answers with ``QualityModel.predict`` on the request's messages. It keeps
the catalog-model -> ``PoolModel`` conversions it has made (per instance: the gateway owns one).
"""

from __future__ import annotations

from typing import Sequence

from triage.catalog.model import CatalogModel
from triage.routing.features import RequestFeatures
from triage.routing.learned.model import QualityModel
from triage.routing.pool import PoolModel


class LearnedEstimator:
    def __init__(self, model: QualityModel) -> None:
        self.model = model
        self._pool: dict[str, tuple[CatalogModel, PoolModel]] = {}

    def _as_pool(self, m: CatalogModel) -> PoolModel:
        hit = self._pool.get(m.name)
        if hit is None or hit[0] is not m:
            hit = self._pool[m.name] = (m, m.as_pool_model())
        return hit[1]

    def __call__(self, features: RequestFeatures, models: Sequence[CatalogModel]) -> list[float]:
        return self.model.predict(list(features.messages), [self._as_pool(m) for m in models])
