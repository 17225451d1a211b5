"""The neighbour index of the learned router: similar training prompts, and the blend of the seen
models' scores on them with the item-response prediction."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from triage.catalog.model import load_catalog
from triage.routing.learned import QualityModel
from triage.routing.learned import features as feat
from triage.routing.learned.neighbors import NeighborIndex, build
from triage.routing.pool import PoolModel


def _keys(text: str) -> set[bytes]:
    return feat.extract([{"role": "user", "content": text}])[0]


# two sources scoring different models; "strong" does the chemistry, "weak" the poetry
CHEM = [f"Balance the redox equation for permanganate and oxalate number {i} in acidic solution" for i in range(6)]
POEM = [f"Write a haiku about autumn leaves drifting on a quiet pond, version {i}" for i in range(6)]
FILLER = [f"the the the the filler sentence {i}" for i in range(6)]


def _index(**kw) -> NeighborIndex:
    src_a = (["strong", "weak"], [(_keys(t), [1.0, 0.0]) for t in CHEM] + [(_keys(t), [0.0, 1.0]) for t in POEM])
    src_b = (["other"], [(_keys(t), [0.5]) for t in FILLER])
    return NeighborIndex(json.loads(json.dumps(build([src_a, src_b], **kw))))


def test_the_most_similar_training_prompts_come_first() -> None:
    nb = _index(k=3)
    near = nb.nearest(_keys("Balance the redox equation for permanganate and oxalate in acidic solution"))
    assert len(near) == 3
    assert all(j < 6 for j, _ in near)  # chemistry items
    sims = [s for _, s in near]
    assert sims == sorted(sims, reverse=True) and 0 < sims[-1] <= sims[0] <= 1.0 + 1e-9


def test_an_unrelated_prompt_finds_nothing_and_keeps_the_prior() -> None:
    nb = _index()
    near = nb.nearest(_keys("zebra quantum saxophone"))
    assert near == []
    assert nb.blend(near, ["strong", "weak"], [0.3, 0.6]) == [0.3, 0.6]


def test_keys_in_too_many_prompts_are_not_indexed() -> None:
    doc = build([(["m"], [(_keys(t), [1.0]) for t in CHEM + POEM + FILLER])], max_df=6, min_df=2)
    keys = set(doc["keys"])
    assert "the" not in keys  # in 12 prompts
    assert "redox" in keys and "haiku" in keys  # in 6 each
    assert "zebra" not in keys  # in none; a key of one prompt cannot link two either
    assert all(2 <= len(p) <= 6 for p in doc["postings"])


def test_blend_moves_seen_models_toward_their_neighbours_scores_and_leaves_others() -> None:
    nb = _index(k=6, kappa=1.0)
    near = nb.nearest(_keys("Write a haiku about autumn leaves drifting on a quiet pond"))
    strong, weak, unseen = nb.blend(near, ["strong", "weak", "unseen"], [0.5, 0.5, 0.5])
    assert weak > 0.8 and strong < 0.2  # the poetry neighbours: weak did them, strong did not
    assert unseen == 0.5
    # more prior weight, less movement
    nb_heavy = _index(k=6, kappa=100.0)
    s2, w2 = nb_heavy.blend(nb_heavy.nearest(_keys(POEM[0])), ["strong", "weak"], [0.5, 0.5])
    assert strong < s2 < 0.5 < w2 < weak


def test_a_source_that_did_not_score_a_model_says_nothing_about_it() -> None:
    nb = _index(k=20, kappa=1.0)
    near = nb.nearest(_keys("the filler sentence 3 about redox"))
    (other,) = nb.blend(near, ["other"], [0.9])
    assert 0.5 <= other < 0.9  # only the filler items scored "other"


@pytest.fixture(scope="module")
def qm() -> QualityModel:
    return QualityModel.load_default()


def test_the_index_is_read_only_when_a_pool_of_seen_models_needs_it() -> None:
    qm = QualityModel.load_default()
    catalog = [m.as_pool_model() for m in load_catalog(None).models]
    qm.predict([{"role": "user", "content": "What is the capital of Australia?"}], catalog)
    assert not isinstance(qm._neighbors, NeighborIndex)  # still the loader
    assert isinstance(qm.neighbors, NeighborIndex) and qm.neighbors.k >= 1


def test_a_server_reads_the_index_at_start_only_if_its_catalog_needs_it() -> None:
    from dataclasses import replace

    from triage.routing.learned.estimator import LearnedEstimator

    catalog = load_catalog(None).models
    est = LearnedEstimator(QualityModel.load_default())
    est.prepare(catalog)  # the production catalog: no model the data scored
    assert not isinstance(est.model._neighbors, NeighborIndex)
    local = replace(catalog[0], name="llama-local", arena_name="llama-3.1-8b-instruct")
    est.prepare([*catalog, local])
    assert isinstance(est.model._neighbors, NeighborIndex)


def test_the_shipped_index_is_small_and_recorded() -> None:
    base = resources.files("triage").joinpath("data/router")
    assert len(base.joinpath("neighbors.json").read_bytes()) < 10_000_000
    prov = json.loads(base.joinpath("provenance.json").read_text())
    assert prov["neighbors"]["items"] > 1000 and prov["neighbors"]["k"] >= 1
    assert prov["topics"]["k"] >= 2


def test_on_a_seen_pool_the_topic_record_comes_first_then_the_neighbours(qm: QualityModel) -> None:
    bare = QualityModel.__new__(QualityModel)
    bare.__dict__.update(qm.__dict__)
    bare._neighbors, bare._seen_keys = None, set()
    msgs = [{"role": "user", "content": "A train leaves at 3 pm at 60 mph; a second one leaves at 4 pm at 80 mph. "
                                        "When does the second catch up?"}]
    seen = [PoolModel("gemini-1.5-flash-002", 0.075, 0.3, "gemini-1.5-flash-002"),
            PoolModel("Meta-Llama-3_1-8B-Instruct", 0.03, 0.05, "llama-3.1-8b-instruct")]
    keys = [(m.arena_name or m.name).lower() for m in seen]
    nb = qm.neighbors
    assert nb.topics is not None and nb.topics.models() == nb.models()
    p = nb.topics.prior(qm.item(msgs), keys, bare.predict(msgs, seen))
    assert qm.predict(msgs, seen) == nb.blend(nb.nearest(feat.extract(msgs)[0]), keys, p)


def test_neighbours_apply_only_when_the_data_scored_every_model_of_the_pool(qm: QualityModel) -> None:
    bare = QualityModel.__new__(QualityModel)
    bare.__dict__.update(qm.__dict__)
    bare._neighbors, bare._seen_keys = None, set()
    msgs = [{"role": "user", "content": "Which of the following best describes the role of mitochondria "
                                        "in a eukaryotic cell?\nA. protein synthesis\nB. ATP production\n"
                                        "C. lipid storage\nD. DNA replication\nAnswer:"}]
    seen = [PoolModel("gemini-1.5-flash-002", 0.075, 0.3, "gemini-1.5-flash-002"),
            PoolModel("Meta-Llama-3_1-8B-Instruct", 0.03, 0.05, "llama-3.1-8b-instruct")]
    assert qm.predict(msgs, seen) != bare.predict(msgs, seen)
    mixed = seen + [PoolModel("gpt-4-1106-preview", 10.0, 30.0, "gpt-4-1106-preview")]
    assert qm.predict(msgs, mixed) == bare.predict(msgs, mixed)
    catalog = [m.as_pool_model() for m in load_catalog(None).models]  # every production model is unseen
    assert qm.predict(msgs, catalog) == bare.predict(msgs, catalog)


def test_a_posting_budget_reads_the_rarest_keys_first() -> None:
    """Two training prompts: one shares the query's rare key, the other its common ones. With a
    budget too small for the common keys, the rare key's match is still found, and its
    similarity is not overstated (the query's norm counts every key)."""
    filler = [({f"w{i}".encode(), b"common"}, [0.0]) for i in range(40)]
    items = [({b"rare", b"common"}, [1.0]), ({b"rare"}, [1.0])] + filler
    nb = NeighborIndex(build([(["m"], items)], k=3, kappa=1.0, min_df=1, max_df=1000))
    query = {b"rare", b"common"}
    full = dict(nb.nearest(query, max_postings=None))
    cut = dict(nb.nearest(query, max_postings=5))
    assert set(cut) == {0, 1}  # only "rare"'s two postings were read
    assert cut[0] < full[0] + 1e-12 and cut[1] == pytest.approx(full[1])


def test_the_posting_budget_does_not_depend_on_the_order_of_the_keys() -> None:
    """A request's keys are a set, iterated in an order that changes with the hash seed: among
    keys of equal frequency the budget must cut the same ones whatever that order."""
    items = [({f"k{i}".encode(), f"k{(i + 1) % 12}".encode()}, [float(i % 2)]) for i in range(12)]
    nb = NeighborIndex(build([(["m"], items)], k=5, kappa=1.0, min_df=1, max_df=1000))
    keys = [f"k{i}".encode() for i in range(12)]  # every key in 2 prompts: all equally rare
    assert nb.nearest(keys, max_postings=7) == nb.nearest(keys[::-1], max_postings=7)


def _reference_nearest(doc: dict, keys, k: int, max_postings: int | None) -> list[tuple[int, float]]:
    """The lookup written out plainly (the pure-Python version the numpy one replaced)."""
    import heapq
    import math

    w = {key.encode(): idf * idf for key, idf in zip(doc["keys"], doc["idf"])}
    posts = {key.encode(): p for key, p in zip(doc["keys"], doc["postings"])}
    rank = {key.encode(): i for i, key in enumerate(doc["keys"])}
    norm = [0.0] * doc["items"]
    for key, p in posts.items():
        for j in p:
            norm[j] += w[key]
    found = [key for key in keys if key in posts]
    q = sum(w[key] for key in found)
    if max_postings is not None and sum(len(posts[key]) for key in found) > max_postings:
        found.sort(key=lambda key: (len(posts[key]), rank[key]))
        budget = max_postings
        for i, key in enumerate(found):
            budget -= len(posts[key])
            if budget < 0:
                del found[i + (i == 0):]
                break
    acc: dict[int, float] = {}
    for key in found:
        for j in posts[key]:
            acc[j] = acc.get(j, 0.0) + w[key]
    top = heapq.nlargest(k, ((s / math.sqrt(norm[j]), j) for j, s in acc.items()))
    return [(j, s / math.sqrt(q)) for s, j in top]


@pytest.mark.parametrize("budget", [None, 40])
def test_the_lookup_equals_the_plain_definition_ties_included(budget) -> None:
    """Random prompts over a small vocabulary (so many similarities tie): the same neighbours in
    the same order, equal similarity broken toward the later training prompt."""
    import random

    rng = random.Random(7)
    vocab = [f"w{i}".encode() for i in range(30)]
    items = [(set(rng.sample(vocab, rng.randint(1, 6))), [float(rng.random() < 0.5)]) for _ in range(400)]
    doc = json.loads(json.dumps(build([(["m"], items)], k=25, kappa=1.0, min_df=1, max_df=1000)))
    nb = NeighborIndex(doc)
    for _ in range(200):
        query = rng.sample(vocab, rng.randint(1, 8))
        got = nb.nearest(query, max_postings=budget)
        want = _reference_nearest(doc, query, 25, budget)
        assert [j for j, _ in got] == [j for j, _ in want]
        assert [s for _, s in got] == pytest.approx([s for _, s in want], rel=1e-12)
