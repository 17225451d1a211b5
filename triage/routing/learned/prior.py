"""Skill priors of models from LMArena category ratings, or from price when a model is unrated.

Owns the mapping from a ``PoolModel`` to the vector ``f`` the quality model multiplies by its
learned prior matrix: ``[1, z_full, z_math - z_full, z_coding - z_full, ...]`` with
``z = (rating - CENTER) / SCALE``. A model without ``arena_name`` (or one the table lacks) gets
``z_full`` from its price relative to the rated models of the same pool (log-price slope
learned at training), and no category deviations: a weak prior, by design.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

from triage.routing.pool import PoolModel

CATEGORIES = ("math", "coding", "hard_6", "expert", "creative_writing", "if", "multiturn", "long_user")
FEATURE_NAMES = ("bias", "full", *(c + "-full" for c in CATEGORIES))
CENTER = 1250.0
SCALE = 100.0
TYPICAL_OUTPUT_TOKENS = 300.0
# the arena category that rates a model's skill at each of the gateway's task types
TASKS = ("coding", "reasoning", "analysis", "simple_qa", "creative", "general")
TASK_CATEGORY = {"coding": "coding", "reasoning": "math", "analysis": "expert", "simple_qa": "full",
                 "creative": "creative_writing", "general": "full"}


def task_ratings(vec: Sequence[float]) -> list[float]:
    """A prior vector -> the model's z rating for each task type (``TASKS`` order): the rating of
    the task's arena category, its overall rating where that category is missing."""
    zf = vec[1]
    dev = dict(zip(CATEGORIES, vec[2:]))
    return [zf + dev.get(TASK_CATEGORY[t], 0.0) for t in TASKS]


def read_arena_csv(path: str | Path) -> dict[str, dict[str, float]]:
    """An LMArena category table -> {model: {category: rating}} for the categories used."""
    table: dict[str, dict[str, float]] = {}
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            ratings = {}
            for cat in ("full", *CATEGORIES):
                v = row.get(cat)
                if v not in (None, ""):
                    ratings[cat] = float(v)
            if "full" in ratings:
                table[row["model"]] = ratings
    return table


def blended_price(model: PoolModel) -> float:
    """USD per request-ish unit: what a typical 300-in/300-out request costs, for ranking."""
    return max(model.cost(TYPICAL_OUTPUT_TOKENS, TYPICAL_OUTPUT_TOKENS), 1e-12)


def arena_vector(ratings: Mapping[str, float]) -> list[float]:
    zf = (ratings["full"] - CENTER) / SCALE
    vec = [1.0, zf]
    for cat in CATEGORIES:
        r = ratings.get(cat)
        vec.append(0.0 if r is None else (r - CENTER) / SCALE - zf)
    return vec


def prior_vectors(
    models: Sequence[PoolModel],
    arena: Mapping[str, Mapping[str, float]],
    price_slope: float,
    default_z: float = 0.0,
) -> list[list[float]]:
    """The prior feature vector of every model of a pool (see module docstring)."""
    out: list[list[float] | None] = []
    rated_z: list[float] = []
    rated_lp: list[float] = []
    for m in models:
        ratings = arena.get(m.arena_name) if m.arena_name else None
        if ratings:
            vec = arena_vector(ratings)
            rated_z.append(vec[1])
            rated_lp.append(math.log(blended_price(m)))
            out.append(vec)
        else:
            out.append(None)
    if rated_z:
        z0 = sum(rated_z) / len(rated_z)
        lp0 = sum(rated_lp) / len(rated_lp)
    else:
        z0 = default_z
        lps = sorted(math.log(blended_price(m)) for m in models)
        lp0 = lps[len(lps) // 2]
    width = len(FEATURE_NAMES)
    result = []
    for m, vec in zip(models, out):
        if vec is None:
            vec = [0.0] * width
            vec[0] = 1.0
            vec[1] = z0 + price_slope * (math.log(blended_price(m)) - lp0)
        result.append(vec)
    return result
