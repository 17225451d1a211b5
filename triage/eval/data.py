"""Loading routing-quality data (format v1 of ``../shared/data/routing``) into matrices.

Owns the cost convention of the evaluation: input tokens = characters of all message contents
/ 4; output tokens = the item's measured ``output_tokens`` for that model, else the pool's
``default_output_tokens`` for the model, else ``FALLBACK_OUTPUT_TOKENS``; cost = tokens x list
prices. The fallback (300, the value the other pools declare) is what reproduces the issue's
reference random-mixing figures on the MMLU-Pro pool, whose file declares no default.
"""

from __future__ import annotations

import json
import math
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


def _tokens(v):
    if v is None:
        return None
    n = _number(v)
    if n is None or n < 0:
        raise ValueError(f"default_output_tokens {v!r}")
    return n


def load_pool(path: str | Path) -> tuple[str, list[PoolModel]]:
    """A pool file -> (pool name, models in file order). A model without a name or a price is a
    ``ValueError`` naming it."""
    doc = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(doc, dict) or not isinstance(doc.get("models"), list) or not doc["models"]:
        raise ValueError(f"{path}: a pool is an object with a non-empty 'models' list")
    models = []
    for i, m in enumerate(doc["models"]):
        try:
            models.append(PoolModel(
                name=str(m["name"]),
                input_per_mtok=float(m["input_per_mtok"]),
                output_per_mtok=float(m["output_per_mtok"]),
                arena_name=m.get("arena_name"),
                default_output_tokens=_tokens(m.get("default_output_tokens")),
            ))
        except (KeyError, TypeError, ValueError) as e:
            raise ValueError(f"{path}: models[{i}] needs name, input_per_mtok and output_per_mtok, and "
                             "default_output_tokens, if given, is a number >= 0 "
                             f"({type(e).__name__}: {e})") from None
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
    """The JSON objects of a JSONL file; a line that is not one is a ``ValueError`` naming it."""
    items = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if line:
                try:
                    item = json.loads(line)
                except json.JSONDecodeError as e:
                    raise ValueError(f"{path}:{lineno}: not JSON ({e})") from None
                if not isinstance(item, dict):
                    raise ValueError(f"{path}:{lineno}: an item is a JSON object, not {type(item).__name__}")
                items.append(item)
                if limit is not None and len(items) >= limit:
                    break
    return items


def _number(v) -> float | None:
    """A finite number (a usable score or token count), else None (not scored / not measured)."""
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        return None
    return float(v)


def _scored(it: dict, names: list[str]) -> bool:
    scores, msgs = it.get("scores"), it.get("messages")
    return (isinstance(scores, dict) and isinstance(msgs, list) and bool(msgs)
            and all(isinstance(m, dict) for m in msgs) and all(_number(scores.get(n)) is not None for n in names))


def build_dataset(
    items: list[dict], models: list[PoolModel], name: str = "dataset"
) -> Dataset:
    """Score and price every item for every pool model. Items that lack a usable score (a
    finite number) for some model of the pool, or messages, are dropped (``extra["dropped"]``);
    a score outside [0, 1] is a ``ValueError`` (a judge's 0-10 not divided by 10, say: dropping
    it would hide the mistake and any figure computed from it would be wrong)."""
    names = [m.name for m in models]
    keep = [it for it in items if _scored(it, names)]
    n, k = len(keep), len(models)
    quality = np.zeros((n, k))
    cost = np.zeros((n, k))
    for i, it in enumerate(keep):
        tin = input_tokens(it["messages"])
        outs = it.get("output_tokens")
        outs = outs if isinstance(outs, dict) else {}
        for j, m in enumerate(models):
            q = _number(it["scores"][m.name])
            if not 0.0 <= q <= 1.0:
                raise ValueError(f"item {it.get('id', i)!r}: score {q} of {m.name} is outside [0, 1]")
            quality[i, j] = q
            tout = _number(outs.get(m.name))
            if tout is None or tout < 0:
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
