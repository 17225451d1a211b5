"""The routers an evaluation compares, each reduced to its decisions on a dataset.

A run is a matrix ``decisions[k, i]``: the model index chosen for item ``i`` at knob setting
``k``. Baselines under fixed names: ``random`` (every single model; mixing them is the zero
router), ``oracle`` (per item, knows the scores: sweeps quality - lambda x cost), ``cheapest``
(the model with the lowest expected cost of each request), ``seed_keywords``
(``seed_keywords.py``). Product routers, the gateway's two quality estimators under the names
``routing.router`` knows them by: ``learned`` (``triage.routing.learned``) and ``capability``
(the hand-set catalog scores, ``capability.py``); the knob of both is the quality target.
``hybrid`` is the one of the two that the gateway's default estimator
(``triage.routing.learned.hybrid``) picks for the pool: ``learned`` if every model of the pool is
one the quality model's training data scored or is rated within their range, else
``capability``.
``DEFAULT_ROUTER`` is the one ``model: "auto"`` uses: the gateway's default ``Policy().router``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from triage.config.settings import Policy
from triage.eval import seed_keywords as seed
from triage.eval.data import Dataset
from triage.routing.decide import capability_quality, reference_cost, value_order
from triage.routing.learned import QualityModel, expected_costs

BASELINES = ("random", "oracle", "seed_keywords", "cheapest")
PRODUCT_ROUTERS = ("hybrid", "learned", "capability")
# what ``model: "auto"`` uses unless configured otherwise: one source of truth, the gateway's
DEFAULT_ROUTER = Policy().router
# quality targets swept for the product routers: every 0.01 up to 0.5, every 0.0025 above, where
# the curve bends (the knob is continuous: a coarser grid only leaves gaps that the hull bridges
# with straight lines, e.g. LLMRouter's 20% budget fell between the targets 0.65 and 0.7, and
# without the bar between 0.78 and 0.79)
TARGETS = tuple(
    sorted({*np.round(np.linspace(0.02, 0.5, 49), 4), *np.round(np.linspace(0.5, 1.0, 201), 4)})
)


@dataclass
class RouterRun:
    name: str
    decisions: np.ndarray  # (K, n) int


def router_costs(ds: Dataset, qm: QualityModel | None = None) -> np.ndarray:
    """What a router may know of the cost of each request per model (no measured outputs)."""
    return np.asarray([expected_costs(m, ds.models, None, qm) for m in ds.messages])


def run_random(ds: Dataset) -> RouterRun:
    k = len(ds.models)
    return RouterRun("random", np.repeat(np.arange(k)[:, None], len(ds), axis=1))


def run_cheapest(ds: Dataset) -> RouterRun:
    return RouterRun("cheapest", router_costs(ds).argmin(1)[None, :])


def run_oracle(ds: Dataset) -> RouterRun:
    scale = ds.cost.mean(0).max()
    rows = []
    for lam in np.concatenate([[0.0], np.geomspace(1e-4, 1e3, 60)]):
        u = ds.quality - lam * ds.cost / scale - 1e-9 * ds.cost / scale  # ties -> cheaper
        rows.append(u.argmax(1))
    return RouterRun("oracle", np.asarray(rows))


def run_seed_keywords(ds: Dataset, arena: dict) -> RouterRun:
    caps = seed.capabilities(ds.models, arena)
    choice = [seed.route(seed.last_user_text(m), ds.models, caps) for m in ds.messages]
    return RouterRun("seed_keywords", np.asarray([choice]))


def predict_learned(ds: Dataset, qm: QualityModel) -> np.ndarray:
    return np.asarray([qm.predict(m, ds.models) for m in ds.messages])


def run_learned(ds: Dataset, predictions: np.ndarray, qm: QualityModel | None,
                name: str = "learned") -> RouterRun:
    """Sweep the quality target over ``TARGETS`` with the production decision rule
    (``decide.value_order``, the function the gateway's ``decide`` calls, with the rule
    ``QualityModel.selection`` gives the pool)."""
    costs = router_costs(ds, qm)
    ref = reference_cost(ds.models)
    rule = (qm or QualityModel.load_default()).selection(ds.models)
    rows = [[value_order(predictions[i], costs[i], t, ref, rule)[0] for i in range(len(ds))] for t in TARGETS]
    return RouterRun(name, np.asarray(rows))


def run_capability(ds: Dataset, arena: dict, price_slope: float = 0.3) -> RouterRun:
    """The gateway's ``capability`` estimator (``decide.capability_quality`` on the gateway's
    task type and difficulty of each item, pool scores from arena ratings: ``capability.py``)
    with its own rule (cheapest within the bar), swept over ``TARGETS``."""
    from triage.eval.capability import capabilities
    from triage.routing.features import extract

    caps = capabilities(ds.models, arena, price_slope)
    preds = [capability_quality(extract({"messages": m}), caps) for m in ds.messages]
    costs = router_costs(ds)
    ref = reference_cost(ds.models)
    rows = [[value_order(preds[i], costs[i], t, ref, "cheapest")[0] for i in range(len(ds))] for t in TARGETS]
    return RouterRun("capability", np.asarray(rows))


def run_hybrid(ds: Dataset, qm: QualityModel, learned: RouterRun, capability: RouterRun) -> RouterRun:
    """The default estimator's choice for this pool (``HybridEstimator.for_pool``, on the pool's
    names and ratings and the quality model's training set, never on scores): the learned
    router's decisions if it has evidence for every model of the pool, else the capability
    estimator's."""
    from triage.routing.learned.hybrid import Evidence, HybridEstimator

    covered = HybridEstimator(Evidence.of(qm.seen, qm.arena), qm.arena).covers(ds.models)
    return RouterRun("hybrid", (learned if covered else capability).decisions)
