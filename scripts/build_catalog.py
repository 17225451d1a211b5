"""Rebuild the shipped model catalog (triage/data/catalog.json) from ../shared/data.

    python scripts/build_catalog.py [--shared ../shared/data] [--out triage/data/catalog.json]

Sources, both recorded in the output's ``provenance``:
- prices, cached-input and cache-write prices, context windows and capability flags from
  LiteLLM's maintained table (``prices/model_prices_litellm-*.json``, MIT);
- capability by task type from the LMArena style-controlled category ratings
  (``arena/arena_text_stylectrl_*.csv``).

Capability score of a model for a task type: its Bradley-Terry win probability against the
best-rated model of that category, doubled, so the category leader scores 1.0 and a model
100 Elo points behind scores 0.72. Newer models that the ratings do not cover yet take the
ratings of a named predecessor (``ARENA_PROXY`` below, each one listed in the output).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# catalog name -> (provider, price-table key, LMArena name, how the arena name was chosen)
MODELS: dict[str, tuple[str, str, str, str]] = {
    "gpt-5.4": ("openai", "gpt-5.4", "gpt-5.1", "predecessor gpt-5.1 (gpt-5.4 not rated yet)"),
    "gpt-5.4-mini": ("openai", "gpt-5.4-mini", "gpt-5-mini-high", "predecessor gpt-5-mini (high effort)"),
    "gpt-5.4-nano": ("openai", "gpt-5.4-nano", "gpt-5-nano-high", "predecessor gpt-5-nano (high effort)"),
    "o3": ("openai", "o3", "o3-2025-04-16", "rated"),
    "o4-mini": ("openai", "o4-mini", "o4-mini-2025-04-16", "rated"),
    "claude-opus-4-6": ("anthropic", "claude-opus-4-6", "claude-opus-4-5-20251101", "predecessor claude-opus-4-5"),
    "claude-sonnet-4-6": ("anthropic", "claude-sonnet-4-6", "claude-sonnet-4-5-20250929", "predecessor claude-sonnet-4-5"),
    "claude-haiku-4-5": ("anthropic", "claude-haiku-4-5", "claude-haiku-4-5-20251001", "rated"),
    "gemini-2.5-pro": ("gemini", "gemini/gemini-2.5-pro", "gemini-2.5-pro", "rated"),
    "gemini-2.5-flash": ("gemini", "gemini/gemini-2.5-flash", "gemini-2.5-flash", "rated"),
    "gemini-2.5-flash-lite": (
        "gemini",
        "gemini/gemini-2.5-flash-lite",
        "gemini-2.5-flash-lite-preview-09-2025-no-thinking",
        "preview 09-2025 (no thinking) of the same model",
    ),
}

# Models that reason before answering: output carries hidden reasoning tokens.
REASONING_OUTPUT_FACTOR = {"o3": 3.0, "o4-mini": 3.0}

# OpenAI's reasoning models (o-series, GPT-5 family) refuse sampling parameters and `stop`,
# and want max_completion_tokens (OpenAI reasoning guide; see docs/translation.md).
OPENAI_REASONING_REFUSES = ("temperature", "top_p", "presence_penalty", "frequency_penalty", "logit_bias",
                            "logprobs", "top_logprobs", "stop", "max_tokens")
UNSUPPORTED_PARAMS = {m: OPENAI_REASONING_REFUSES for m in ("gpt-5.4", "gpt-5.4-mini", "gpt-5.4-nano", "o3", "o4-mini")}

# Stop sequences an API takes at most (Gemini generationConfig.stopSequences: 5; OpenAI: 4).
MAX_STOP_SEQUENCES = {"gemini": 5, "openai": 4}

# task type -> arena categories averaged for it
TASK_CATEGORIES: dict[str, tuple[str, ...]] = {
    "coding": ("coding", "industry_software_and_it_services"),
    "reasoning": ("math", "hard_6", "industry_mathematical"),
    "analysis": ("expert", "hard_6"),
    "simple_qa": ("full",),
    "creative": ("creative_writing",),
    "general": ("full", "if"),
}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def win_probability(r: float, r_best: float) -> float:
    return 1.0 / (1.0 + 10 ** ((r_best - r) / 400.0))


def build(shared: Path) -> dict:
    prices_path = sorted((shared / "prices").glob("model_prices_litellm-*.json"))[-1]
    arena_path = sorted((shared / "arena").glob("arena_text_stylectrl_*.csv"))[-1]
    prices = json.loads(prices_path.read_text())
    rows = list(csv.DictReader(arena_path.open()))
    ratings = {r["model"]: r for r in rows}

    best: dict[str, float] = {}
    for cats in TASK_CATEGORIES.values():
        for c in cats:
            vals = [float(r[c]) for r in rows if r.get(c)]
            best[c] = max(vals)

    models = []
    for name, (provider, key, arena_name, arena_note) in MODELS.items():
        p = prices[key]
        r = ratings[arena_name]
        capability = {}
        for task, cats in TASK_CATEGORIES.items():
            scores = [2 * win_probability(float(r[c]), best[c]) for c in cats if r.get(c)]
            capability[task] = round(sum(scores) / len(scores), 4)
        models.append(
            {
                "name": name,
                "provider": provider,
                "input_per_mtok": round(p["input_cost_per_token"] * 1e6, 6),
                "output_per_mtok": round(p["output_cost_per_token"] * 1e6, 6),
                "cached_input_per_mtok": round(p.get("cache_read_input_token_cost", 0) * 1e6, 6) or None,
                "cache_write_per_mtok": round(p.get("cache_creation_input_token_cost", 0) * 1e6, 6) or None,
                "context_window": p.get("max_input_tokens"),
                "max_output_tokens": p.get("max_output_tokens"),
                "tools": bool(p.get("supports_function_calling")),
                "vision": bool(p.get("supports_vision")),
                "json_schema": bool(p.get("supports_response_schema")),
                "reasoning": bool(p.get("supports_reasoning")),
                "reasoning_output_factor": REASONING_OUTPUT_FACTOR.get(name, 1.0),
                "unsupported_params": list(UNSUPPORTED_PARAMS.get(name, ())),
                "max_stop_sequences": MAX_STOP_SEQUENCES.get(provider),
                "arena_name": arena_name,
                "arena_note": arena_note,
                "capability": capability,
            }
        )

    return {
        "version": 1,
        "updated": dt.date.today().isoformat(),
        "provenance": {
            "prices": {"file": prices_path.name, "sha256": sha256(prices_path), "licence": "MIT (LiteLLM)"},
            "arena": {"file": arena_path.name, "sha256": sha256(arena_path), "source": "lmarena/arena-catalog"},
            "capability": "2 x Bradley-Terry win probability against the category leader, averaged over "
            + "; ".join(f"{t}: {'+'.join(c)}" for t, c in TASK_CATEGORIES.items()),
            "command": "python scripts/build_catalog.py",
        },
        "models": models,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--out", type=Path, default=ROOT / "triage" / "data" / "catalog.json")
    args = ap.parse_args()
    catalog = build(args.shared)
    args.out.write_text(json.dumps(catalog, indent=1) + "\n")
    print(f"wrote {args.out} ({len(catalog['models'])} models)")


if __name__ == "__main__":
    main()
