"""Postgres ledger, for several gateway instances sharing one ledger (``TRIAGE_DB=postgresql://…``).

Same table and queries as SQLite; needs the ``postgres`` extra (psycopg 3).
"""

from __future__ import annotations

import threading
from typing import Any, Sequence

from triage.ledger import sql
from triage.ledger.queries import ObserveQueries
from triage.ledger.record import LedgerRecord, as_row


_DDL_LOCK_ID = 0x7472696167  # "triag": serialises table creation across processes


class PostgresStore(ObserveQueries):
    _ph = "%s"
    _int_ts = "CAST(FLOOR(ts) AS BIGINT)"

    def __init__(self, url: str) -> None:
        try:
            import psycopg
            from psycopg.rows import dict_row
        except ImportError as e:  # pragma: no cover - depends on the install
            raise RuntimeError("a postgresql:// ledger needs the postgres extra: pip install 'llm-triage[postgres]'") from e
        self._lock = threading.Lock()
        self._connect = lambda: psycopg.connect(url, autocommit=True, row_factory=dict_row)
        self._conn = self._connect()
        self._closed = False
        # Gateway workers start at once and each creates the table if missing; concurrent
        # CREATE TABLE IF NOT EXISTS can still collide in Postgres (duplicate pg_type row),
        # so the DDL runs under a transaction-scoped advisory lock.
        with self._lock, self._conn.transaction():
            self._conn.execute("SELECT pg_advisory_xact_lock(%s)", (_DDL_LOCK_ID,))
            self._conn.execute(sql.CREATE_TABLE)
            for column, kind in sql.ADDED_COLUMNS:
                self._conn.execute(f"ALTER TABLE requests ADD COLUMN IF NOT EXISTS {column} {kind}")
            for stmt in sql.CREATE_INDEXES:
                self._conn.execute(stmt)
        self._insert = sql.insert_sql("%s")

    def _live(self) -> Any:
        """The connection, reopened if the server dropped it (a restart, a failover, an idle
        timeout); the write or read that found it broken failed and is retried by its caller
        (the ledger writer keeps the batch)."""
        if not self._closed and (self._conn.closed or self._conn.broken):
            self._conn = self._connect()
        return self._conn

    def write_batch(self, records: Sequence[LedgerRecord]) -> None:
        rows = list(map(as_row, records))
        with self._lock:
            conn = self._live()
            with conn.transaction(), conn.cursor() as cur:
                cur.executemany(self._insert, rows)

    def _query(self, q: str, args: Sequence[Any] = ()) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._live().execute(q, args).fetchall())

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._conn.close()
