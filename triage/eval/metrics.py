"""Cost–quality metrics of routers: frontier, AIQ, cost/quality at a level, APGR, CPT.

Conventions (all documented in docs/router.md):
- a router is a set of operating points (cost, quality), one per setting of its knob; mixing
  two settings request by request reaches any point between them, so what a router can do is
  the *non-decreasing upper convex hull* of its points (RouterBench). The zero router
  ("random") is that hull over the single models;
- costs are fractions of the best single model's mean cost; qualities are mean scores;
- below its cheapest point a router cannot operate: its quality there counts as 0.
"""

from __future__ import annotations

from collections.abc import Sequence

Point = tuple[float, float]


def frontier(points: Sequence[Point]) -> list[Point]:
    """Vertices, by increasing cost, of the non-decreasing upper convex hull of ``points``."""
    pts = sorted({(float(c), float(q)) for c, q in points})
    if not pts:
        return []
    # drop points dominated by a cheaper one with at least the same quality
    kept: list[Point] = []
    best = float("-inf")
    for c, q in pts:
        if q > best:
            kept.append((c, q))
            best = q
    hull: list[Point] = []
    for p in kept:  # upper hull, monotone chain
        while len(hull) >= 2:
            (c1, q1), (c2, q2) = hull[-2], hull[-1]
            # remove hull[-1] if it lies on or below the segment hull[-2] -> p
            if (q2 - q1) * (p[0] - c1) <= (p[1] - q1) * (c2 - c1):
                hull.pop()
            else:
                break
        hull.append(p)
    return hull


def quality_at(hull: Sequence[Point], budget: float) -> float:
    """Best mean quality reachable at mean cost <= ``budget`` (0 below the cheapest point)."""
    if not hull or budget < hull[0][0]:
        return 0.0
    for (c1, q1), (c2, q2) in zip(hull, hull[1:]):
        if budget <= c2:
            return q1 + (q2 - q1) * (budget - c1) / (c2 - c1) if c2 > c1 else q2
    return hull[-1][1]


def cost_at(hull: Sequence[Point], level: float) -> float | None:
    """Lowest mean cost at which the frontier reaches mean quality ``level`` (None if never)."""
    if not hull or hull[-1][1] < level:
        return None
    if hull[0][1] >= level:
        return hull[0][0]
    for (c1, q1), (c2, q2) in zip(hull, hull[1:]):
        if q2 >= level:
            return c1 + (c2 - c1) * (level - q1) / (q2 - q1)
    return None  # unreachable


def aiq(hull: Sequence[Point], lo: float, hi: float) -> float:
    """Average of ``quality_at`` over budgets in [lo, hi] (area under the curve / width)."""
    if hi <= lo:
        return quality_at(hull, hi)
    xs = sorted({lo, hi, *(c for c, _ in hull if lo < c < hi)})
    if hull and lo < hull[0][0] < hi:
        # the curve jumps from 0 to the first vertex there: integrate each side separately
        xs = sorted(set(xs) | {hull[0][0]})
    area = 0.0
    for a, b in zip(xs, xs[1:]):
        qa = quality_at(hull, a) if a >= hull[0][0] else 0.0
        qb = quality_at(hull, b)
        if a < hull[0][0]:
            qa = qb = 0.0  # segment entirely below the cheapest point
        area += (b - a) * (qa + qb) / 2.0
    return area / (hi - lo)


def pgr_frontier(
    points: Sequence[Point], weak_quality: float, strong_quality: float
) -> list[Point]:
    """RouteLLM's view: points are (share of calls to the strong model, quality); the sweep
    always includes all-weak (0, weak) and all-strong (1, strong). Returns the hull of
    (share, performance gap recovered)."""
    gap = strong_quality - weak_quality
    if gap == 0:
        return []
    pts = [(0.0, weak_quality), (1.0, strong_quality), *points]
    return frontier([(s, (q - weak_quality) / gap) for s, q in pts])


def apgr(pgr_hull: Sequence[Point]) -> float | None:
    """Average performance gap recovered over call shares 0..1 (RouteLLM)."""
    return aiq(pgr_hull, 0.0, 1.0) if pgr_hull else None


def cpt(pgr_hull: Sequence[Point], level: float) -> float | None:
    """Share of calls to the strong model needed to recover ``level`` of the gap (RouteLLM)."""
    return cost_at(pgr_hull, level) if pgr_hull else None
