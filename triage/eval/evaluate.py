"""Turning router runs into the report: the JSON schema of issue 3, and paired-bootstrap CIs.

Every router's point set also contains "all traffic to the cheapest model" (any router can be
switched off), so each curve starts where the cheapest single model is. ``calls_share`` is
taken where the curve first reaches 95% of the best single model's quality (mixing the two
knob settings around it), or at its best point if it never does.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from triage.eval import metrics as mt
from triage.eval.data import Dataset
from triage.eval.routers import RouterRun


def _points(ds: Dataset, run: RouterRun, idx=None) -> tuple[np.ndarray, np.ndarray]:
    """Mean cost and quality of each knob setting (over items ``idx`` or all)."""
    rows = np.arange(len(ds))
    q = ds.quality[rows[None, :], run.decisions]  # (K, n)
    c = ds.cost[rows[None, :], run.decisions]
    if idx is None:
        return c.mean(1), q.mean(1)
    return c[:, idx].mean(1), q[:, idx].mean(1)


def cost_unit(cm: np.ndarray, best: int) -> float:
    """What costs are fractions of: the best single model's mean cost, or, in a pool whose best
    model is free (a local model priced 0), the dearest model's (else every fraction would be a
    division by zero)."""
    for c in (float(cm[best]), float(cm.max())):
        if c > 0:
            return c
    return 1.0


def summary(ds: Dataset, run: RouterRun, best: int, cheap_point, qbest, cbest, cost_lo, cost_hi,
            c, q, share=None, weak_quality=None) -> dict:
    pts = [(float(ci / cbest), float(qi)) for ci, qi in zip(c, q)]
    pts.append((float(cheap_point[0] / cbest), float(cheap_point[1])))
    hull = mt.frontier(pts)
    out = {
        "aiq": mt.aiq(hull, cost_lo, cost_hi),
        "cost_at_95": mt.cost_at(hull, 0.95 * qbest),
        "cost_at_100": mt.cost_at(hull, qbest),
        "quality_at_cost_10": mt.quality_at(hull, 0.10),
        "curve": [[round(x, 6), round(y, 6)] for x, y in hull],
        "apgr": None,
        "cpt50": None,
        "cpt80": None,
    }
    if len(ds.models) == 2:
        weak = 1 - best
        strong_share = (run.decisions == best).mean(1)
        pq = [(float(s), float(qi)) for s, qi in zip(strong_share, q)]
        wq = float(ds.quality[:, weak].mean()) if weak_quality is None else weak_quality
        ph = mt.pgr_frontier(pq, wq, qbest)
        out["apgr"] = mt.apgr(ph)
        out["cpt50"] = mt.cpt(ph, 0.5)
        out["cpt80"] = mt.cpt(ph, 0.8)
    if share is not None:
        out["calls_share"] = share
    return out


def calls_share(ds: Dataset, run: RouterRun, c, q, cbest, qbest) -> dict[str, float]:
    names = ds.model_names
    shares = np.stack([(run.decisions == j).mean(1) for j in range(len(names))], 1)  # (K, m)
    x = c / cbest
    order = np.argsort(x)
    reach = [k for k in order if q[k] >= 0.95 * qbest]
    if not reach:
        k = int(np.argmax(q))
        s = shares[k]
    else:
        k1 = reach[0]
        below = [k for k in order if x[k] <= x[k1] and q[k] < 0.95 * qbest]
        k0 = max(below, key=lambda k: q[k]) if below else None
        if k0 is None or q[k1] == q[k0]:
            s = shares[k1]
        else:  # mix the two settings so the mean quality is exactly 95%
            a = (0.95 * qbest - q[k0]) / (q[k1] - q[k0])
            s = (1 - a) * shares[k0] + a * shares[k1]
    return {n: round(float(v), 6) for n, v in zip(names, s)}


def report(ds: Dataset, runs: Sequence[RouterRun], default_router: str) -> dict:
    qm, cm = ds.quality.mean(0), ds.cost.mean(0)
    best = int(max(range(len(qm)), key=lambda j: (qm[j], -cm[j])))
    cheap = int(np.argmin(cm))
    qbest, cbest = float(qm[best]), cost_unit(cm, best)
    lo, hi = float(cm.min() / cbest), float(cm.max() / cbest)
    routers = {}
    for run in runs:
        c, q = _points(ds, run)
        share = calls_share(ds, run, c, q, cbest, qbest)
        routers[run.name] = summary(ds, run, best, (cm[cheap], qm[cheap]), qbest, cbest, lo, hi,
                                    c, q, share)
    return {
        "dataset": ds.name,
        "items": len(ds),
        "pool": ds.model_names,
        "default_router": default_router,
        "best_single": {"model": ds.model_names[best], "quality": qbest, "cost": float(cm[best])},
        "routers": routers,
    }


def bootstrap(ds: Dataset, runs: Sequence[RouterRun], n_boot: int = 200, seed: int = 0,
              metrics=("aiq", "quality_at_cost_10", "cost_at_95", "apgr")) -> dict:
    """Paired bootstrap over items: the same resamples for every router.
    -> {router: {metric: array of n_boot values (nan where undefined)}}."""
    rng = np.random.default_rng(seed)
    n = len(ds)
    per_run = {}
    for run in runs:
        rows = np.arange(n)
        per_run[run.name] = (ds.cost[rows[None, :], run.decisions],
                             ds.quality[rows[None, :], run.decisions])
    out = {run.name: {m: np.full(n_boot, np.nan) for m in metrics} for run in runs}
    for b in range(n_boot):
        w = np.bincount(rng.integers(0, n, n), minlength=n) / n
        qm, cm = ds.quality.T @ w, ds.cost.T @ w
        best = int(max(range(len(qm)), key=lambda j: (qm[j], -cm[j])))
        cheap = int(np.argmin(cm))
        qbest, cbest = float(qm[best]), cost_unit(cm, best)
        lo, hi = float(cm.min() / cbest), float(cm.max() / cbest)
        for run in runs:
            C, Q = per_run[run.name]
            s = summary(ds, run, best, (cm[cheap], qm[cheap]), qbest, cbest, lo, hi, C @ w, Q @ w,
                        weak_quality=float(qm[1 - best]) if len(qm) == 2 else None)
            for m in metrics:
                v = s[m]
                if m == "quality_at_cost_10" and v is not None:
                    v = v / qbest if qbest > 0 else None  # a resample where every model scored 0
                out[run.name][m][b] = np.nan if v is None else v
    return out
