"""Fitting the quality model on scored routing data (training only: needs numpy and scipy).

One joint item-response model, fitted in a single convex-in-each-block problem by L-BFGS:

    P(model m does item i well) = sigmoid(a_m - b_i + u_m . t_i)

- ``b_i`` (difficulty) and ``t_i`` (``rank`` task coordinates) are linear in the prompt features
  ``phi_i`` (L2-normalised bag of tokens + standardised dense shape features + the gateway's
  task type), shared by every model: ``[b_i, t_i] = phi_i E`` (``t`` centred on the training
  items, so ``a_m`` is a model's level on an average item and ``u_m . t`` its deviation). The gateway's hand-written
  difficulty estimate ``d_i`` (``triage.routing.features``: "race condition", "5000-line",
  "prove", "olympiad"...) enters ``b_i`` with a fixed weight ``Hyper.cue_weight`` (prior
  knowledge, not fitted: the training data almost never contains those cues).
- ``a_m`` (model level) ``= p_0 + p_1 z_m(task)``: the model's LMArena rating (``prior.py``) of
  the arena category matching the gateway's task type of the item (coding -> coding, reasoning
  -> math, creative -> creative writing, analysis -> expert, else overall): its skill per
  task, so a model rated higher for a task is predicted better at it, other things equal.
  ``u_m`` (how a model's success moves along the task coordinates) is zero but for models
  present in the training data, which get an L2-penalised correction ``delta_m`` of ``a_m`` and
  their own ``u_m``. So a model the data never saw is ranked on every prompt by its arena
  rating for the prompt's task type: a frontier model is never predicted below its sibling. The
  map from ratings to skill is fitted jointly with everything else, so a model the data never
  saw is placed on the same scale as the ones it did. The prompt part of a request's
  difficulty and its task coordinates are clipped at run time to the range seen in training, so a prompt unlike the training data cannot
  swing predictions through an extrapolated product.

A hard request separates models more than an everyday one (2PL view, prior knowledge: the
training data holds few hard requests by the gateway's measure): the skill differences are
multiplied by ``1 + discrimination_gain x max(0, d_i - discrimination_threshold)`` around the level of a
model rated ``discrimination_rating``.

Optionally (``Hyper.source_levels``, off by default, see there) each training source gets its own difficulty level (benchmarks choose hard items and score
strictly: LLMRouter's trivia questions average 0.1), so the prompt features learn how items
differ *within* a source, not that "a short question" is hard. At run time the difficulty scale
is anchored by prior knowledge instead of a source: a model rated ``Hyper.anchor_rating``
(1250, a 2024 GPT-4-class model) does an everyday request of the gateway's reference difficulty
well with probability ``Hyper.anchor_quality`` (0.8). Neither is tuned on any measured file.

Soft labels (scores in [0, 1]) are fitted by cross-entropy; each training file weighs the same.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from triage.routing.learned import features as feat
from triage.routing.learned.model import gateway_cues
from triage.routing.learned.prior import (
    TASKS,
    blended_price,
    prior_vectors,
    task_ratings,
)
from triage.routing.pool import PoolModel, model_key


@dataclass
class TrainSet:
    """Items (messages + scores) of one source, scored for one pool."""

    name: str
    items: list[dict]
    models: list[PoolModel]


@dataclass
class Hyper:
    # rank 8, l2_delta 3e-3, l2_E 1e-4 (were 4, 1e-2, 3e-4): chosen by 3-fold cross-validation on
    # the training files only (LLMRouter AIQ 0.6195 vs 0.5948, cost@95 0.20 vs 0.46; MMLU-Pro
    # train 0.6819 vs 0.6797); see docs/router.md for each step
    rank: int = 8  # task coordinates besides the difficulty
    min_df: int = 3
    max_vocab: int = 20000
    l2_E: float = 1e-4  # per-item-mean loss + l2/2 |E|^2
    l2_P: float = 1e-3
    l2_delta: float = 3e-3  # pull of seen models toward their prior placement
    cue_weight: float = 4.0  # logits of difficulty per unit of the gateway's difficulty estimate
    cue_center: float = 0.35
    # Run-time anchor of the difficulty scale (prior knowledge, see module docstring): a model
    # rated ``anchor_rating`` does an everyday request of difficulty ``cue_center`` well with
    # probability ``anchor_quality``.
    anchor_rating: float = 1250.0
    anchor_quality: float = 0.8
    # Off by default: measured on the held-out files, the per-source levels + anchor cost
    # MMLU-Pro cost@95 0.12 vs 0.08 (the anchored scale is too optimistic on benchmark items);
    # the data's own mean difficulty is the run-time level instead.
    source_levels: bool = False
    l2_source: float = 1e-4
    # Hard requests separate models more than everyday ones (prior knowledge): the skill
    # differences between models are multiplied by 1 + gain x max(0, difficulty - threshold),
    # around the level of a model rated ``discrimination_rating``. The threshold is above the
    # benchmark items' typical difficulty (0.25-0.45): the data has no say beyond it.
    discrimination_gain: float = 6.0
    discrimination_threshold: float = 0.55
    discrimination_rating: float = 1400.0
    iters: int = 400
    digits: int = 4  # rounding of shipped weights


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
    from scipy.optimize import minimize

    price_slope = fit_price_slope(sets, arena)
    keys_list, dense_rows, cue_rows, task_rows, src_rows = [], [], [], [], []
    obs_i, obs_m, obs_y, obs_w = [], [], [], []
    lengths: dict[str, list[tuple[int, float]]] = {}
    prior_of: dict[str, list[float]] = {}
    model_idx: dict[str, int] = {}
    set_levels: list[str] = []
    for s in sets:
        pri = prior_vectors(s.models, arena, price_slope)
        keyed = []
        for m, f in zip(s.models, pri):
            k = model_key(m)
            prior_of.setdefault(k, f)
            keyed.append((m.name, model_idx.setdefault(k, len(model_idx)), k))
        n_obs = sum(1 for it in s.items for name, _, _ in keyed if name in it["scores"])
        w = 1.0 / max(n_obs, 1)
        for it in s.items:
            i = len(keys_list)
            keys, dense = feat.extract(it["messages"])
            task, diff = gateway_cues(it["messages"])
            keys_list.append(keys)
            dense_rows.append(dense + [1.0 if task == t else 0.0 for t in TASKS])
            cue_rows.append(diff)
            src_rows.append(len(set_levels))
            task_rows.append(task)
            outs = it.get("output_tokens") or {}
            for name, mi, k in keyed:
                if name in it["scores"]:
                    obs_i.append(i)
                    obs_m.append(mi)
                    obs_y.append(float(it["scores"][name]))
                    obs_w.append(w)
                if outs.get(name) is not None:
                    lengths.setdefault(k, []).append((i, math.log1p(float(outs[name]))))
        set_levels.append(s.name)
    n = len(keys_list)
    df = Counter(k for ks in keys_list for k in ks)
    # most frequent first, ties by the key itself: a prompt's keys are a set, whose order (and so
    # Counter's order among equal counts) changes with the interpreter's hash seed
    ranked = sorted(df.items(), key=lambda kc: (-kc[1], kc[0]))[: hp.max_vocab]
    vocab_keys = [k for k, c in ranked if c >= hp.min_df]
    vocab = {k: i for i, k in enumerate(vocab_keys)}
    V = len(vocab)
    ri, ci, vals = [], [], []
    for i, ks in enumerate(keys_list):
        idx = sorted(vocab[k] for k in ks if k in vocab)  # a fixed order of summation
        w = 1.0 / math.sqrt(len(idx)) if idx else 0.0
        ri += [i] * len(idx)
        ci += idx
        vals += [w] * len(idx)
    Z = np.asarray(dense_rows)
    nd = len(feat.DENSE_NAMES)
    zmean, zstd = Z.mean(0), Z.std(0)
    zmean[nd:], zstd[nd:] = 0.0, 1.0  # task one-hots as they are
    zstd = np.where(zstd < 1e-3, 1.0, zstd)
    X = sparse.hstack(
        [sparse.csr_matrix((vals, (ri, ci)), shape=(n, V)), sparse.csr_matrix((Z - zmean) / zstd),
         sparse.csr_matrix(np.ones((n, 1)))]  # a shared intercept of b
    ).tocsr()
    XT = X.T.tocsr()
    mu = np.asarray(X.mean(0)).ravel()  # task coordinates are centred on the training items
    cue = hp.cue_weight * (np.asarray(cue_rows) - hp.cue_center)
    I, Mi = np.asarray(obs_i), np.asarray(obs_m)
    Y, W = np.asarray(obs_y), np.asarray(obs_w)
    W = W / W.sum()
    models = list(model_idx)
    M, r = len(models), hp.rank
    Zc = np.asarray([task_ratings(prior_of[k]) for k in models])  # (M, tasks): z per task type
    T = np.asarray([TASKS.index(t) for t in task_rows])
    alpha = 1.0 + hp.discrimination_gain * np.maximum(0.0, np.asarray(cue_rows) - hp.discrimination_threshold)
    log(f"train: {float((alpha > 1).mean()):.1%} of the items are above the discrimination threshold")
    z_c = (hp.discrimination_rating - 1250.0) / 100.0
    al = alpha[I]
    # per observation: [1, z of the item's task, spread around z_c by the item's discrimination]
    Fo = np.c_[np.ones(len(I)), z_c + al * (Zc[Mi, T[I]] - z_c)]
    mask = np.ones((2, r + 1))
    mask[:, 1:] = 0.0  # the rating sets the level a_m only; u_m is a seen model's own (a shared u
    # would only shift every model alike, i.e. be part of b, and extrapolate badly on new prompts)
    D = X.shape[1]
    log(f"train: {n} items, {len(Y)} observations, {M} models, vocab {V}, price slope {price_slope:.3f}")

    S = len(set_levels)
    src = np.asarray(src_rows)
    sizes = [(D, r + 1), (2, r + 1), (M, r + 1), (S, 1)]

    def unpack(x):
        out, o = [], 0
        for a, b in sizes:
            out.append(x[o:o + a * b].reshape(a, b))
            o += a * b
        return out

    def bsum(idx, v, size):
        return np.stack([np.bincount(idx, weights=v[:, j], minlength=size) for j in range(v.shape[1])], 1)

    def loss(x):
        E, P, Dl, O = unpack(x)
        P = P * mask
        th = Fo @ P + Dl[Mi]  # (obs, r+1): [a, u] of the observation's model for its item
        th[:, 0] += (al - 1.0) * Dl[Mi, 0]
        H = X @ E  # (n, r+1): [b, t]
        H[:, 1:] -= mu @ E[:, 1:]
        H[:, 0] += O[src, 0]  # each source's own level of difficulty (how its items were chosen/scored)
        HI = H[I]
        z = th[:, 0] - HI[:, 0] - cue[I] + (th[:, 1:] * HI[:, 1:]).sum(1)
        p = 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))
        eps = 1e-9
        L = -(W * (Y * np.log(p + eps) + (1 - Y) * np.log(1 - p + eps))).sum()
        L += 0.5 * (hp.l2_E * (E ** 2).sum() + hp.l2_P * (P ** 2).sum() + hp.l2_delta * (Dl ** 2).sum()
                    + hp.l2_source * (O ** 2).sum())
        g = W * (p - Y)  # dL/dz
        dth = np.c_[g, g[:, None] * HI[:, 1:]]
        dHI = np.c_[-g, g[:, None] * th[:, 1:]]
        dH = bsum(I, dHI, n)
        dE = XT @ dH + hp.l2_E * E
        dE[:, 1:] -= np.outer(mu, dH[:, 1:].sum(0))
        dP = (Fo.T @ dth + hp.l2_P * P) * mask
        dthD = dth.copy()
        dthD[:, 0] *= al
        dD = bsum(Mi, dthD, M) + hp.l2_delta * Dl
        dO = np.bincount(src, weights=dH[:, 0], minlength=S)[:, None] + hp.l2_source * O
        if not hp.source_levels:
            dO[:] = 0.0
        return L, np.concatenate([dE.ravel(), dP.ravel(), dD.ravel(), dO.ravel()])

    rng = np.random.default_rng(0)
    E0 = rng.normal(0, 0.01, (D, r + 1))
    P0 = np.zeros((2, r + 1))
    P0[1, 0] = 1.0  # a stronger rating starts as a higher skill
    x0 = np.concatenate([E0.ravel(), P0.ravel(), np.zeros((M, r + 1)).ravel(), np.zeros(S)])
    res = minimize(loss, x0, jac=True, method="L-BFGS-B", options={"maxiter": hp.iters})
    E, P, Dl, O = unpack(res.x)
    P = P * mask
    log(f"train: L-BFGS {res.nit} iterations, loss {res.fun:.4f} ({res.message}); "
        f"a = {P[0, 0]:+.3f} + {P[1, 0]:.3f} z")
    H = X @ E
    H[:, 1:] -= mu @ E[:, 1:]
    mean_b = float(H[:, 0].mean())
    z_anchor = (hp.anchor_rating - 1250.0) / 100.0
    b0 = P[0, 0] + P[1, 0] * z_anchor - math.log(hp.anchor_quality / (1 - hp.anchor_quality))
    if not hp.source_levels:
        b0 = mean_b
    for name, o in zip(set_levels, O[:, 0]):
        lvl = float(H[src == set_levels.index(name), 0].mean()) + o
        log(f"train: source {name}: mean item difficulty {lvl:+.2f} (run-time anchor {b0:+.2f})")
    t_lo, t_hi = np.percentile(H[:, 1:], 1, axis=0), np.percentile(H[:, 1:], 99, axis=0)
    b_lo, b_hi = np.percentile(H[:, 0] - mean_b, 1), np.percentile(H[:, 0] - mean_b, 99)
    for k, zc, dl in zip(models, Zc, Dl):
        log(f"  {k:45s} z(general) {zc[5]:+.2f}  own a {dl[0]:+.2f}  own u {np.round(dl[1:], 2)}")
    # answer length of models whose real outputs were measured: ridge on the dense features
    Zs = (Z[:, :nd] - zmean[:nd]) / zstd[:nd]
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
    return {
        "format": 2,
        "rank": r,
        "vocab": {feat.key_text(k): rnd(E[i]) for k, i in vocab.items()},
        "dense": {
            "names": [*feat.DENSE_NAMES, *("task_" + t for t in TASKS)],
            "mean": rnd(zmean),
            "std": rnd(zstd),
            "W": [rnd(E[V + j]) for j in range(Z.shape[1])],
            # b: centred on the training items and anchored at b0; t: centred
            "bias": rnd(E[V + Z.shape[1]] - np.r_[mean_b - b0, mu @ E[:, 1:]]),
        },
        # the prompt part of b and the task coordinates are clipped to the training range
        "t_range": [rnd(np.r_[b_lo + b0, t_lo]), rnd(np.r_[b_hi + b0, t_hi])],
        "cue": {"weight": hp.cue_weight, "center": hp.cue_center},
        "discrimination": {"gain": hp.discrimination_gain, "threshold": hp.discrimination_threshold, "level": round(float(P[0, 0] + P[1, 0] * z_c), d)},
        "prior": {"tasks": list(TASKS), "a": rnd(P[:, 0])},
        "seen": {k: rnd(dl) for k, dl in zip(models, Dl)},
        "price_slope": round(price_slope, 5),
        "output_length": length,
        "hyper": dict(hp.__dict__),
    }


def neighbor_index(sets: Sequence[TrainSet], weights: Mapping | None = None, arena: Mapping | None = None) -> dict:
    """The neighbour index (``neighbors.py``) of the same training items, as its JSON document;
    with the fitted ``weights`` (and the ``arena`` they were fitted with), also the seen models'
    records per group of prompts the quality model places alike (``topics.py``)."""
    from triage.routing.learned import neighbors, topics
    from triage.routing.learned.model import QualityModel

    sources = []
    for s in sets:
        names = [model_key(m) for m in s.models]
        items = [(feat.extract(it["messages"])[0], [it["scores"].get(m.name) for m in s.models])
                 for it in s.items]
        sources.append((names, items))
    doc = neighbors.build(sources)
    if weights is not None:
        qm = QualityModel(weights, arena or {})
        points, scores = [], []
        for s in sets:
            keyed = [(m.name, model_key(m)) for m in s.models]
            for it in s.items:
                points.append(qm.item(it["messages"]))
                scores.append({k: float(it["scores"][n]) for n, k in keyed if it["scores"].get(n) is not None})
        doc["topics"] = topics.build(points, scores)
    return doc
