"""One contract for every ledger store: the same tests against SQLite (a file in tmp_path)
and Postgres (a database created for this test session and dropped after it).

Postgres is reached at ``TRIAGE_TEST_POSTGRES`` (default
``postgresql://postgres@127.0.0.1:5432/test``); its tests are skipped, saying why, only if
that server cannot be reached.
"""

from __future__ import annotations

import os
import secrets
import threading
import time
from pathlib import Path
from typing import Iterator

import pytest

from triage.ledger import LedgerRecord, open_store
from triage.ledger.store import LedgerStore

ADMIN_URL = os.environ.get("TRIAGE_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
NOW = time.time()
DAY = 86400.0


def _pg_admin():  # noqa: ANN202
    import psycopg

    return psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=3)


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh database for this session (one per xdist worker), dropped afterwards."""
    try:
        admin = _pg_admin()
    except Exception as e:  # noqa: BLE001 - any failure to connect means "no Postgres here"
        pytest.skip(f"Postgres not reachable at {ADMIN_URL}: {type(e).__name__}: {e}")
    name = f"triage_test_{secrets.token_hex(6)}"
    admin.execute(f"CREATE DATABASE {name}")
    base = ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.close()


def _pg_url(pg_database: str) -> str:
    """An empty ledger for one test: drop what a previous test of this session left."""
    import psycopg

    with psycopg.connect(pg_database, autocommit=True) as c:
        c.execute("DROP TABLE IF EXISTS requests")
    return pg_database


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "ledger.db")
    return _pg_url(request.getfixturevalue("pg_database"))


@pytest.fixture
def store(store_url: str) -> Iterator[LedgerStore]:
    s = open_store(store_url)
    yield s
    s.close()


def rec(i: int, ts: float = NOW, **kw: object) -> LedgerRecord:
    base = dict(ts=ts, request_id=f"req-{i}", surface="openai", requested_model="auto", chosen_model="gpt-5.4-mini",
                answered_model="gpt-5.4-mini", provider="openai", task_type="coding", input_tokens=100, output_tokens=50,
                cost_usd=0.001, baseline_model="claude-opus-4-6", baseline_cost_usd=0.004, latency_ms=100.0, status=200)  # fmt: skip
    base.update(kw)
    return LedgerRecord(**base)  # type: ignore[arg-type]


# A known sequence: 6 rows over 10 days, 3 models, 2 providers, 4 task types, 2 client keys.
ROWS = [
    rec(1, NOW - 10 * DAY, answered_model="claude-haiku-4-5", provider="anthropic", task_type="simple_qa", input_tokens=1000,
        output_tokens=200, cached_tokens=0, cost_usd=0.002, baseline_cost_usd=0.010, latency_ms=300.0, api_key_id="k1"),
    rec(2, NOW - 3 * DAY, input_tokens=2000, output_tokens=400, cached_tokens=500, cost_usd=0.003, baseline_cost_usd=0.020,
        latency_ms=500.0, api_key_id="k1", attempts=2),
    rec(3, NOW - 3600, answered_model="claude-haiku-4-5", provider="anthropic", task_type="analysis", input_tokens=300,
        output_tokens=100, reasoning_tokens=40, cost_usd=0.001, baseline_cost_usd=0.005, latency_ms=200.0, api_key_id="k2", stream=True),
    rec(4, NOW - 60, status=502, error_class="upstream_error", input_tokens=0, output_tokens=0, cost_usd=0.0, baseline_cost_usd=0.0,
        latency_ms=50.0, api_key_id="k2", answered_model=None),
    rec(5, NOW - 30, status=0, error_class="client_disconnected", input_tokens=10, output_tokens=0, cost_usd=0.00001,
        baseline_cost_usd=0.00005, latency_ms=None, api_key_id="k2"),
    rec(6, NOW, answered_model="claude-opus-4-6", provider="anthropic", task_type="reasoning", input_tokens=500, output_tokens=1000,
        cost_usd=0.0275, baseline_cost_usd=0.0275, latency_ms=900.0, api_key_id=None),
]  # fmt: skip


def expected(rows: list[LedgerRecord]) -> dict:
    cost = sum(r.cost_usd for r in rows)
    base = sum(r.baseline_cost_usd for r in rows)
    lat = [r.latency_ms for r in rows if r.latency_ms is not None]
    return {
        "requests": len(rows),
        "errors": sum(1 for r in rows if r.status >= 400 or r.status == 0),
        "input_tokens": sum(r.input_tokens for r in rows),
        "output_tokens": sum(r.output_tokens for r in rows),
        "cached_tokens": sum(r.cached_tokens for r in rows),
        "reasoning_tokens": sum(r.reasoning_tokens for r in rows),
        "cost_usd": pytest.approx(cost),
        "baseline_cost_usd": pytest.approx(base),
        "saved_usd": pytest.approx(max(0.0, base - cost)),
        "savings_percent": pytest.approx(round(100 * max(0.0, base - cost) / base, 1) if base else 0.0),
        "fallbacks": sum(1 for r in rows if r.attempts > 1),
        "avg_latency_ms": pytest.approx(round(sum(lat) / len(lat), 2)) if lat else None,
    }


def check(got: dict, rows: list[LedgerRecord]) -> None:
    want = expected(rows)
    assert {k: got[k] for k in want} == want
    assert all(isinstance(got[k], int) and not isinstance(got[k], bool) for k in ("requests", "errors", "input_tokens", "output_tokens", "fallbacks"))
    assert isinstance(got["cost_usd"], float)


def test_empty_store(store: LedgerStore) -> None:
    assert store.count() == 0
    assert store.recent() == []
    assert store.grouped("model") == []
    s = store.summary()
    assert (s["requests"], s["errors"], s["cost_usd"], s["baseline_cost_usd"], s["saved_usd"], s["savings_percent"]) == (0, 0, 0.0, 0.0, 0.0, 0.0)


def test_write_batch_and_count(store: LedgerStore) -> None:
    store.write_batch(ROWS[:2])
    store.write_batch(ROWS[2:])
    store.write_batch([])
    assert store.count() == len(ROWS)


def test_summary_totals(store: LedgerStore) -> None:
    store.write_batch(ROWS)
    check(store.summary(), ROWS)
    s = store.summary()
    assert s["requests"] == 6 and s["errors"] == 2 and s["fallbacks"] == 1
    assert s["saved_usd"] == pytest.approx(0.06255 - 0.03351)


@pytest.mark.parametrize(
    ("since", "until", "ids"),
    [  # seconds relative to NOW (ids stay stable across xdist workers)
        (-7 * DAY, None, [2, 3, 4, 5, 6]),
        (-DAY, None, [3, 4, 5, 6]),
        (None, -DAY, [1, 2]),
        (-4 * DAY, -60, [2, 3]),  # since inclusive, until exclusive
        (1, None, []),
    ],
    ids=["week", "day", "older-than-a-day", "between", "future"],
)
def test_time_windows(store: LedgerStore, since: float | None, until: float | None, ids: list[int]) -> None:
    store.write_batch(ROWS)
    check(store.summary(None if since is None else NOW + since, None if until is None else NOW + until), [ROWS[i - 1] for i in ids])


@pytest.mark.parametrize(
    ("by", "key_of"),
    [("model", "answered_model"), ("provider", "provider"), ("task", "task_type"), ("key", "api_key_id"), ("surface", "surface")],
)
def test_grouped(store: LedgerStore, by: str, key_of: str) -> None:
    store.write_batch(ROWS)
    groups = store.grouped(by)
    want: dict[object, list[LedgerRecord]] = {}
    for r in ROWS:
        want.setdefault(getattr(r, key_of), []).append(r)
    assert sorted(map(str, (g["key"] for g in groups))) == sorted(map(str, want))
    assert len(groups) == len(want)
    for g in groups:
        check(g, want[g["key"]])
    costs = [g["cost_usd"] for g in groups]
    assert costs == sorted(costs, reverse=True)  # the biggest spender first


def test_grouped_with_a_window(store: LedgerStore) -> None:
    store.write_batch(ROWS)
    groups = {g["key"]: g for g in store.grouped("provider", since=NOW - DAY)}
    check(groups["openai"], [ROWS[3], ROWS[4]])
    check(groups["anthropic"], [ROWS[2], ROWS[5]])


def test_grouped_rejects_an_unknown_grouping(store: LedgerStore) -> None:
    with pytest.raises(KeyError):
        store.grouped("prompt; DROP TABLE requests")
    assert store.count() == 0


def test_savings_are_never_negative(store: LedgerStore) -> None:
    """The baseline can be cheaper than what answered (a fallback to a dearer model)."""
    store.write_batch([rec(1, cost_usd=0.05, baseline_cost_usd=0.01), rec(2, cost_usd=0.01, baseline_cost_usd=0.02)])
    s = store.summary()
    assert s["saved_usd"] == 0.0 and s["savings_percent"] == 0.0
    for g in store.grouped("model"):
        assert g["saved_usd"] >= 0 and g["savings_percent"] >= 0


def test_recent_newest_first_with_every_column(store: LedgerStore) -> None:
    store.write_batch(ROWS)
    rows = store.recent(4)
    assert [r["request_id"] for r in rows] == ["req-6", "req-5", "req-4", "req-3"]
    assert len(store.recent()) == 6
    r3 = rows[3]
    want = ROWS[2].as_dict()
    assert set(r3) >= set(want)
    for k, v in want.items():
        if k == "stream":
            assert r3[k] is v  # a bool on every store
        elif isinstance(v, float):
            assert r3[k] == pytest.approx(v)
        else:
            assert r3[k] == v, k
    assert rows[1]["latency_ms"] is None and rows[2]["answered_model"] is None


def test_prompt_text_round_trips_only_when_recorded(store: LedgerStore) -> None:
    store.write_batch([rec(1, prompt="héllo ✓ 'quoted' \"twice\""), rec(2, ts=NOW + 1)])
    rows = store.recent()
    assert rows[0]["prompt"] is None
    assert rows[1]["prompt"] == "héllo ✓ 'quoted' \"twice\""


def test_a_second_store_on_the_same_ledger_sees_the_rows(store_url: str) -> None:
    """Several gateway instances (or `triage report`) share one ledger."""
    a, b = open_store(store_url), open_store(store_url)
    try:
        a.write_batch(ROWS[:3])
        b.write_batch(ROWS[3:])
        assert a.count() == b.count() == 6
        check(b.summary(), ROWS)
    finally:
        a.close()
        b.close()


def test_stores_opening_concurrently_all_succeed(store_url: str) -> None:
    """Workers starting at once each create the table if missing; none may fail."""
    errors: list[BaseException] = []
    stores: list[LedgerStore] = []
    lock = threading.Lock()

    def open_one() -> None:
        try:
            s = open_store(store_url)
            with lock:
                stores.append(s)
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=open_one) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    for s in stores:
        s.write_batch([rec(len(stores))])
        s.close()
    assert errors == []
    assert len(stores) == 6


def test_many_rows_in_one_batch(store: LedgerStore) -> None:
    store.write_batch([rec(i, ts=NOW - i) for i in range(2000)])
    assert store.count() == 2000
    assert store.summary()["input_tokens"] == 200_000


def test_postgres_store_reconnects_after_the_server_drops_it(pg_database: str) -> None:
    """A dropped connection fails one batch (the writer keeps it) and the next one works."""
    import psycopg

    url = _pg_url(pg_database)
    s = open_store(url)
    try:
        s.write_batch([rec(1)])
        pid = s._conn.info.backend_pid  # type: ignore[attr-defined]
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        with pytest.raises(psycopg.OperationalError):
            s.write_batch([rec(2)])
        s.write_batch([rec(2)])
        assert s.count() == 2
    finally:
        s.close()


def test_a_failed_batch_leaves_no_row_behind(store: LedgerStore) -> None:
    """The writer retries a failed batch whole, so a batch is written all or nothing."""
    bad = LedgerRecord(ts=NOW, request_id="bad", surface=None, status=200)  # type: ignore[arg-type]  # NOT NULL
    batch = [rec(100 + i, NOW) for i in range(150)] + [bad]
    with pytest.raises(Exception):
        store.write_batch(batch)
    assert store.count() == 0
    store.write_batch(batch[:-1])
    assert store.count() == 150


def test_postgres_down_at_start_is_not_fatal_and_the_table_comes_with_the_first_connection(pg_database: str) -> None:
    pytest.importorskip("psycopg")
    from triage.ledger.store import StoreUnavailable

    down = open_store("postgresql://postgres:not-a-real-password@127.0.0.1:1/x")  # nothing listens on port 1
    try:
        with pytest.raises(StoreUnavailable) as e:
            down.summary()
        assert "unreachable" in str(e.value) and "not-a-real-password" not in str(e.value)
        with pytest.raises(StoreUnavailable):
            down.write_batch([rec(1)])
    finally:
        down.close()
    url = _pg_url(pg_database)  # no table yet
    s = open_store(url)
    try:
        s.write_batch([rec(1)])
        assert s.count() == 1
    finally:
        s.close()


def test_text_with_a_nul_is_stored_and_a_value_beyond_the_column_is_refused(store: LedgerStore) -> None:
    """A client can put a NUL in a model name (valid JSON); an upstream can report a token count
    beyond 64 bits. Neither may stall the ledger: the first is kept (Postgres text cannot hold
    NUL: it becomes U+FFFD), the second is refused with an error the store itself classifies
    as a refusal (``rejects``), so the writer sets that row aside instead of retrying it for ever."""
    store.write_batch([rec(1, requested_model="gpt\x00x")])
    (row,) = store.recent(5)
    assert row["requested_model"] in ("gpt\x00x", "gpt\ufffdx")
    with pytest.raises(Exception) as refused:
        store.write_batch([rec(2, input_tokens=10**19)])
    assert store.rejects(refused.value)
    assert store.count() == 1
    # being unavailable is not a refusal
    assert not store.rejects(ConnectionError("gone")) and not store.rejects(OSError("database is locked"))
