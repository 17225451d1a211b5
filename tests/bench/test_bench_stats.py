"""Percentiles and run medians of the benchmark (bench.stats)."""

from __future__ import annotations

import math
import random

import pytest

from bench.stats import diff, median, median_runs, percentile, spread, summarize_latencies


def test_percentile_matches_linear_interpolation():
    data = [15, 20, 35, 40, 50]
    assert percentile(data, 0) == 15
    assert percentile(data, 100) == 50
    assert percentile(data, 50) == 35
    assert percentile(data, 40) == pytest.approx(29.0)  # pos 1.6 -> 20 + 0.6 * 15
    assert percentile([7], 99) == 7
    assert percentile([], 50) is None


def test_percentile_agrees_with_numpy_default():
    np = pytest.importorskip("numpy")
    rng = random.Random(4)
    for n in (2, 3, 10, 101, 1000):
        xs = [rng.expovariate(1.0) for _ in range(n)]
        for q in (1, 50, 90, 99, 99.9):
            assert percentile(xs, q) == pytest.approx(float(np.percentile(xs, q)))


def test_percentile_is_order_independent_and_rejects_bad_q():
    xs = [5.0, 1.0, 3.0, 2.0, 4.0]
    assert percentile(xs, 50) == percentile(sorted(xs), 50) == 3.0
    with pytest.raises(ValueError):
        percentile(xs, 101)


def test_summarize_latencies_in_ms():
    s = summarize_latencies([0.001] * 98 + [0.002, 0.100])
    assert s["p50_ms"] == 1.0
    assert s["max_ms"] == 100.0
    assert s["samples"] == 100
    assert summarize_latencies([])["p99_ms"] is None


def test_median_and_median_runs():
    assert median([3, 1, 2]) == 2
    assert median([4, 1, 2, 3]) == 2.5
    assert median([None, 5]) == 5
    assert median([]) is None
    runs = [{"rps": 100.0, "errors": 0, "loadgen": "wrk"}, {"rps": 300.0, "errors": 2, "loadgen": "wrk"},
            {"rps": 200.0, "errors": 1, "loadgen": "wrk"}]
    m = median_runs(runs)
    assert m == {"rps": 200.0, "errors": 1, "loadgen": "wrk"}


def test_spread_and_diff():
    assert spread([90, 100, 110]) == pytest.approx(0.2)
    assert spread([]) is None
    assert diff(1.5, 0.25) == 1.25
    assert diff(None, 1) is None
    assert not math.isnan(spread([0, 0, 1]) or 0)
