"""The quality model at run time: predicted chance of success of each pool model on a request.

Owns reading the shipped weights (``triage/data/router/weights.json`` + ``arena.json``) and the
forward pass of the item-response model fitted by ``train.py``; pure Python, no work at import.
An instance keeps a small cache of per-pool skill vectors (pools are few and immutable);
there is no module-level state.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from importlib import resources

from triage.routing.learned import features as feat
from triage.routing.learned.prior import prior_vectors
from triage.routing.pool import PoolModel

_DATA_PACKAGE = "triage"
_DATA_DIR = "data/router"


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


class QualityModel:
    """Expected quality in [0, 1] of each model of a pool on a request (see ``predict``)."""

    def __init__(self, weights: Mapping, arena: Mapping[str, Mapping[str, float]]):
        self.rank = int(weights["rank"])
        self.known: dict[str, int] = {k: i for i, k in enumerate(weights["known_models"])}
        self._icpt = list(weights["intercepts"])
        self._width = len(self.known) + self.rank
        self.vocab: dict[str, list[float]] = weights["vocab"]
        dense = weights["dense"]
        self._dmean = list(dense["mean"])
        self._dstd = list(dense["std"])
        self._dW = [list(r) for r in dense["W"]]
        self._P = [list(r) for r in weights["prior"]["P"]]
        self.price_slope = float(weights["price_slope"])
        self.arena = arena
        self._length = {k: list(v) for k, v in weights.get("output_length", {}).items()}
        self._pool_cache: dict[tuple[PoolModel, ...], list[tuple[int, list[float]]]] = {}

    @classmethod
    def load_default(cls) -> "QualityModel":
        """Read the weights shipped in the package (a few MB: callers should keep the result)."""
        base = resources.files(_DATA_PACKAGE).joinpath(_DATA_DIR)
        weights = json.loads(base.joinpath("weights.json").read_text(encoding="utf-8"))
        arena = json.loads(base.joinpath("arena.json").read_text(encoding="utf-8"))
        return cls(weights, arena["ratings"])

    # ---- what the prompt asks
    def features(self, messages: list[dict]) -> list[float]:
        """Prompt scores: one logit per model seen in training, then ``rank`` item-response
        coordinates (what the prompt asks and how hard it is) used for any other model."""
        keys, dense = feat.extract(messages)
        vocab = self.vocab
        rows = [vocab[k] for k in keys if k in vocab]
        if rows:
            w = 1.0 / math.sqrt(len(rows))
            acc = [w * sum(col) for col in zip(*rows)]
        else:
            acc = [0.0] * self._width
        for i, v in enumerate(dense):
            z = (v - self._dmean[i]) / self._dstd[i]
            if z:
                acc = [a + z * b for a, b in zip(acc, self._dW[i])]
        return acc

    def output_tokens(self, messages: list[dict], model: PoolModel) -> float | None:
        """Predicted answer length of a model seen with measured answers in training, else None."""
        coef = self._length.get((model.arena_name or model.name).lower())
        if coef is None:
            return None
        _, dense = feat.extract(messages)
        s = coef[0]
        for i, v in enumerate(dense):
            s += coef[i + 1] * (v - self._dmean[i]) / self._dstd[i]
        return math.expm1(s)

    # ---- what each model can do
    def skills(self, models: Sequence[PoolModel]) -> list[tuple[int, list[float]]]:
        """Per model: (index of its own regression, -1 if unseen) and its prior
        ``[a, u_1..u_r]`` from arena ratings or price."""
        key = tuple(models)
        cached = self._pool_cache.get(key)
        if cached is not None:
            return cached
        priors = prior_vectors(models, self.arena, self.price_slope)
        out = []
        for m, f in zip(models, priors):
            idx = self.known.get((m.arena_name or m.name).lower(), self.known.get(m.name.lower(), -1))
            theta = [sum(f[k] * self._P[k][j] for k in range(len(f))) for j in range(self.rank + 1)]
            out.append((idx, theta))
        if any(idx < 0 for idx, _ in out):
            # an unseen model is placed by its prior; put every model on that same scale
            out = [(-1, theta) for _, theta in out]
        if len(self._pool_cache) < 64:
            self._pool_cache[key] = out
        return out

    def predict_from_features(self, h: Sequence[float], models: Sequence[PoolModel]) -> list[float]:
        out = []
        nk = len(self.known)
        for idx, theta in self.skills(models):
            if idx >= 0:
                s = self._icpt[idx] + h[idx]
            else:
                s = theta[0]
                for j in range(self.rank):
                    s += theta[j + 1] * h[nk + j]
            out.append(_sigmoid(s))
        return out

    def predict(self, messages: list[dict], models: Sequence[PoolModel]) -> list[float]:
        """Expected quality in [0,1] of each model on this request (OpenAI chat messages)."""
        return self.predict_from_features(self.features(messages), models)
