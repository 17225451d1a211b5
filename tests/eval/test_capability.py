"""The gateway's ``capability`` estimator as the harness measures it, and which router the
harness calls the default."""

import pytest

from triage.catalog.model import load_catalog
from triage.config.settings import Policy
from triage.eval import routers
from triage.eval.capability import capabilities
from triage.eval.cli import ALL_ROUTERS
from triage.routing.learned import QualityModel
from triage.routing.pool import PoolModel


@pytest.fixture(scope="module")
def arena():
    return QualityModel.load_default().arena


def test_default_router_is_the_one_auto_uses() -> None:
    assert routers.DEFAULT_ROUTER == Policy().router
    assert routers.DEFAULT_ROUTER in routers.PRODUCT_ROUTERS
    assert set(routers.PRODUCT_ROUTERS) <= set(ALL_ROUTERS)


def test_pool_capabilities_reproduce_the_catalog(arena) -> None:
    """Computed from arena ratings as scripts/build_catalog.py does (minus the industry_*
    categories the router's arena table lacks): within 0.04 of the shipped catalog."""
    catalog = load_catalog(None)
    caps = capabilities([m.as_pool_model() for m in catalog.models], arena)
    for m, c in zip(catalog.models, caps):
        for task, v in m.capability.items():
            assert c.capability_for(task) == pytest.approx(v, abs=0.04), (m.name, task)


def test_unrated_models_get_a_capability_from_their_price(arena) -> None:
    pool = [PoolModel("rated", 1.0, 3.0, "gemini-2.5-flash"), PoolModel("dear", 10.0, 30.0),
            PoolModel("cheap", 0.05, 0.1)]
    caps = capabilities(pool, arena)
    assert caps[1].capability_for("coding") > caps[2].capability_for("coding")
    assert all(0.0 < c.capability_for(t) <= 2.0 for c in caps for t in ("coding", "general"))
