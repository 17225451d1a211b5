"""A known ledger for the observe tests: rows written straight into a TRIAGE_HOME's SQLite
ledger before a gateway (or the CLI) reads it, plus the totals those rows must produce."""

from __future__ import annotations

import time
from pathlib import Path

from triage.ledger.record import LedgerRecord
from triage.ledger.sqlite import SQLiteStore

HOUR = 3600.0

# (age in hours, answered model, provider, task, in, out, cached, reasoning, cost, baseline cost, latency ms, status, error, attempts, key)
ROWS = [
    (1, "gpt-5.4-mini", "openai", "coding", 1000, 200, 0, 0, 0.002, 0.010, 400.0, 200, None, 1, "key_a"),
    (2, "gpt-5.4-mini", "openai", "coding", 2000, 300, 500, 0, 0.003, 0.020, 600.0, 200, None, 1, "key_a"),
    (3, "gpt-5.4-mini", "openai", "general", 100, 0, 0, 0, 0.0, 0.0, 90.0, 502, "server_error", 1, "key_b"),
    (26, "gpt-5.4-nano", "openai", "simple_qa", 500, 100, 0, 0, 0.0005, 0.008, 200.0, 200, None, 1, "key_b"),
    (50, "claude-haiku-4-5", "anthropic", "creative", 800, 400, 0, 0, 0.004, 0.012, 900.0, 200, None, 2, "key_a"),
    # An explicit request for a model dearer than the baseline: its own row saves nothing, never less.
    (60, "gpt-5.4", "openai", "analysis", 1000, 1000, 0, 300, 0.0175, 0.0175, 1500.0, 200, None, 1, "key_b"),
    # Outside the 30-day range.
    (24 * 40, "gpt-5.4", "openai", "analysis", 1000, 1000, 0, 0, 0.0175, 0.0175, 1000.0, 200, None, 1, "key_a"),
]

# Expected over the last 7 days (all rows but the 40-day-old one).
WEEK = {
    "requests": 6, "errors": 1, "fallbacks": 1, "input_tokens": 5400, "output_tokens": 2000, "cached_tokens": 500, "reasoning_tokens": 300,
    "cost_usd": 0.027, "baseline_cost_usd": 0.0675, "saved_usd": 0.0405,
}  # fmt: skip
WEEK_BY_MODEL = {  # model -> (requests, cost, saved)
    "gpt-5.4": (1, 0.0175, 0.0), "gpt-5.4-mini": (3, 0.005, 0.025), "claude-haiku-4-5": (1, 0.004, 0.008), "gpt-5.4-nano": (1, 0.0005, 0.0075),
}  # fmt: skip
DAY = {"requests": 3, "cost_usd": 0.005, "baseline_cost_usd": 0.03, "saved_usd": 0.025}


def records(now: float) -> list[LedgerRecord]:
    out = []
    for i, (age, model, prov, task, tin, tout, cached, reasoning, cost, base, lat, status, err, attempts, key) in enumerate(ROWS):
        out.append(LedgerRecord(
            ts=now - age * HOUR, request_id=f"req_seed_{i}", surface="openai", requested_model="auto" if model != "gpt-5.4" else "gpt-5.4",
            chosen_model=model, answered_model=model, provider=prov, task_type=task, reason=f"seeded decision {i}: {task} task",
            input_tokens=tin, output_tokens=tout, cached_tokens=cached, reasoning_tokens=reasoning, cost_usd=cost, baseline_model="gpt-5.4",
            baseline_cost_usd=base, ttfb_ms=lat / 4, latency_ms=lat, status=status, error_class=err, attempts=attempts, api_key_id=key,
        ))  # fmt: skip
    return out


def seed(home: Path, now: float | None = None) -> float:
    now = now or time.time()
    home.mkdir(parents=True, exist_ok=True)
    store = SQLiteStore(home / "ledger.db")
    try:
        store.write_batch(records(now))
    finally:
        store.close()
    return now
