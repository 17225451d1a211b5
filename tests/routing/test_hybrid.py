"""The default estimator (``routing.router: hybrid``): the learned model on a pool whose every
model the training data scored or the arena rates within the range of those it scored, the
catalog's capability scores on any other, decided from the pool's names and ratings alone; and
the gateway reads no learned weights for a catalog it would not use them on."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from triage.catalog.model import CatalogModel, load_catalog
from triage.config.settings import Policy
from triage.routing.decide import capability_quality, decide
from triage.routing.features import extract
from triage.routing.learned import QualityModel
from triage.routing.learned.hybrid import Evidence, HybridEstimator, shipped_evidence
from triage.routing.pool import model_key

CATALOG = load_catalog(None)
PROVIDERS = ("openai", "anthropic", "gemini", "local")
LOCAL = tuple(
    CatalogModel(name=n, provider="local", input_per_mtok=i, output_per_mtok=o, context_window=128000, arena_name=a)
    for n, i, o, a in [("llama-8b", 0.03, 0.05, "llama-3.1-8b-instruct"),
                       ("gemini-flash", 0.075, 0.3, "gemini-1.5-flash-002"),
                       ("gemini-pro", 1.25, 5.0, "gemini-1.5-pro-002")]
)
QUESTION = "The following is a multiple choice question about law. Which doctrine applies?\nA. x\nB. y\nAnswer:"


@pytest.fixture(scope="module")
def qm() -> QualityModel:
    return QualityModel.load_default()


def test_seen_json_is_the_evidence_of_the_shipped_weights(qm) -> None:
    ev = shipped_evidence()
    assert ev == Evidence.of(qm.seen, qm.arena)
    assert ev.seen == frozenset(qm.seen) and 1100 < ev.lo < ev.hi < 1400  # 2024-era models
    doc = json.loads(resources.files("triage").joinpath("data/router/seen.json").read_text())
    assert doc["models"] == sorted(doc["models"])


def test_the_production_catalog_is_not_covered_and_never_loads_the_weights() -> None:
    loads = []
    est = HybridEstimator(load=lambda: loads.append(1) or QualityModel.load_default())
    est.prepare(CATALOG.models)
    f = extract({"messages": [{"role": "user", "content": "What is the capital of Peru?"}]})
    d = decide(f, CATALOG.models, Policy(), ("openai", "anthropic", "gemini"), estimator=est)
    plain = decide(f, CATALOG.models, Policy(), ("openai", "anthropic", "gemini"))  # capability
    assert not loads
    assert est.for_pool(CATALOG.models) is capability_quality
    assert (d.model, d.estimator) == (plain.model, "capability")
    assert "capability estimator" in d.reason


def test_a_pool_the_data_scored_in_full_is_routed_by_the_learned_model(qm) -> None:
    loads = []
    est = HybridEstimator(load=lambda: loads.append(1) or qm)
    est.prepare((*CATALOG.models, *LOCAL))  # the catalog has models the data scored: loaded at start
    assert loads == [1]
    f = extract({"messages": [{"role": "user", "content": QUESTION}]})
    d = decide(f, LOCAL, Policy(), PROVIDERS, estimator=est)
    assert d.estimator == "learned" and "learned estimator" in d.reason
    expected = dict(zip([m.name for m in LOCAL], qm.predict(f.messages, [m.as_pool_model() for m in LOCAL])))
    assert d.chosen.predicted_quality == pytest.approx(expected[d.model])
    assert loads == [1]  # once


def test_a_model_rated_above_every_scored_one_makes_the_pool_the_capability_estimators(qm) -> None:
    est = HybridEstimator(load=lambda: qm)
    mixed = (*LOCAL, CATALOG.get("gpt-5.4"))  # rated as gpt-5.1, 1438: beyond the data
    f = extract({"messages": [{"role": "user", "content": QUESTION}]})
    d = decide(f, mixed, Policy(), PROVIDERS, estimator=est)
    assert d.estimator == "capability"
    assert d.model == decide(f, mixed, Policy(), PROVIDERS).model


def test_a_model_rated_within_the_scored_range_is_the_learned_models_too(qm) -> None:
    """GPT-4-1106 (1315) was never scored, but sits between models that were (RouteLLM's pool)."""
    est = HybridEstimator(load=lambda: qm)
    gpt4 = CatalogModel(name="gpt-4-1106-preview", provider="local", input_per_mtok=10, output_per_mtok=30,
                        arena_name="gpt-4-1106-preview")
    assert model_key(gpt4) not in est.evidence.seen
    assert est.covers((*LOCAL, gpt4))
    f = extract({"messages": [{"role": "user", "content": QUESTION}]})
    assert decide(f, (*LOCAL, gpt4), Policy(), PROVIDERS, estimator=est).estimator == "learned"


def test_a_model_without_a_rating_is_the_capability_estimators() -> None:
    """A local model with a hand-set capability and no arena name: nothing places it on the
    learned scale, and its capability is what the user wrote."""
    est = HybridEstimator(load=lambda: pytest.fail("loaded"))
    local = CatalogModel(name="llama3.1:8b", provider="local", input_per_mtok=0, output_per_mtok=0,
                         capability={"general": 0.55})
    assert not est.covers((*LOCAL, local))
    assert est.for_pool((local,)) is capability_quality


def test_a_request_whose_needs_leave_only_scored_models_is_routed_by_the_learned_model(qm) -> None:
    """The choice is per *eligible* pool: a model filtered out by the request's needs (here the
    context window) does not count."""
    est = HybridEstimator(load=lambda: qm)
    tiny = CatalogModel(name="tiny", provider="local", input_per_mtok=0.01, output_per_mtok=0.01, context_window=16)
    f = extract({"messages": [{"role": "user", "content": QUESTION}]})
    d = decide(f, (*LOCAL, tiny), Policy(), PROVIDERS, estimator=est)
    assert "tiny" in d.rejected and d.estimator == "learned"


def test_keys_are_the_arena_name_else_the_name_lower_case() -> None:
    assert model_key(LOCAL[0]) == "llama-3.1-8b-instruct"
    assert model_key(CatalogModel(name="Mistral-7B", provider="x", input_per_mtok=0, output_per_mtok=0)) == "mistral-7b"


def test_an_empty_seen_set_is_always_the_capability_estimator() -> None:
    est = HybridEstimator(Evidence.of((), {}), load=lambda: pytest.fail("loaded"))
    est.prepare(LOCAL)
    assert est.for_pool(LOCAL) is capability_quality
