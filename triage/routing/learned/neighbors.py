"""Similar training prompts, and how each model the data saw did on them.

The item-response model (``model.py``) describes a prompt by a linear difficulty and a few task
coordinates: it cannot say "this is one of those questions Llama-3-8B gets wrong and
gemini-flash gets right". Scored routing data can: among the training prompts most like this
one, how did each model do? This module answers that, and blends it with the item-response
prediction by shrinkage (a Beta-style prior worth ``kappa`` neighbours):

    p_m = (sum_j s_j y_jm + kappa p_irt_m) / (sum_j s_j + kappa)

over the ``k`` training prompts ``j`` with the highest cosine similarity ``s_j`` (binary keys of
``features.extract``, idf-weighted) that have a score ``y_jm`` for model ``m``. The quality model
applies it only when the data scored every model of the pool (``QualityModel.predict``), so a
pool with a model the data never saw (every production pool today) keeps its item-response
predictions; a prompt unlike the training data has small similarities, so it keeps them too.

Only keys seen in at least ``min_df`` and at most ``max_df`` training prompts are indexed:
common words separate nothing, and they are what would make a lookup slow. The lookup sums the
postings of the request's keys over an inverted index with numpy (``bincount`` over the
concatenated postings, then the top ``k``): ~800 postings for a median LLMRouter prompt, ~2,800
for a median MMLU-Pro one; a lookup reads at most ``MAX_POSTINGS`` of them, the query's rarest
keys first.

Built by ``build`` from the training sets (``scripts/train_router.py``), shipped as
``triage/data/router/neighbors.json``; ``k``, ``kappa`` and ``max_df`` were chosen by 3-fold
cross-validation on the training files (docs/router.md).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from itertools import chain
from operator import itemgetter

from triage.routing.learned.topics import Topics

FORMAT = 1
_WEIGHT, _COUNT, _POSTINGS = itemgetter(1), itemgetter(2), itemgetter(3)
K = 50
KAPPA = 10.0
MIN_DF = 2
MAX_DF = 300
DIGITS = 3  # rounding of stored scores
# Postings read per lookup, rarest keys first (run time only: a latency bound, not a fitted
# parameter). A key's weight is its idf squared, so the common keys left out are the ones that
# would add the least to any similarity and the most to the time.
MAX_POSTINGS = 1200


def build(sources: Sequence[tuple[Sequence[str], Iterable[tuple[Iterable[bytes], Sequence[float | None]]]]],
          k: int = K, kappa: float = KAPPA, min_df: int = MIN_DF, max_df: int = MAX_DF) -> dict:
    """``sources``: per training source, (model keys, [(prompt keys, score per model or None)]).
    -> the JSON document ``NeighborIndex`` reads."""
    models: list[str] = []
    item_keys: list[set[bytes]] = []
    item_scores: list[dict[str, float]] = []
    for names, items in sources:
        for n in names:
            if n not in models:
                models.append(n)
        for keys, scores in items:
            item_keys.append(set(keys))
            item_scores.append({n: float(s) for n, s in zip(names, scores) if s is not None})
    n = len(item_keys)
    df: dict[bytes, int] = {}
    for ks in item_keys:
        for key in ks:
            df[key] = df.get(key, 0) + 1
    vocab = sorted(key for key, c in df.items() if min_df <= c <= max_df)
    col = {key: i for i, key in enumerate(vocab)}
    postings: list[list[int]] = [[] for _ in vocab]
    for j, ks in enumerate(item_keys):
        for key in ks:
            i = col.get(key)
            if i is not None:
                postings[i].append(j)
    return {
        "format": FORMAT,
        "k": k,
        "kappa": kappa,
        "min_df": min_df,
        "max_df": max_df,
        "items": n,
        "keys": [key.decode("utf-8", "replace") for key in vocab],
        "idf": [round(math.log(n / df[key]), 4) for key in vocab],
        "postings": postings,
        "models": models,
        # per model, its score on each item (null where the item's source did not score it)
        "scores": {m: [None if (v := s.get(m)) is None else round(v, DIGITS) for s in item_scores]
                   for m in models},
    }


class NeighborIndex:
    """The training prompts most like a request, and the seen models' scores on them (numpy at
    run time: the postings of a request's keys are summed by ``bincount``, a third of the time of
    the pure-Python dictionary it replaced; docs/decisions/neighbour-lookup.md)."""

    def __init__(self, doc: Mapping) -> None:
        import numpy as np

        if doc.get("format") != FORMAT:
            raise ValueError(f"neighbour index format {doc.get('format')} (expected {FORMAT}): rebuild it")
        self.k = int(doc["k"])
        self.kappa = float(doc["kappa"])
        self._n = n = int(doc["items"])
        postings = doc["postings"]
        lens = [len(p) for p in postings]
        self._flat = np.fromiter(chain.from_iterable(postings), dtype=np.int32, count=sum(lens))
        idf = np.asarray(doc["idf"], dtype=float)
        w = idf * idf
        # a key's place when a lookup reads the rarest keys first: by its number of postings, then
        # by its place in the index (a fixed order among equals)
        rarity = [0] * len(lens)
        for place, i in enumerate(sorted(range(len(lens)), key=lambda i: (lens[i], i))):
            rarity[i] = place
        post: dict[bytes, tuple[int, float, int, object]] = {}
        start = 0
        for i, (key, wk, ln) in enumerate(zip(doc["keys"], w.tolist(), lens)):
            # (rarity: unique, so a list of these sorts by it alone; weight; number of postings; the postings)
            post[key.encode("utf-8")] = (rarity[i], wk, ln, self._flat[start:start + ln])
            start += ln
        self._post = post
        norm2 = np.bincount(self._flat, weights=np.repeat(w, lens), minlength=n)
        self._inv_norm = np.where(norm2 > 0, 1.0 / np.sqrt(np.where(norm2 > 0, norm2, 1.0)), 0.0)
        # (items, models) scores, NaN where the item's source did not score the model
        self._models = list(doc["scores"])
        self._col = {m: i for i, m in enumerate(self._models)}
        S = np.asarray([[np.nan if v is None else v for v in doc["scores"][m]] for m in self._models],
                       dtype=np.float32).T.astype(float) if self._models else np.zeros((n, 0))
        scored = ~np.isnan(S)
        # per item: every model's score (0 where not scored), then 1 where scored: one gather
        # and one product give a request's weighted sums and weights for every model at once
        self._SM = np.hstack([np.where(scored, S, 0.0), scored.astype(float)])
        # the seen models' records per group of training prompts (``topics.py``), when the
        # index was built with the quality model's weights
        self.topics = Topics(doc["topics"]) if doc.get("topics") else None

    def models(self) -> set[str]:
        return set(self._models)

    def nearest(self, keys: Iterable[bytes], max_postings: int | None = MAX_POSTINGS) -> list[tuple[int, float]]:
        """The ``k`` most similar training prompts: [(item, cosine similarity)], best first (ties:
        the later item first).

        The query's keys are read rarest first until ``max_postings`` postings have been read
        (``None``: all of them); the query's norm counts every key, so a similarity is never
        overstated, only the contribution of the commonest keys is left out."""
        got = self._nearest(keys, max_postings)
        return [] if got is None else list(zip(got[0].tolist(), got[1].tolist()))

    def _nearest(self, keys: Iterable[bytes], max_postings: int | None):
        """``nearest`` as two arrays (items, similarities), or None when nothing is similar."""
        import numpy as np

        found = list(filter(None, map(self._post.get, keys)))
        if not found:
            return None
        q = sum(map(_WEIGHT, found))
        lens = list(map(_COUNT, found))
        if max_postings is not None and sum(lens) > max_postings:
            found.sort()  # rarest first (a request's keys are a set: no order of their own)
            budget = max_postings
            for i, e in enumerate(found):
                budget -= e[2]
                if budget < 0:
                    del found[i + (i == 0):]  # at least the rarest key is read
                    break
            lens = list(map(_COUNT, found))
        ids = np.concatenate(list(map(_POSTINGS, found)))
        acc = np.bincount(ids, weights=np.repeat(list(map(_WEIGHT, found)), lens), minlength=self._n)
        items = (acc > 0.0).nonzero()[0]
        sims = acc[items] * self._inv_norm[items]
        k = self.k
        if len(items) > k:  # the k largest (similarity, item) pairs, as heapq.nlargest would take them
            thr = np.partition(sims, len(sims) - k)[len(sims) - k]
            above = np.flatnonzero(sims > thr)
            ties = np.flatnonzero(sims == thr)[::-1][: k - len(above)]  # equal similarity: later item
            pick = np.concatenate([above, ties])
        else:
            pick = np.arange(len(items))
        pick = pick[np.lexsort((-items[pick], -sims[pick]))]
        return items[pick], sims[pick] * (1.0 / math.sqrt(q))

    def predict(self, keys: Iterable[bytes], model_keys: Sequence[str], prior: Sequence[float]) -> list[float]:
        """``blend(nearest(keys), model_keys, prior)``, without the lists in between."""
        got = self._nearest(keys, MAX_POSTINGS)
        return list(prior) if got is None else self._blend(got[0], got[1], model_keys, prior)

    def blend(self, near: Sequence[tuple[int, float]], model_keys: Sequence[str],
              prior: Sequence[float]) -> list[float]:
        """Shrink each seen model's score on the neighbours toward its ``prior`` prediction."""
        import numpy as np

        if not near:
            return list(prior)
        idx, s = zip(*near)
        return self._blend(np.asarray(idx), np.asarray(s), model_keys, prior)

    def _blend(self, idx, s, model_keys: Sequence[str], prior: Sequence[float]) -> list[float]:
        out = list(prior)
        v = (s @ self._SM[idx]).tolist()  # [weighted score sums..., weight sums...]
        m = len(self._models)
        kappa = self.kappa
        for i, c in enumerate(map(self._col.get, model_keys)):
            if c is not None:
                out[i] = (v[c] + kappa * out[i]) / (v[m + c] + kappa)
        return out
