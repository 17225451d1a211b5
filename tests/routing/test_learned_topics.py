"""Groups of training prompts placed alike by the quality model, and the seen models' records on
them (``triage.routing.learned.topics``)."""

from __future__ import annotations

import json

import pytest

from triage.routing.learned.topics import Topics, build


def _doc(**kw):
    # two well-separated groups of points; model "a" does the first group well, "b" the second
    points = [[0.0 + 0.01 * i, 1.0] for i in range(20)] + [[5.0 + 0.01 * i, -1.0] for i in range(20)]
    scores = [{"a": 1.0, "b": 0.0} for _ in range(20)] + [{"a": 0.0, "b": 1.0} for _ in range(19)] + [{"a": 0.0}]
    return json.loads(json.dumps(build(points, scores, **kw)))  # as shipped: through JSON


def test_each_group_keeps_each_models_record():
    doc = _doc(k=2, kappa=10.0)
    t = Topics(doc)
    for g, first, second in zip(doc["groupings"], t.groups([0.1, 1.0]), t.groups([5.1, -1.0])):
        assert first != second
        assert g["counts"]["a"][first] == 20 and g["sums"]["a"][first] == 20.0
        assert g["counts"]["b"][second] == 19 and g["sums"]["b"][second] == 19.0


def test_predictions_move_toward_the_record_by_its_weight():
    t = Topics(_doc(k=2, kappa=10.0))
    a, b, unseen = t.prior([0.05, 1.0], ["a", "b", "c"], [0.5, 0.5, 0.5])
    assert a == pytest.approx((20 + 10 * 0.5) / 30) and b == pytest.approx((0 + 10 * 0.5) / 30)
    assert unseen == 0.5  # a model the data never scored keeps its prediction
    strong = Topics(_doc(k=2, kappa=1e9)).prior([0.05, 1.0], ["a"], [0.5])[0]
    assert strong == pytest.approx(0.5, abs=1e-6)  # a heavy prior: the record barely moves it


def test_the_grouping_is_deterministic():
    assert _doc(k=3) == _doc(k=3)


def test_fewer_points_than_groups():
    t = Topics(json.loads(json.dumps(build([[1.0, 2.0]], [{"a": 1.0}], k=32))))
    assert t.groups([0.0, 0.0]) == [0] * 5 and t.prior([0.0, 0.0], ["a"], [0.0]) == [pytest.approx(1 / 101)]


def test_the_group_is_the_nearest_centre():
    import random

    rng = random.Random(3)
    points = [[rng.gauss(0, 1) for _ in range(4)] for _ in range(300)]
    t = Topics(json.loads(json.dumps(build(points, [{"a": 1.0}] * 300, k=12, groupings=2))))
    for _ in range(200):
        h = [rng.gauss(0, 2) for _ in range(4)]
        z = [(v - m) * s for v, m, s in zip(h, t._mean.tolist(), t._inv_std.tolist())]
        want = [min(range(len(c)), key=lambda j: sum((a - b) ** 2 for a, b in zip(z, c[j]))) for c in t.centres.tolist()]
        assert t.groups(h) == want
