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

Run time and ``build`` use numpy (``GROUPINGS x k`` distances in ``r + 1`` dimensions: one
matrix product).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

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
    """Run-time side of ``build``'s document (numpy: every grouping's nearest centre in one
    product)."""

    def __init__(self, doc: Mapping) -> None:
        import numpy as np

        self.kappa = float(doc["kappa"])
        self._mean = np.asarray(doc["mean"], dtype=float)
        self._inv_std = 1.0 / np.asarray(doc["std"], dtype=float)
        cuts = doc["groupings"]
        #: (groupings, k, r + 1): the standardised centres of every grouping
        self.centres = np.asarray([g["centres"] for g in cuts], dtype=float).reshape(len(cuts), -1, len(self._mean))
        # nearest centre = argmin of |c|^2 - 2 z.c
        self._c2 = 2.0 * self.centres
        self._cc = (self.centres ** 2).sum(2)
        self._models = sorted(cuts[0]["sums"]) if cuts else []
        self._row = {m: i for i, m in enumerate(self._models)}
        # (groupings, k, 2 x models): per group, each seen model's sum of scores, then its count
        self._record = np.asarray([[[g["sums"][m][j] for m in self._models] + [g["counts"][m][j] for m in self._models]
                                    for j in range(self.centres.shape[1])] for g in cuts], dtype=float)
        self._g = np.arange(len(cuts))
        self._plans: dict[tuple[str, ...], tuple[list[int], object, object]] = {}  # per pool: its seen models' columns

    def models(self) -> set[str]:
        return set(self._models)

    def groups(self, h: Sequence[float]) -> list[int]:
        """In each grouping, the group whose centre is nearest to ``h`` (standardised)."""
        return self._groups(h).tolist() if len(self.centres) else []

    def _groups(self, h: Sequence[float]):
        import numpy as np

        z = (np.asarray(h, dtype=float) - self._mean) * self._inv_std
        return (self._cc - self._c2 @ z).argmin(1)

    def prior(self, h: Sequence[float], model_keys: Sequence[str], p: Sequence[float]) -> list[float]:
        """Each seen model's prediction shrunk toward its record in ``h``'s group, averaged over
        the groupings."""
        import numpy as np

        out = list(p)
        pos, sums, counts = self._plans.get(tuple(model_keys)) or self._plan(tuple(model_keys))
        if not len(self.centres) or not pos:
            return out
        rec = self._record[self._g, self._groups(h)]  # (groupings, 2 x models)
        q = np.asarray([out[i] for i in pos])
        kappa = self.kappa
        shrunk = ((rec[:, sums] + kappa * q) / (rec[:, counts] + kappa)).mean(0)
        for i, v in zip(pos, shrunk.tolist()):
            out[i] = v
        return out

    def _plan(self, model_keys: tuple[str, ...]):
        """For a pool: the positions of its seen models and their sum and count columns."""
        import numpy as np

        rows = [(i, r) for i, r in enumerate(map(self._row.get, model_keys)) if r is not None]
        m = len(self._models)
        plan = ([i for i, _ in rows], np.asarray([r for _, r in rows], dtype=np.intp),
                np.asarray([m + r for _, r in rows], dtype=np.intp))
        if len(self._plans) >= 256:
            self._plans.clear()
        self._plans[model_keys] = plan
        return plan
