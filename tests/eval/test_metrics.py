"""Metric functions of the eval harness on hand-computed cases."""

import pytest

from triage.eval import metrics as mt


def test_frontier_drops_dominated_and_concave_points():
    pts = [(0.1, 0.5), (0.5, 0.6), (0.3, 0.4), (1.0, 1.0), (1.2, 0.9)]
    # (0.3,0.4) dominated by (0.1,0.5); (0.5,0.6) under the line (0.1,0.5)-(1,1); (1.2,.9) dominated
    assert mt.frontier(pts) == [(0.1, 0.5), (1.0, 1.0)]


def test_quality_at_interpolates_and_is_zero_below_cheapest():
    hull = [(0.1, 0.5), (1.0, 1.0)]
    assert mt.quality_at(hull, 0.05) == 0.0
    assert mt.quality_at(hull, 0.55) == pytest.approx(0.75)
    assert mt.quality_at(hull, 2.0) == 1.0


def test_cost_at_levels():
    hull = [(0.1, 0.5), (1.0, 1.0)]
    assert mt.cost_at(hull, 0.75) == pytest.approx(0.55)
    assert mt.cost_at(hull, 0.4) == 0.1
    assert mt.cost_at(hull, 1.01) is None


def test_aiq_is_area_over_width():
    hull = [(0.0, 0.5), (1.0, 1.0)]
    assert mt.aiq(hull, 0.0, 1.0) == pytest.approx(0.75)
    # half the range below the cheapest point counts as 0: (0 * 0.5 + 0.5 * (0.5+1)/2) / 1
    assert mt.aiq([(0.5, 0.5), (1.0, 1.0)], 0.0, 1.0) == pytest.approx(0.375)


def test_apgr_of_random_mixing_is_one_half_and_cpt_on_the_line():
    h = mt.pgr_frontier([], weak_quality=0.6, strong_quality=0.8)
    assert mt.apgr(h) == pytest.approx(0.5)
    assert mt.cpt(h, 0.5) == pytest.approx(0.5)
    assert mt.cpt(h, 0.8) == pytest.approx(0.8)


def test_apgr_of_a_good_router():
    # recovers 80% of the gap with 20% of calls: area = .2*.4 + .8*(0.8+1)/2 = 0.08 + 0.72
    h = mt.pgr_frontier([(0.2, 0.76)], weak_quality=0.6, strong_quality=0.8)
    assert mt.apgr(h) == pytest.approx(0.8)
    assert mt.cpt(h, 0.5) == pytest.approx(0.125)
