"""The learned router's decision rule and its behaviour on pools it never saw."""

import pytest

from triage.routing.learned import QualityModel, choose, select
from triage.routing.pool import PoolModel


@pytest.fixture(scope="module")
def qm():
    return QualityModel.load_default()


PROD = [
    PoolModel("gpt-5.4", 2.5, 15.0, "gpt-5.1"),
    PoolModel("claude-sonnet-4-6", 3.0, 15.0, "claude-sonnet-4-5-20250929"),
    PoolModel("gemini-2.5-flash", 0.3, 2.5, "gemini-2.5-flash"),
    PoolModel("no-arena", 0.05, 0.1),
]
MSG = [{"role": "user", "content": "Prove that there are infinitely many primes p with p = 3 mod 4."}]


def test_select_extremes_and_tradeoff():
    q, c = [0.9, 0.85, 0.3], [1.0, 0.1, 0.01]
    assert select(q, c, 1.0, 1.0) == 0  # best predicted
    assert select(q, c, 0.0, 1.0) == 2  # cheapest
    # t=0.9 -> bar 0.81 (0.3 out); lambda=1/9: 0.85/0.9-0.011 = 0.933 > 1-0.111
    assert select(q, c, 0.9, 1.0) == 1
    # 5.6% better for 0.1 of the reference cost (worth 1.1% at t=0.9): the best one
    assert select(q, [0.2, 0.1, 0.01], 0.9, 1.0) == 0
    assert select([0.9, 0.85, 0.3], [0.02, 0.01, 0.001], 0.95, 0.01) == 0  # 5.6% better for 1 ref: worth it


def test_cost_never_rises_when_target_falls(qm):
    costs = []
    for t in (1.0, 0.95, 0.9, 0.7, 0.5, 0.2, 0.0):
        ch = choose(MSG, PROD, t, quality_model=qm)
        costs.append(ch.cost[ch.model])
    assert costs == sorted(costs, reverse=True)


def test_unseen_and_unrated_models_get_predictions(qm):
    q = qm.predict(MSG, PROD)
    assert len(q) == 4 and all(0.0 < x < 1.0 for x in q)
    ch = choose(MSG, PROD, 0.9, quality_model=qm)
    assert ch.model in {m.name for m in PROD}
    assert set(ch.quality) == set(ch.cost) == {m.name for m in PROD}
    assert ch.reason and ch.best_model in ch.quality


def test_arena_prior_orders_models(qm):
    strong = PoolModel("a", 1.0, 1.0, "gemini-2.5-pro")
    weak = PoolModel("b", 1.0, 1.0, "llama-2-7b-chat")
    qs = qm.predict([{"role": "user", "content": "Solve 3x + 7 = 22 for x."}], [strong, weak])
    assert qs[0] > qs[1]


def test_output_tokens_changes_costs_not_quality(qm):
    a = choose(MSG, PROD, 0.9, quality_model=qm, output_tokens=10)
    b = choose(MSG, PROD, 0.9, quality_model=qm, output_tokens=5000)
    assert a.quality == b.quality
    assert b.cost["gpt-5.4"] > a.cost["gpt-5.4"]
