"""The default estimator (``routing.router: hybrid``): the learned model on a pool the training
data scored in full, the catalog's capability scores on any other, decided from the pool's
names alone; and the gateway reads no learned weights for a catalog it would not use them on."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from triage.catalog.model import CatalogModel, load_catalog
from triage.config.settings import Policy
from triage.routing.decide import capability_quality, decide
from triage.routing.features import extract
from triage.routing.learned import QualityModel
from triage.routing.learned.hybrid import HybridEstimator, model_key, shipped_seen

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


def test_seen_json_lists_exactly_the_models_the_shipped_weights_were_fitted_on(qm) -> None:
    assert shipped_seen() == frozenset(qm.seen)
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


def test_one_model_the_data_never_scored_makes_the_pool_the_capability_estimators(qm) -> None:
    est = HybridEstimator(load=lambda: qm)
    mixed = (*LOCAL, CATALOG.get("gpt-5.4-nano"))
    f = extract({"messages": [{"role": "user", "content": QUESTION}]})
    d = decide(f, mixed, Policy(), PROVIDERS, estimator=est)
    assert d.estimator == "capability"
    assert d.model == decide(f, mixed, Policy(), PROVIDERS).model


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
    est = HybridEstimator(seen=frozenset(), load=lambda: pytest.fail("loaded"))
    est.prepare(LOCAL)
    assert est.for_pool(LOCAL) is capability_quality
