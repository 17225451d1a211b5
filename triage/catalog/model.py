"""The model catalog: what each model costs, what it can do, and how well, as immutable data.

Loaded from the JSON shipped in ``triage/data/catalog.json`` (built by
``scripts/build_catalog.py``), overlaid with a user's price update in ``TRIAGE_HOME`` and the
config file's model overrides. Pure data: no network, nothing at import.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Mapping

from triage.routing.pool import PoolModel

TASK_TYPES = ("coding", "reasoning", "analysis", "simple_qa", "creative", "general")

# How old the shipped prices may be before `triage` warns on stderr.
STALE_AFTER_DAYS = 120


@dataclass(frozen=True, slots=True)
class CatalogModel:
    name: str
    provider: str
    input_per_mtok: float
    output_per_mtok: float
    cached_input_per_mtok: float | None = None
    cache_write_per_mtok: float | None = None
    context_window: int | None = None
    max_output_tokens: int | None = None
    tools: bool = True
    vision: bool = False
    json_schema: bool = True
    reasoning: bool = False
    reasoning_output_factor: float = 1.0
    arena_name: str | None = None
    capability: Mapping[str, float] = field(default_factory=dict)
    # The id sent upstream when it differs from the catalog name (e.g. an alias).
    upstream_name: str | None = None
    # Request parameters the model refuses; the gateway adapts them (see server/adapt.py).
    unsupported_params: tuple[str, ...] = ()
    # How many stop sequences the model's API takes; the gateway applies the rest itself.
    max_stop_sequences: int | None = None

    def capability_for(self, task_type: str) -> float:
        if task_type in self.capability:
            return self.capability[task_type]
        return self.capability.get("general", 0.5)

    def cost(self, input_tokens: int, output_tokens: int, cached_input_tokens: int = 0, cache_write_tokens: int = 0) -> float:
        """USD for these tokens as the provider bills them (cache reads and writes at their own price)."""
        cached_price = self.cached_input_per_mtok if self.cached_input_per_mtok is not None else self.input_per_mtok
        write_price = self.cache_write_per_mtok if self.cache_write_per_mtok is not None else self.input_per_mtok
        plain = max(0, input_tokens - cached_input_tokens - cache_write_tokens)
        return (
            plain * self.input_per_mtok
            + cached_input_tokens * cached_price
            + cache_write_tokens * write_price
            + output_tokens * self.output_per_mtok
        ) / 1e6

    def as_pool_model(self) -> PoolModel:
        return PoolModel(self.name, self.input_per_mtok, self.output_per_mtok, self.arena_name)


_FIELDS = {f for f in CatalogModel.__dataclass_fields__}


def model_from_dict(d: Mapping[str, Any], base: CatalogModel | None = None) -> CatalogModel:
    known = {k: v for k, v in d.items() if k in _FIELDS}
    if "unsupported_params" in known:
        known["unsupported_params"] = tuple(known["unsupported_params"])
    if base is not None:
        if "capability" in known:
            known["capability"] = {**base.capability, **known["capability"]}
        return replace(base, **known)
    return CatalogModel(**known)


@dataclass(frozen=True, slots=True)
class Catalog:
    models: tuple[CatalogModel, ...]
    updated: str
    provenance: Mapping[str, Any] = field(default_factory=dict)
    by_name: Mapping[str, CatalogModel] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Looked up several times per request: a dict, built once (the catalog is immutable).
        object.__setattr__(self, "by_name", {m.name: m for m in self.models})

    def get(self, name: str) -> CatalogModel | None:
        return self.by_name.get(name)

    def names(self) -> list[str]:
        return [m.name for m in self.models]

    def age_days(self, today: dt.date | None = None) -> int:
        today = today or dt.date.today()
        return (today - dt.date.fromisoformat(self.updated)).days

    def with_overrides(self, overrides: Iterable[Mapping[str, Any]]) -> "Catalog":
        by_name = {m.name: m for m in self.models}
        for o in overrides:
            name = o["name"]
            by_name[name] = model_from_dict(o, by_name.get(name))
        return Catalog(tuple(by_name.values()), self.updated, self.provenance)


def parse_catalog(data: Mapping[str, Any]) -> Catalog:
    return Catalog(tuple(model_from_dict(m) for m in data["models"]), data.get("updated", "1970-01-01"), data.get("provenance", {}))


class CatalogError(ValueError):
    """The user's catalog file cannot be read; the message names the file and the fix."""


def load_catalog(home: Path | None = None) -> Catalog:
    """The shipped catalog, or the user's updated one in ``home/catalog.json`` when present."""
    if home is not None:
        user = home / "catalog.json"
        if user.is_file():
            try:
                return parse_catalog(json.loads(user.read_text()))
            except (ValueError, KeyError, TypeError) as e:
                raise CatalogError(
                    f"{user} is not a valid catalog ({type(e).__name__}: {e}); fix it, or delete it to use the shipped catalog"
                ) from None
    raw = resources.files("triage").joinpath("data/catalog.json").read_text()
    return parse_catalog(json.loads(raw))
