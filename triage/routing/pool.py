"""What a router knows about a model: a pure value, shared by production and evaluation.

The live catalog (``triage.catalog``) and an evaluation pool (``../shared/data/routing/pools``)
are both turned into ``PoolModel`` lists, so the same routing code serves both.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PoolModel:
    name: str
    input_per_mtok: float  # USD per million input tokens
    output_per_mtok: float  # USD per million output tokens
    arena_name: str | None = None  # LMArena name whose ratings serve as a skill prior
    default_output_tokens: int | None = None  # typical answer length, when known

    def cost(self, input_tokens: float, output_tokens: float) -> float:
        return (input_tokens * self.input_per_mtok + output_tokens * self.output_per_mtok) / 1e6


def model_key(m) -> str:
    """How the router's training data knows a model (a ``PoolModel`` or a catalog model): its
    LMArena name, else its name, lower case."""
    return (m.arena_name or m.name).lower()
