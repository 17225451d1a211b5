"""The learned quality model on the production catalog: shipped weights, calibration, the
gateway's cues, and the decision being the one the evaluation harness measures."""

from __future__ import annotations

import json
import random
from importlib import resources

import pytest

from triage.catalog.model import load_catalog
from triage.config.settings import Policy
from triage.routing.decide import decide, reference_cost, value_order
from triage.routing.features import extract
from triage.routing.learned import QualityModel, choose
from triage.routing.learned import features as feat
from triage.routing.learned.estimator import LearnedEstimator

CATALOG = load_catalog(None)
FAMILIES = [
    ("gpt-5.4", "gpt-5.4-mini", "gpt-5.4-nano"),
    ("claude-opus-4-6", "claude-sonnet-4-6", "claude-haiku-4-5"),
    ("gemini-2.5-pro", "gemini-2.5-flash", "gemini-2.5-flash-lite"),
]
GENERAL = ["hi there", "What is the capital of Australia?", "Give me three ideas for a team offsite.",
           "Summarize the plot of Hamlet in two sentences."]


@pytest.fixture(scope="module")
def qm() -> QualityModel:
    return QualityModel.load_default()


def _msgs(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


def test_shipped_weights_are_small_and_carry_their_provenance() -> None:
    base = resources.files("triage").joinpath("data/router")
    assert len(base.joinpath("weights.json").read_bytes()) < 10_000_000
    prov = json.loads(base.joinpath("provenance.json").read_text())
    assert prov["built"] and prov["command"].startswith("python scripts/train_router.py")
    assert all(len(h) == 64 for h in prov["data_files"].values())
    assert "routing/mmlu_pro.train.jsonl" in prov["data_files"]
    assert not any("dev" in f or "routellm" in f for f in prov["data_files"])  # measuring files only


@pytest.mark.parametrize("prompt", GENERAL)
def test_a_frontier_model_is_never_predicted_below_its_smaller_sibling(qm: QualityModel, prompt: str) -> None:
    est = LearnedEstimator(qm)
    f = extract({"messages": _msgs(prompt)})
    q = dict(zip([m.name for m in CATALOG.models], est(f, CATALOG.models)))
    for family in FAMILIES:
        ranked = [q[n] for n in family]
        assert ranked == sorted(ranked, reverse=True), (prompt, family, ranked)


def test_predictions_are_probabilities_and_an_everyday_prompt_is_likely_done_well(qm: QualityModel) -> None:
    pool = [m.as_pool_model() for m in CATALOG.models]
    q = qm.predict(_msgs("What is the capital of Australia?"), pool)
    assert all(0.0 < x < 1.0 for x in q)
    assert min(q) > 0.5, q  # "hi there"-class prompts: every current model is more likely right than wrong


def test_a_harder_request_lowers_every_prediction_and_spreads_the_models(qm: QualityModel) -> None:
    pool = [m.as_pool_model() for m in CATALOG.models]
    msgs = _msgs("Write a function that parses a date string.")
    easy = qm.predict(msgs, pool, "coding", 0.2)
    hard = qm.predict(msgs, pool, "coding", 0.9)
    assert all(h < e for h, e in zip(hard, easy))
    names = [m.name for m in pool]
    top, low = names.index("claude-opus-4-6"), names.index("gemini-2.5-flash-lite")
    assert hard[top] - hard[low] > easy[top] - easy[low]


def test_the_estimator_reads_the_gateways_own_cues(qm: QualityModel) -> None:
    est = LearnedEstimator(qm)
    body = {"messages": _msgs("Find the race condition in this 5000-line codebase; the worker double-charges.")}
    f = extract(body)
    pool = [m.as_pool_model() for m in CATALOG.models]
    assert est(f, CATALOG.models) == qm.predict(body["messages"], pool, f.task_type, f.difficulty)
    assert est(f, CATALOG.models) == qm.predict(body["messages"], pool)  # computed alike when not given


def test_features_are_bounded_and_keep_words_of_any_script() -> None:
    keys, dense = feat.extract(_msgs("Combien coûte 12 € ? Prix: 3,50 x=y"))
    assert b"co\xc3\xbbte" in keys and b"00" in keys and b"0" in keys and b"=" in keys
    assert len(dense) == len(feat.DENSE_NAMES)
    long_keys, _ = feat.extract(_msgs("word " * 100_000 + "tail"))
    assert len(long_keys) < 10 and b"tail" in long_keys


def test_value_order_never_picks_a_cheaper_model_for_a_higher_target() -> None:
    rng = random.Random(7)
    for _ in range(300):
        n = rng.randint(2, 8)
        q = [rng.random() for _ in range(n)]
        c = [rng.random() for _ in range(n)]
        picks = [c[value_order(q, c, t, 0.5)[0]] for t in (0.0, 0.2, 0.5, 0.8, 0.9, 0.95, 1.0)]
        assert picks == sorted(picks)
        assert value_order(q, c, 1.0, 0.5)[0] == max(range(n), key=lambda i: (q[i], -c[i]))
        assert value_order(q, c, 0.0, 0.5)[0] == min(range(n), key=lambda i: (c[i], -q[i]))


def test_value_only_is_the_value_rule_without_the_bar() -> None:
    """Every model may serve; the order is the value's. On a hard request where every model is
    likely to fail, the bar buys the dearer one for 0.17 vs 0.08; the value alone does not."""
    q, c = [0.08, 0.17], [0.1, 0.9]
    assert value_order(q, c, 0.8, 1.0) == [1]  # 0.08 < 0.8 x 0.17: below the bar
    assert value_order(q, c, 0.8, 1.0, "value_only") == [0, 1]  # +0.09 is not worth +0.8 in cost at 0.25 a reference cost
    rng = random.Random(11)
    for _ in range(300):
        n = rng.randint(2, 8)
        q = [rng.random() for _ in range(n)]
        c = [rng.random() for _ in range(n)]
        for t in (0.0, 0.3, 0.9, 1.0):
            order = value_order(q, c, t, 0.5, "value_only")
            assert sorted(order) == list(range(n))
            lam = (1 - t) / t / 0.5 if t > 0 else None
            if lam is not None:  # the first is the best value of all
                assert lam * c[order[0]] - q[order[0]] == min(lam * c[i] - q[i] for i in range(n))
            barred = value_order(q, c, t, 0.5, "value")
            if order[0] in barred:  # where the best value reaches the bar, the rules agree
                assert barred[0] == order[0]
        picks = [c[value_order(q, c, t, 0.5, "value_only")[0]] for t in (0.0, 0.2, 0.5, 0.8, 0.9, 0.95, 1.0)]
        assert picks == sorted(picks)
        assert value_order(q, c, 1.0, 0.5, "value_only")[0] == max(range(n), key=lambda i: (q[i], -c[i]))
        assert value_order(q, c, 0.0, 0.5, "value_only")[0] == min(range(n), key=lambda i: (c[i], -q[i]))


def test_the_bar_applies_unless_the_data_scored_every_model_of_the_pool(qm: QualityModel) -> None:
    from triage.routing.pool import PoolModel

    scored = [PoolModel("a", 0.1, 0.1, arena_name="gemini-1.5-flash-002"),
              PoolModel("b", 1.0, 1.0, arena_name="gemini-1.5-pro-002")]
    assert {m.arena_name for m in scored} <= set(qm.seen)
    assert qm.selection(scored) == "value_only"
    gpt4 = PoolModel("gpt-4", 10.0, 30.0, arena_name="gpt-4-1106-preview")  # rated, never scored
    assert qm.selection([*scored, gpt4]) == "value"
    assert qm.selection([gpt4]) == "value"


def test_decide_choose_and_the_harness_share_the_rule_of_a_scored_pool(qm: QualityModel) -> None:
    """On a pool the data scored, a hard item where the bar would buy the dear model: all three
    paths take the best value instead, and say so."""
    from triage.catalog.model import CatalogModel
    from triage.eval.data import Dataset
    from triage.eval.routers import TARGETS, run_learned

    local = tuple(CatalogModel(name=n, provider="local", input_per_mtok=i, output_per_mtok=o,
                               context_window=128000, arena_name=a)
                  for n, i, o, a in [("flash", 0.075, 0.3, "gemini-1.5-flash-002"),
                                     ("pro", 1.25, 5.0, "gemini-1.5-pro-002")])
    est = LearnedEstimator(qm)
    assert est.selection_for(local) == "value_only"
    f = extract({"messages": _msgs("Prove that sqrt(2) is irrational.")})
    d = decide(f, local, Policy(), ("local",), quality_target=0.9, estimator=est)
    assert "best value for its cost of the 2 eligible models at quality target 90%" in d.reason
    assert not d.rejected and len(d.candidates) == 2  # nothing is below a bar
    pool = [m.as_pool_model() for m in local]
    ch = choose(f.messages, pool, 0.9, output_tokens=f.expected_output_tokens, quality_model=qm)
    assert ch.model == d.model
    # the harness sweeps the same rule: its decision at each target is value_order's "value_only"
    import numpy as np

    # (a second item, long and predicted as a hard one every model is likely to fail, is one where
    # the two rules differ: a harness sweeping the barred rule would not pass)
    hard = _msgs("Prove it, step by step, for every case of the following. " * 400)
    ds = Dataset("t", pool, ["x", "hard"], [f.messages, hard], ["c", "c"], np.zeros((2, 2)), np.zeros((2, 2)))
    preds = np.asarray([qm.predict(f.messages, pool), [0.08, 0.17]])
    run = run_learned(ds, preds, qm)
    from triage.eval.routers import router_costs

    costs = router_costs(ds, qm)
    ref = reference_cost(pool)
    for i in range(2):
        assert [int(x) for x in run.decisions[:, i]] == [value_order(preds[i], costs[i], t, ref, "value_only")[0] for t in TARGETS]
    assert [int(x) for x in run.decisions[:, 1]] != [value_order(preds[1], costs[1], t, ref, "value")[0] for t in TARGETS]


@pytest.mark.parametrize("gain, dear", [(0.06, True), (0.05, False)])
def test_value_order_prices_predicted_quality_the_same_on_every_request(gain: float, dear: bool) -> None:
    """At target 0.9 half a reference cost more buys a model only if its predicted quality is
    (1 - 0.9)/0.9 / 2 = 0.056 higher, whatever the level (both pass the bar here): +0.06 is worth
    it, +0.05 is not (relative to the best, as the rule was before 2026-11-26, 0.05 / 0.65 = 0.077
    was)."""
    for level in (0.6, 0.85):
        q, c = [level, level + gain], [0.0, 0.5]
        assert value_order(q, c, 0.9, ref_cost=1.0)[0] == (1 if dear else 0)


@pytest.mark.parametrize("prompt", ["Write a haiku about autumn rain.", "Prove that sqrt(2) is irrational.",
                                    "Compare PostgreSQL and MongoDB for a product catalog."])
def test_decide_and_the_harness_path_make_the_same_choice(qm: QualityModel, prompt: str) -> None:
    """``decide`` (production) and ``choose`` (what ``triage eval`` sweeps) share the rule: with
    the same costs they pick the same model."""
    providers = ("anthropic", "gemini")  # no hidden reasoning factor: the same cost formula
    models = [m for m in CATALOG.models if m.provider in providers]
    f = extract({"messages": _msgs(prompt)})
    for target in (0.5, 0.9, 0.97):
        d = decide(f, CATALOG.models, Policy(), providers, quality_target=target, estimator=LearnedEstimator(qm))
        assert d.candidates[0].model == d.model
        pool = [m.as_pool_model() for m in models]
        ch = choose(_msgs(prompt), pool, target, output_tokens=f.expected_output_tokens, quality_model=qm)
        assert ch.model == d.model, (target, d.reason, ch.reason)
        assert reference_cost(pool) == reference_cost(models)


def test_seen_models_own_corrections_apply_only_when_the_data_saw_every_model_of_the_pool(qm: QualityModel) -> None:
    from triage.routing.pool import PoolModel

    plain = QualityModel.__new__(QualityModel)
    plain.__dict__.update(qm.__dict__)
    plain.seen, plain._pool_cache, plain._last = {}, {}, None  # every model placed by its rating alone
    plain._neighbors, plain._seen_keys = None, set()
    msgs = _msgs("Which of these is a prime number?\nA. 21\nB. 27\nC. 29\nD. 33\nAnswer:")
    seen = [PoolModel("gemini-1.5-flash-002", 0.075, 0.3, "gemini-1.5-flash-002"),
            PoolModel("Meta-Llama-3_1-8B-Instruct", 0.03, 0.05, "llama-3.1-8b-instruct")]
    mixed = seen + [PoolModel("gpt-4-1106-preview", 10.0, 30.0, "gpt-4-1106-preview")]
    assert qm.predict(msgs, mixed) == plain.predict(msgs, mixed)
    assert qm.predict(msgs, seen) != plain.predict(msgs, seen)
