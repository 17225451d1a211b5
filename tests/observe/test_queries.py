"""The observe read queries (triage/ledger/queries.py) on SQLite and Postgres, same answers."""

from __future__ import annotations

import pytest

from tests.ledger.test_store_contract import pg_database, store, store_url  # noqa: F401 - fixtures
from tests.observe.seed import DAY, HOUR, WEEK, WEEK_BY_MODEL, records
from triage.ledger.queries import Filters, percentile
from triage.ledger.store import LedgerStore

NOW = 1_790_000_000.0  # fixed: bucket boundaries are then known


@pytest.fixture
def seeded(store: LedgerStore) -> LedgerStore:  # noqa: F811
    store.write_batch(records(NOW))
    return store


def test_filtered_totals(seeded: LedgerStore) -> None:
    week = seeded.totals(Filters(since=NOW - 7 * 24 * HOUR))
    assert {k: week[k] for k in WEEK} == WEEK
    day = seeded.totals(Filters(since=NOW - 24 * HOUR))
    assert {k: day[k] for k in DAY} == DAY
    assert seeded.totals(Filters(since=NOW - 7 * 24 * HOUR, key="key_b", provider="openai"))["requests"] == 3
    assert seeded.totals(Filters(model="gpt-5.4"))["requests"] == 2
    by = {g["key"]: (g["requests"], g["cost_usd"], g["saved_usd"]) for g in seeded.totals_by("model", Filters(since=NOW - 7 * 24 * HOUR))}
    assert by == WEEK_BY_MODEL


def test_timeseries_buckets_are_aligned_and_sum_up(seeded: LedgerStore) -> None:
    f = Filters(since=NOW - 7 * 24 * HOUR)
    days = seeded.timeseries(86400, f)
    assert all(d["bucket"] % 86400 == 0 for d in days)
    assert sum(d["requests"] for d in days) == WEEK["requests"]
    assert sum(d["cost_usd"] for d in days) == pytest.approx(WEEK["cost_usd"])
    shifted = seeded.timeseries(86400, f, offset_s=2 * 3600)  # UTC+2: days start at 22:00 UTC
    assert all((d["bucket"] + 2 * 3600) % 86400 == 0 for d in shifted)
    hours = seeded.timeseries(3600, Filters(since=NOW - 24 * HOUR))
    assert [h["requests"] for h in hours] == [1, 1, 1]
    assert [h["bucket"] for h in hours] == sorted(int((NOW - a * HOUR) // 3600 * 3600) for a in (1, 2, 3))


def test_latency_percentiles_recent_and_options(seeded: LedgerStore) -> None:
    lat = {r["model"]: r for r in seeded.latency_by_model(Filters(since=NOW - 7 * 24 * HOUR))}
    assert (lat["gpt-5.4-mini"]["p50_ms"], lat["gpt-5.4-mini"]["p90_ms"], lat["gpt-5.4-mini"]["ttfb_p50_ms"]) == (400.0, 600.0, 100.0)
    assert lat["gpt-5.4"]["requests"] == 1
    rows = seeded.recent_rows(3)
    assert [r["request_id"] for r in rows] == ["req_seed_0", "req_seed_1", "req_seed_2"] and "prompt" not in rows[0]
    newer = seeded.recent_rows(10, after=NOW - 2.5 * HOUR)
    assert [r["request_id"] for r in newer] == ["req_seed_1", "req_seed_0"]
    assert seeded.distinct_values() == {"models": ["claude-haiku-4-5", "gpt-5.4", "gpt-5.4-mini", "gpt-5.4-nano"],
                                        "providers": ["anthropic", "openai"], "keys": ["key_a", "key_b"]}  # fmt: skip


def test_percentile_nearest_rank() -> None:
    assert percentile([], 50) is None
    assert [percentile([1, 2, 3, 4], q) for q in (0, 25, 50, 75, 100)] == [1, 1, 2, 3, 4]
    assert percentile(list(range(1, 101)), 99) == 99
