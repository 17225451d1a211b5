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
common words separate nothing, and they are what would make a lookup slow. The lookup is pure
Python over an inverted index (``array`` postings): ~800 postings for a median LLMRouter prompt,
~2,800 for a median MMLU-Pro one, ~250 ns each; a lookup reads at most ``MAX_POSTINGS`` of them,
the query's rarest keys first.

Built by ``build`` from the training sets (``scripts/train_router.py``), shipped as
``triage/data/router/neighbors.json``; ``k``, ``kappa`` and ``max_df`` were chosen by 3-fold
cross-validation on the training files (docs/router.md).
"""

from __future__ import annotations

import heapq
import math
from array import array
from collections.abc import Iterable, Mapping, Sequence
from operator import mul

from triage.routing.learned.topics import Topics

FORMAT = 1
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
    """The training prompts most like a request, and the seen models' scores on them."""

    def __init__(self, doc: Mapping) -> None:
        if doc.get("format") != FORMAT:
            raise ValueError(f"neighbour index format {doc.get('format')} (expected {FORMAT}): rebuild it")
        self.k = int(doc["k"])
        self.kappa = float(doc["kappa"])
        n = int(doc["items"])
        norm2 = [0.0] * n
        post: dict[bytes, tuple[float, array, int]] = {}
        for rank, (key, idf, items) in enumerate(zip(doc["keys"], doc["idf"], doc["postings"])):
            w = float(idf) * float(idf)
            post[key.encode("utf-8")] = (w, array("I", items), rank)  # rank: a fixed order among equals
            for j in items:
                norm2[j] += w
        self._post = post
        self._inv_norm = [1.0 / math.sqrt(v) if v > 0 else 0.0 for v in norm2]
        nan = float("nan")
        self._scores = {m: array("f", (nan if v is None else v for v in col)) for m, col in doc["scores"].items()}
        # the seen models' records per group of training prompts (``topics.py``), when the
        # index was built with the quality model's weights
        self.topics = Topics(doc["topics"]) if doc.get("topics") else None

    def models(self) -> set[str]:
        return set(self._scores)

    def nearest(self, keys: Iterable[bytes], max_postings: int | None = MAX_POSTINGS) -> list[tuple[int, float]]:
        """The ``k`` most similar training prompts: [(item, cosine similarity)], best first.

        The query's keys are read rarest first until ``max_postings`` postings have been read
        (``None``: all of them); the query's norm counts every key, so a similarity is never
        overstated, only the contribution of the commonest keys is left out."""
        acc: dict[int, float] = {}
        get = acc.get
        post = self._post
        found = [e for e in map(post.get, keys) if e is not None]
        q = sum(e[0] for e in found)
        if max_postings is not None and sum(len(e[1]) for e in found) > max_postings:
            found.sort(key=lambda e: (len(e[1]), e[2]))  # a request's keys are a set: no order of their own
            budget = max_postings
            for i, e in enumerate(found):
                budget -= len(e[1])
                if budget < 0:
                    del found[i + (i == 0):]  # at least the rarest key is read
                    break
        for w, items, _ in found:
            for j in items:
                acc[j] = get(j, 0.0) + w
        if not acc:
            return []
        qn = 1.0 / math.sqrt(q)
        sims = map(mul, acc.values(), map(self._inv_norm.__getitem__, acc.keys()))
        return [(j, s * qn) for s, j in heapq.nlargest(self.k, zip(sims, acc.keys()))]

    def blend(self, near: Sequence[tuple[int, float]], model_keys: Sequence[str],
              prior: Sequence[float]) -> list[float]:
        """Shrink each seen model's score on the neighbours toward its ``prior`` prediction."""
        if not near:
            return list(prior)
        kappa = self.kappa
        out = []
        for key, p in zip(model_keys, prior):
            col = self._scores.get(key)
            if col is None:
                out.append(p)
                continue
            num = den = 0.0
            for j, s in near:
                y = col[j]
                if y == y:  # not NaN: this item's source scored the model
                    num += s * y
                    den += s
            out.append((num + kappa * p) / (den + kappa))
        return out
