"""Loading routing-quality data (format v1 of ``../shared/data/routing``) into matrices.

Owns the cost convention of the evaluation: input tokens = characters of all message contents
/ 4; output tokens = the item's measured ``output_tokens`` for that model, else the pool's
``default_output_tokens`` for the model, else ``FALLBACK_OUTPUT_TOKENS``; cost = tokens x list
prices. The fallback (300, the value the other pools declare) is what reproduces the issue's
reference random-mixing figures on the MMLU-Pro pool, whose file declares no default.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from triage.routing.pool import PoolModel

FALLBACK_OUTPUT_TOKENS = 300


def input_tokens(messages: list[dict]) -> float:
    """Characters / 4 over every message's text content (the data's own estimate)."""
    chars = 0
    for m in messages:
        c = m.get("content")
        if isinstance(c, str):
            chars += len(c)
        elif isinstance(c, list):  # OpenAI content parts
            for part in c:
                if isinstance(part, dict) and isinstance(part.get("text"), str):
                    chars += len(part["text"])
    return chars / 4.0


def load_pool(path: str | Path) -> tuple[str, list[PoolModel]]:
    """A pool file -> (pool name, models in file order)."""
    doc = json.loads(Path(path).read_text())
    models = [
        PoolModel(
            name=m["name"],
            input_per_mtok=float(m["input_per_mtok"]),
            output_per_mtok=float(m["output_per_mtok"]),
            arena_name=m.get("arena_name"),
            default_output_tokens=m.get("default_output_tokens"),
        )
        for m in doc["models"]
    ]
    return doc.get("name", Path(path).stem), models


@dataclass
class Dataset:
    """Items of one file scored for one pool: ``quality[i, j]`` and ``cost[i, j]`` in USD."""

    name: str
    models: list[PoolModel]
    ids: list[str]
    messages: list[list[dict]]
    categories: list[str]
    quality: np.ndarray  # (n_items, n_models)
    cost: np.ndarray  # (n_items, n_models)
    extra: dict = field(default_factory=dict)

    @property
    def model_names(self) -> list[str]:
        return [m.name for m in self.models]

    def __len__(self) -> int:
        return len(self.ids)

    def subset(self, idx) -> "Dataset":
        idx = np.asarray(idx, dtype=int)
        return Dataset(
            name=self.name,
            models=self.models,
            ids=[self.ids[i] for i in idx],
            messages=[self.messages[i] for i in idx],
            categories=[self.categories[i] for i in idx],
            quality=self.quality[idx],
            cost=self.cost[idx],
        )


def load_items(path: str | Path, limit: int | None = None) -> list[dict]:
    items = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line:
                items.append(json.loads(line))
                if limit is not None and len(items) >= limit:
                    break
    return items


def build_dataset(
    items: list[dict], models: list[PoolModel], name: str = "dataset"
) -> Dataset:
    """Score and price every item for every pool model; items missing a model's score are dropped."""
    names = [m.name for m in models]
    keep = [it for it in items if all(n in it.get("scores", {}) for n in names)]
    n, k = len(keep), len(models)
    quality = np.zeros((n, k))
    cost = np.zeros((n, k))
    for i, it in enumerate(keep):
        tin = input_tokens(it["messages"])
        outs = it.get("output_tokens") or {}
        for j, m in enumerate(models):
            quality[i, j] = float(it["scores"][m.name])
            tout = outs.get(m.name)
            if tout is None:
                tout = m.default_output_tokens
            if tout is None:
                tout = FALLBACK_OUTPUT_TOKENS
            cost[i, j] = m.cost(tin, float(tout))
    return Dataset(
        name=name,
        models=list(models),
        ids=[str(it.get("id", i)) for i, it in enumerate(keep)],
        messages=[it["messages"] for it in keep],
        categories=[str(it.get("category", "")) for it in keep],
        quality=quality,
        cost=cost,
        extra={"dropped": len(items) - n},
    )


def load_dataset(
    data_path: str | Path, pool_path: str | Path, limit: int | None = None
) -> Dataset:
    _, models = load_pool(pool_path)
    name = Path(data_path).name
    for suffix in (".jsonl", ".json"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    return build_dataset(load_items(data_path, limit), models, name=name)
