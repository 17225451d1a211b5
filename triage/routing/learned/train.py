"""Fitting the quality model on scored routing data (training only: needs numpy, scipy, sklearn).

Two stages, both convex or closed-form, so a rebuild takes about a minute:

1. *Refinement where data exists*: for every model present in the training data (identified by
   its arena name, else its name), a logistic regression of its score (soft label in [0, 1])
   on the prompt features ``phi`` (L2-normalised bag of tokens + standardised dense features).
2. *Transfer to unseen models* (item-response view): the stacked coefficient matrix of those
   models is factored (SVD) into ``r`` prompt directions ``E`` — what a prompt asks and how
   hard it is — and per-model loadings; a ridge regression then maps a model's arena/price
   prior vector ``f_m`` (``prior.py``) to its intercept and loadings: ``[a, u] = f_m^T P``.

At run time a seen model uses its own regression; any other model
``sigmoid(a + u . (E^T phi))`` from its prior.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from triage.routing.learned import features as feat
from triage.routing.learned.prior import FEATURE_NAMES, blended_price, prior_vectors
from triage.routing.pool import PoolModel


@dataclass
class TrainSet:
    """Items (messages + scores) of one source, scored for one pool."""

    name: str
    items: list[dict]
    models: list[PoolModel]


@dataclass
class Hyper:
    rank: int = 8
    min_df: int = 3
    max_vocab: int = 20000
    C: float = 1.0  # inverse L2 strength of the per-model regressions
    ridge: float = 1.0  # L2 of the prior map P
    digits: int = 4  # rounding of shipped weights


def model_key(m: PoolModel) -> str:
    return (m.arena_name or m.name).lower()


def fit_price_slope(sets: Sequence[TrainSet], arena: Mapping) -> float:
    """Slope of arena z_full on log price, within pools (each pool demeaned)."""
    xs, ys = [], []
    for s in sets:
        rated = [m for m in s.models if m.arena_name in arena]
        if len(rated) < 2:
            continue
        lp = [math.log(blended_price(m)) for m in rated]
        zf = [(arena[m.arena_name]["full"] - 1250.0) / 100.0 for m in rated]
        mlp, mz = sum(lp) / len(lp), sum(zf) / len(zf)
        xs += [v - mlp for v in lp]
        ys += [v - mz for v in zf]
    sxx = sum(x * x for x in xs)
    return sum(x * y for x, y in zip(xs, ys)) / sxx if sxx > 0 else 0.3


def fit(sets: Sequence[TrainSet], arena: Mapping, hp: Hyper = Hyper(), log=print) -> dict:
    """Fit on the given sets; returns the JSON-ready weights document (without provenance)."""
    import numpy as np
    from scipy import sparse
    from sklearn.linear_model import LogisticRegression

    price_slope = fit_price_slope(sets, arena)
    keys_list, dense_rows = [], []
    obs: dict[str, list[tuple[int, float]]] = {}
    lengths: dict[str, list[tuple[int, float]]] = {}
    prior_of: dict[str, list[float]] = {}
    for s in sets:
        pri = prior_vectors(s.models, arena, price_slope)
        keyed = [(m.name, model_key(m)) for m in s.models]
        for (_, k), f in zip(keyed, pri):
            prior_of.setdefault(k, f)
            obs.setdefault(k, [])
        for it in s.items:
            i = len(keys_list)
            keys, dense = feat.extract(it["messages"])
            keys_list.append(keys)
            dense_rows.append(dense)
            outs = it.get("output_tokens") or {}
            for name, k in keyed:
                if name in it["scores"]:
                    obs[k].append((i, float(it["scores"][name])))
                if outs.get(name) is not None:
                    lengths.setdefault(k, []).append((i, math.log1p(float(outs[name]))))
    n = len(keys_list)
    df = Counter(k for ks in keys_list for k in ks)
    vocab_keys = [k for k, c in df.most_common(hp.max_vocab) if c >= hp.min_df]
    vocab = {k: i for i, k in enumerate(vocab_keys)}
    V = len(vocab)
    ri, ci, vals = [], [], []
    for i, ks in enumerate(keys_list):
        idx = [vocab[k] for k in ks if k in vocab]
        w = 1.0 / math.sqrt(len(idx)) if idx else 0.0
        ri += [i] * len(idx)
        ci += idx
        vals += [w] * len(idx)
    Z = np.asarray(dense_rows)
    zmean, zstd = Z.mean(0), Z.std(0)
    zstd = np.where(zstd < 1e-3, 1.0, zstd)
    X = sparse.hstack(
        [sparse.csr_matrix((vals, (ri, ci)), shape=(n, V)), sparse.csr_matrix((Z - zmean) / zstd)]
    ).tocsr()
    models = list(obs)
    log(f"train: {n} items, {len(models)} models, vocab {V}, price slope {price_slope:.3f}")
    coef, icpt = [], []
    for k in models:
        rows = np.array([i for i, _ in obs[k]])
        y = np.array([s for _, s in obs[k]])
        # soft labels: every item once as success (weight y) and once as failure (weight 1-y)
        Xk = sparse.vstack([X[rows], X[rows]])
        yk = np.r_[np.ones(len(rows)), np.zeros(len(rows))]
        wk = np.r_[y, 1.0 - y]
        keep = wk > 0
        lr = LogisticRegression(C=hp.C, max_iter=500)
        lr.fit(Xk[keep], yk[keep], sample_weight=wk[keep])
        coef.append(lr.coef_[0])
        icpt.append(lr.intercept_[0])
    Wm = np.asarray(coef)  # (M, V + Dd)
    b = np.asarray(icpt)
    # item-response factorisation of the models' coefficients
    U, S, Vt = np.linalg.svd(Wm, full_matrices=False)
    r = min(hp.rank, len(S))
    E = Vt[:r].T  # (V + Dd, r) prompt directions
    L = U[:, :r] * S[:r]  # (M, r) model loadings
    F = np.asarray([prior_of[k] for k in models])
    T = np.c_[b, L]
    P = np.linalg.solve(F.T @ F + hp.ridge * np.eye(F.shape[1]), F.T @ T)
    resid = T - F @ P
    log(f"train: rank {r} keeps {float((S[:r] ** 2).sum() / (S ** 2).sum()):.3f} of the "
        f"coefficient energy; prior fit RMSE {float(np.sqrt((resid ** 2).mean())):.3f}")
    # answer length of models whose real outputs were measured: ridge on the dense features
    Zs = (Z - zmean) / zstd
    length = {}
    for k, pairs in lengths.items():
        rows = np.array([i for i, _ in pairs])
        y = np.array([v for _, v in pairs])
        A = np.c_[np.ones(len(rows)), Zs[rows]]
        coef_len = np.linalg.solve(A.T @ A + 1.0 * np.eye(A.shape[1]), A.T @ y)
        length[k] = [round(float(v), 4) for v in coef_len]
    log(f"train: answer-length models for {sorted(length)}")
    d = hp.digits
    rnd = lambda a: [round(float(v), d) for v in a]  # noqa: E731
    rows_all = np.c_[Wm.T, E]  # (V + Dd, M + r)
    return {
        "format": 1,
        "rank": r,
        "known_models": models,
        "intercepts": rnd(b),
        "vocab": {k: rnd(rows_all[i]) for k, i in vocab.items()},
        "dense": {
            "names": list(feat.DENSE_NAMES),
            "mean": rnd(zmean),
            "std": rnd(zstd),
            "W": [rnd(rows_all[V + j]) for j in range(Z.shape[1])],
        },
        "prior": {"features": list(FEATURE_NAMES), "P": [rnd(row) for row in P]},
        "price_slope": round(price_slope, 5),
        "output_length": length,
        "hyper": dict(hp.__dict__),
    }
