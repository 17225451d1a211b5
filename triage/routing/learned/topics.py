"""Groups of training prompts that the item-response model places alike, and how each model the
data saw did on each group.

The item-response model (``model.py``) puts every prompt at a point ``h = [b, t_1..t_r]``
(difficulty and task coordinates) and predicts a model's success from it through one bilinear
form. Where a model does better or worse on a kind of prompt than that form can say, the
training data shows it: ``build`` cuts the training prompts' points into ``k`` groups
(k-means on the standardised points, deterministic) and keeps, per group and seen model, the
sum and count of its scores. At run time a prompt joins the group of the nearest centre and
each seen model's prediction is shrunk toward its record there:

    p_m = (sum of m's scores in the group + kappa p_irt_m) / (m's count in the group + kappa)

so a group with few of the model's items keeps the item-response prediction. ``GROUPINGS``
cuts (k-means from different seeds) are kept and their shrunk predictions averaged: one cut's
figures vary with its seed. The quality model
applies this, then the neighbour blend (``neighbors.py``) on top, only when the data scored every
model of the pool (as for the neighbours). ``k`` and ``kappa`` were chosen by 3-fold
cross-validation on the training files (docs/router.md).

Run time is pure Python (``GROUPINGS x k`` distances in ``r + 1`` dimensions: ~50 µs); ``build`` needs numpy
(training only).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from operator import mul

K = 32
KAPPA = 100.0
GROUPINGS = 5  # k-means cuts averaged: one cut's q@20 on LLMRouter CV varies 0.972-0.979 with its seed
DIGITS = 4


def _kmeans(X, k: int, seed: int, n_init: int = 4, iters: int = 100):
    """Lloyd's k-means with k-means++ starts (numpy), the best of ``n_init``: (centres, labels)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    best = None
    for _ in range(n_init):
        c = [X[rng.integers(len(X))]]
        d2 = ((X - c[0]) ** 2).sum(1)
        for _ in range(1, k):
            c.append(X[rng.choice(len(X), p=d2 / d2.sum())] if d2.sum() > 0 else X[rng.integers(len(X))])
            d2 = np.minimum(d2, ((X - c[-1]) ** 2).sum(1))
        C = np.array(c)
        for _ in range(iters):
            lab = ((X[:, None, :] - C[None, :, :]) ** 2).sum(2).argmin(1)
            new = np.array([X[lab == j].mean(0) if (lab == j).any() else C[j] for j in range(k)])
            if np.allclose(new, C):
                break
            C = new
        lab = ((X[:, None, :] - C[None, :, :]) ** 2).sum(2).argmin(1)
        inertia = float(((X - C[lab]) ** 2).sum())
        if best is None or inertia < best[0]:
            best = (inertia, C, lab)
    return best[1], best[2]


def build(points: Sequence[Sequence[float]], scores: Sequence[Mapping[str, float]],
          k: int = K, kappa: float = KAPPA, groupings: int = GROUPINGS, seed: int = 0) -> dict:
    """``points``: each training prompt's ``h`` from the fitted quality model; ``scores``: per
    prompt, {seen model key: score}. -> the JSON document ``Topics`` reads: ``groupings``
    k-means cuts of the standardised points (seeds ``seed``, ``seed + 1``...), each with every
    seen model's sum and count of scores per group."""
    import numpy as np

    X = np.asarray(points, dtype=float)
    mu, sd = X.mean(0), X.std(0)
    sd = np.where(sd < 1e-9, 1.0, sd)
    k = min(k, len(X))
    models = sorted({m for s in scores for m in s})
    cuts = []
    for g in range(groupings):
        C, lab = _kmeans((X - mu) / sd, k, seed + g)
        sums = {m: [0.0] * k for m in models}
        counts = {m: [0] * k for m in models}
        for j, s in zip(lab.tolist(), scores):
            for m, y in s.items():
                sums[m][j] += float(y)
                counts[m][j] += 1
        cuts.append({
            "centres": [[round(float(v), DIGITS) for v in row] for row in C],
            "sums": {m: [round(v, 3) for v in sums[m]] for m in models},
            "counts": counts,
        })
    return {
        "k": k,
        "kappa": kappa,
        "mean": [round(float(v), DIGITS) for v in mu],
        "std": [round(float(v), DIGITS) for v in sd],
        "groupings": cuts,
    }


class Topics:
    """Run-time side of ``build``'s document."""

    def __init__(self, doc: Mapping) -> None:
        self.kappa = float(doc["kappa"])
        self._mean = [float(v) for v in doc["mean"]]
        self._inv_std = [1.0 / float(v) for v in doc["std"]]
        self._cuts = [([tuple(map(float, row)) for row in g["centres"]],
                       {m: list(map(float, v)) for m, v in g["sums"].items()},
                       {m: list(map(int, v)) for m, v in g["counts"].items()}) for g in doc["groupings"]]
        # nearest centre = argmin of |c|^2 - 2 z.c: per centre, its doubled coordinates and |c|^2
        self._near = [[(tuple(2.0 * v for v in c), sum(v * v for v in c)) for c in centres]
                      for centres, _, _ in self._cuts]

    def models(self) -> set[str]:
        return set(self._cuts[0][1]) if self._cuts else set()

    def groups(self, h: Sequence[float]) -> list[int]:
        """In each grouping, the group whose centre is nearest to ``h`` (standardised)."""
        z = [(v - m) * s for v, m, s in zip(h, self._mean, self._inv_std)]
        out = []
        for near in self._near:
            d = [cc - sum(map(mul, z, c2)) for c2, cc in near]
            out.append(d.index(min(d)))
        return out

    def prior(self, h: Sequence[float], model_keys: Sequence[str], p: Sequence[float]) -> list[float]:
        """Each seen model's prediction shrunk toward its record in ``h``'s group, averaged over
        the groupings."""
        kappa = self.kappa
        acc = [0.0] * len(p)
        gs = self.groups(h)
        for (_, sums, counts), g in zip(self._cuts, gs):
            for i, (key, q) in enumerate(zip(model_keys, p)):
                s = sums.get(key)
                acc[i] += q if s is None else (s[g] + kappa * q) / (counts[key][g] + kappa)
        n = len(gs)
        return [a / n for a in acc] if n else list(p)
