"""The quality model at run time: predicted chance of success of each pool model on a request.

Owns reading the shipped weights (``triage/data/router/weights.json`` + ``arena.json``) and the
forward pass of the item-response model fitted by ``train.py``:

    P(model m does the request well) = sigmoid(a_m(task) - b + u_m . t)

where ``[b, t]`` (difficulty, task coordinates) is linear in the prompt's features and the
gateway's cues (task type, difficulty), ``a_m(task)`` is the model's arena rating for the task
type mapped to a skill (+ its own correction if the training data had it, and had every other
model of the pool too) and ``u_m`` shared loadings (+ that correction). When the training data
scored every model of the pool, each model's prediction is then shrunk toward its scores on the
most similar training prompts (``neighbors.py``; the index is read on first need), after its
record on the group of training prompts the model places alike (``topics.py``). Pure Python,
no work at import; an instance keeps a small cache of per-pool skill vectors (pools are few and
immutable); there is no module-level state.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from importlib import resources
from operator import mul

from triage.routing.learned import features as feat
from triage.routing.learned.neighbors import NeighborIndex
from triage.routing.learned.prior import TASKS, prior_vectors, task_ratings
from triage.routing.pool import PoolModel, model_key

_DATA_PACKAGE = "triage"
_DATA_DIR = "data/router"


def gateway_cues(messages: list[dict]) -> tuple[str, float]:
    """The gateway's own (task type, difficulty) of a request (``triage.routing.features``)."""
    from triage.routing.features import extract

    f = extract({"messages": messages})
    return f.task_type, f.difficulty


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


class QualityModel:
    """Expected quality in [0, 1] of each model of a pool on a request (see ``predict``)."""

    def __init__(self, weights: Mapping, arena: Mapping[str, Mapping[str, float]],
                 neighbors: NeighborIndex | Callable[[], NeighborIndex | None] | None = None):
        if weights.get("format") != 2:
            raise ValueError(f"router weights format {weights.get('format')} (expected 2): rebuild them")
        self.rank = r = int(weights["rank"])
        self.vocab: dict[bytes, tuple[float, ...]] = {
            k.encode("utf-8"): tuple(v) for k, v in weights["vocab"].items()
        }
        dense = weights["dense"]
        nd = len(feat.DENSE_NAMES)
        mean, std, W = dense["mean"], dense["std"], dense["W"]
        # standardisation folded into the weights: h += sum_k v_k * W_k / std_k - mean_k * W_k / std_k
        self._dcols = [tuple(W[k][j] / std[k] for k in range(nd)) for j in range(r + 1)]
        bias = [dense["bias"][j] - sum(mean[k] * W[k][j] / std[k] for k in range(nd)) for j in range(r + 1)]
        self._bias = bias
        self._task = {t: tuple(W[nd + i]) for i, t in enumerate(TASKS)}
        lo, hi = weights["t_range"]
        self._t_range = list(zip(lo, hi))
        self.cue_weight = float(weights["cue"]["weight"])
        self.cue_center = float(weights["cue"]["center"])
        self._pa = list(weights["prior"]["a"])
        self.seen: dict[str, list[float]] = dict(weights.get("seen", {}))
        self.price_slope = float(weights["price_slope"])
        self.arena = arena
        disc = weights["discrimination"]
        self.disc_gain, self.disc_level = float(disc["gain"]), float(disc["level"])
        self.disc_threshold = float(disc["threshold"])
        self._dmean = mean[:nd]
        self._dstd = std[:nd]
        self._length = {k: list(v) for k, v in weights.get("output_length", {}).items()}
        self._pool_cache: dict[tuple[PoolModel, ...], list[tuple[dict[str, float], tuple[float, ...]]]] = {}
        self._last: tuple[Sequence[PoolModel], list] | None = None
        # similar training prompts and the seen models' scores on them (``neighbors.py``): the
        # index, or a loader called the first time a pool of seen models asks (production pools
        # never do, so the gateway does not read or keep 5 MB it would not use)
        self._neighbors = neighbors
        self._seen_keys = set(self.seen) if neighbors is not None else set()

    @classmethod
    def load_default(cls) -> "QualityModel":
        """Read the weights shipped in the package (callers should keep the result)."""
        base = resources.files(_DATA_PACKAGE).joinpath(_DATA_DIR)
        weights = json.loads(base.joinpath("weights.json").read_text(encoding="utf-8"))
        arena = json.loads(base.joinpath("arena.json").read_text(encoding="utf-8"))
        nb = base.joinpath("neighbors.json")

        def load_neighbors() -> NeighborIndex:
            index = NeighborIndex(json.loads(nb.read_text(encoding="utf-8")))
            if index.models() != set(weights.get("seen", {})):
                raise ValueError("neighbors.json and weights.json come from different training runs: rebuild them")
            return index

        return cls(weights, arena["ratings"], load_neighbors if nb.is_file() else None)

    def prepare(self, models: Sequence[PoolModel]) -> None:
        """Read the neighbour index now if any of ``models`` was scored by the training data, so
        that no request pays for it (a server calls this with its catalog at start)."""
        if any(model_key(m) in self._seen_keys for m in models):
            self.neighbors  # noqa: B018 (loads it)

    @property
    def neighbors(self) -> NeighborIndex | None:
        nb = self._neighbors
        if nb is not None and not isinstance(nb, NeighborIndex):
            nb = self._neighbors = nb()
        return nb

    def selection(self, models: Sequence[PoolModel]) -> str:
        """The selection rule (``decide.value_order``) for these predictions on this pool:
        ``"value_only"`` (best value, no bar) where the data scored every model, so that each
        prediction carries the model's own correction and is calibrated on its own results;
        ``"value"`` (best value among those reaching the bar) where some model is placed by its
        rating alone: its level is a guess, and the bar trusts only the ratios (docs/router.md,
        "Decision").

        Cross-validated on LLMRouter, the bar costs q@20 0.980 -> 0.975 (the hard items where
        every model is likely to fail: the bar buys the 9x dearer model for 0.17 vs 0.08); on
        MMLU-Pro it never binds. On RouteLLM (GPT-4 unscored) dropping it cuts APGR 0.59 -> 0.50:
        there the predicted GPT-4 - Mixtral gap says nothing and the ratio is the signal."""
        return "value_only" if self.scored_all(models) else "value"

    def scored_all(self, models: Sequence[PoolModel]) -> bool:
        """Whether the training data scored every one of ``models``: what gates their own
        corrections (``skills``) and the rule without the bar (``selection``)."""
        return all(model_key(m) in self.seen for m in models)

    # ---- what the prompt asks
    def item(self, messages: list[dict], task: str | None = None, difficulty: float | None = None) -> list[float]:
        """``[b, t_1..t_r]``: the request's difficulty and task coordinates. ``task`` and
        ``difficulty`` are the gateway's cues (computed here when not given)."""
        if task is None or difficulty is None:
            task, difficulty = gateway_cues(messages)
        keys, dense = feat.extract(messages)
        return self._item(keys, dense, task, difficulty)

    def _item(self, keys, dense, task: str, difficulty: float) -> list[float]:
        get = self.vocab.get
        rows = list(filter(None, map(get, keys)))  # rows are non-empty tuples
        h = [b + sum(map(mul, dense, col)) for b, col in zip(self._bias, self._dcols)]
        if rows:
            w = 1.0 / math.sqrt(len(rows))
            h = [a + w * s for a, s in zip(h, map(sum, zip(*rows)))]
        tw = self._task.get(task)
        if tw is not None:
            h = [a + b for a, b in zip(h, tw)]
        out = [lo if v < lo else hi if v > hi else v for v, (lo, hi) in zip(h, self._t_range)]
        out[0] += self.cue_weight * (difficulty - self.cue_center)
        return out

    def features(self, messages: list[dict]) -> list[float]:
        return self.item(messages)

    def output_tokens(self, messages: list[dict], model: PoolModel) -> float | None:
        """Predicted answer length of a model seen with measured answers in training, else None."""
        return self.output_lengths(messages, (model,))[0]

    def output_lengths(self, messages: list[dict], models: Sequence[PoolModel]) -> list[float | None]:
        """``output_tokens`` of each model, the prompt's features read once."""
        coefs = [self._length.get(model_key(m)) for m in models]
        if not any(coefs):
            return [None] * len(coefs)
        _, dense = feat.extract(messages)
        z = [(v - mu) / sd for v, mu, sd in zip(dense, self._dmean, self._dstd)]
        return [None if c is None else math.expm1(c[0] + sum(map(mul, c[1:], z))) for c in coefs]

    # ---- what each model can do
    def skills(self, models: Sequence[PoolModel]) -> list[tuple[dict[str, float], tuple[float, ...]]]:
        """Per model ``({task type: a_m}, u_m)``: its level per task type from its arena rating of
        that task (or its price), plus its own correction when the training data had it."""
        last = self._last
        if last is not None and last[0] is models and type(models) is tuple:  # the same (immutable) pool again
            return last[1]
        key = tuple(models)
        cached = self._pool_cache.get(key)
        if cached is not None:
            self._last = (models, cached)
            return cached
        priors = prior_vectors(models, self.arena, self.price_slope)
        # A seen model's own correction says how it did on the training sources; a model
        # without one is placed by its rating alone. Compared in one pool, the two are not on
        # the same footing (trained on LLMRouter alone, Llama-3.1-8B's correction made it the
        # predicted best of the MMLU-Pro pool: AIQ 0.47 where random mixing gets 0.65), so the
        # corrections apply only when the data saw every model of the pool.
        all_seen = self.scored_all(models)
        out = []
        for m, f in zip(models, priors):
            a = [self._pa[0] + self._pa[1] * z for z in task_ratings(f)]
            u: tuple[float, ...] = ()  # only seen models have their own task loadings
            delta = self.seen.get(model_key(m)) if all_seen else None
            if delta is not None:
                a = [x + delta[0] for x in a]
                u = tuple(delta[1:])
            out.append((dict(zip(TASKS, a)), u))
        if len(self._pool_cache) >= 64:
            self._pool_cache.clear()
        self._pool_cache[key] = out
        self._last = (models, out)
        return out

    def predict_item(self, h: Sequence[float], models: Sequence[PoolModel], task: str = "general",
                     difficulty: float = 0.0) -> list[float]:
        """From ``item``'s ``h``: a hard request (gateway difficulty above the threshold)
        spreads the models' skills apart (``discrimination``)."""
        b, t = h[0], h[1:]
        lv = self.disc_level
        al = 1.0 + self.disc_gain * max(0.0, difficulty - self.disc_threshold)
        out = []
        exp = math.exp
        for a, u in self.skills(models):
            s = lv + al * (a[task] if task in a else a["general"]) - al * lv - b
            if u:
                s += sum(map(mul, u, t))
            out.append(1.0 / (1.0 + exp(-s)) if s >= 0 else 1.0 - 1.0 / (1.0 + exp(s)))
        return out

    def predict(self, messages: list[dict], models: Sequence[PoolModel], task: str | None = None,
                difficulty: float | None = None) -> list[float]:
        """Expected quality in [0,1] of each model on this request (OpenAI chat messages)."""
        if task is None or difficulty is None:
            task, difficulty = gateway_cues(messages)
        keys, dense = feat.extract(messages)
        h = self._item(keys, dense, task, difficulty)
        p = self.predict_item(h, models, task, difficulty)
        if self._seen_keys:
            mkeys = [model_key(m) for m in models]
            # only when the data scored every model of the pool: a model measured on similar
            # prompts and one predicted from its rating alone are not on the same footing (on
            # RouteLLM, Mixtral seen and GPT-4 not, blending Mixtral alone cut APGR 0.58 -> 0.51)
            if self._seen_keys.issuperset(mkeys):
                nb = self.neighbors
                if nb.topics is not None:  # the models' records on prompts placed alike, then ...
                    p = nb.topics.prior(h, mkeys, p)
                p = nb.predict(keys, mkeys, p)  # ... on the most similar prompts
        return p
