"""A ledger written by an older version (without the later columns) opens and gains them."""

from __future__ import annotations

import sqlite3
import time

from triage.ledger.record import COLUMNS, LedgerRecord
from triage.ledger.sql import ADDED_COLUMNS
from triage.ledger.sqlite import SQLiteStore


def test_old_sqlite_ledger_gains_the_added_columns_and_keeps_its_rows(tmp_path):
    db = tmp_path / "ledger.db"
    old = [c for c in COLUMNS if c not in {name for name, _ in ADDED_COLUMNS}]
    with sqlite3.connect(db) as conn:
        conn.execute(f"CREATE TABLE requests ({', '.join(old)})")
        conn.execute(f"INSERT INTO requests ({', '.join(old)}) VALUES ({', '.join('?' * len(old))})",
                     [getattr(LedgerRecord(ts=1.0, request_id="old", surface="openai"), c) for c in old])  # fmt: skip
    store = SQLiteStore(db)
    store.write_batch([LedgerRecord(ts=time.time(), request_id="new", surface="openai", attempts=2, attempt_log='[{"model": "a"}]')])
    rows = {r["request_id"]: r for r in store.recent(10)}
    store.close()
    assert rows["old"]["attempt_log"] is None and rows["new"]["attempt_log"] == '[{"model": "a"}]'
