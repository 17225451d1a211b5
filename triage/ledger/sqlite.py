"""SQLite ledger (the default): one file in TRIAGE_HOME, WAL mode, used from one writer thread.

WAL lets readers (stats, reports, the dashboard, another process running `triage report`)
read while the gateway writes; ``synchronous=NORMAL`` keeps commits cheap and is durable
across a process crash (only an OS crash can lose the last commits).
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any, Sequence

from triage.ledger import sql
from triage.ledger.queries import ObserveQueries
from triage.ledger.record import LedgerRecord, as_row


class SQLiteStore(ObserveQueries):
    _ph = "?"
    _int_ts = "CAST(ts AS INTEGER)"

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(self.path, check_same_thread=False, timeout=10.0)
        self._conn.row_factory = sqlite3.Row
        with self._lock:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute(sql.CREATE_TABLE)
            have = {r[1] for r in self._conn.execute("PRAGMA table_info(requests)")}
            for column, kind in sql.ADDED_COLUMNS:
                if column not in have:
                    self._conn.execute(f"ALTER TABLE requests ADD COLUMN {column} {kind}")
            for stmt in sql.CREATE_INDEXES:
                self._conn.execute(stmt)
            self._conn.commit()
        self._insert = sql.insert_sql("?")

    def write_batch(self, records: Sequence[LedgerRecord]) -> None:
        rows = list(map(as_row, records))
        with self._lock:
            self._conn.executemany(self._insert, rows)
            self._conn.commit()

    def _query(self, q: str, args: Sequence[Any] = ()) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(r) for r in self._conn.execute(q, args).fetchall()]

    def close(self) -> None:
        with self._lock:
            self._conn.close()
