"""Postgres ledger, for several gateway instances sharing one ledger (``TRIAGE_DB=postgresql://…``).

Same table and queries as SQLite; needs the ``postgres`` extra (psycopg 3).
"""

from __future__ import annotations

import threading
from typing import Any, Sequence

from triage.ledger import sql
from triage.ledger.queries import ObserveQueries
from triage.ledger.record import LedgerRecord, as_row
from triage.ledger.store import StoreUnavailable


_DDL_LOCK_ID = 0x7472696167  # "triag": serialises table creation across processes


def _without_nul(row: tuple) -> tuple:
    """Postgres text cannot hold NUL (a client can put one in a model name, valid JSON):
    stored as U+FFFD rather than refused. ~2 µs a row, so only for a batch Postgres refused."""
    if any(type(v) is str and "\x00" in v for v in row):
        return tuple(v.replace("\x00", "\ufffd") if type(v) is str else v for v in row)
    return row


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
        self._connect = lambda: psycopg.connect(url, autocommit=True, row_factory=dict_row, connect_timeout=5)
        self._unreachable = psycopg.OperationalError
        self._refused = (psycopg.DataError, psycopg.IntegrityError)
        self._conn: Any = None
        self._schema_ready = False
        self._closed = False
        self._insert = sql.insert_sql("%s")
        # A database that is down at start does not keep the gateway from serving: rows wait
        # in the writer (and its spill file) and the table is created on the first connection.
        self.startup_error: str | None = None
        try:
            with self._lock:
                self._live()
        except StoreUnavailable as e:
            self.startup_error = str(e)

    def _create_schema(self, conn: Any) -> None:
        # Gateway workers start at once and each creates the table if missing; concurrent
        # CREATE TABLE IF NOT EXISTS can still collide in Postgres (duplicate pg_type row),
        # so the DDL runs under a transaction-scoped advisory lock.
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_DDL_LOCK_ID,))
            conn.execute(sql.CREATE_TABLE)
            for column, kind in sql.ADDED_COLUMNS:
                conn.execute(f"ALTER TABLE requests ADD COLUMN IF NOT EXISTS {column} {kind}")
            for stmt in sql.CREATE_INDEXES:
                conn.execute(stmt)

    def _live(self) -> Any:
        """The connection, reopened if the server dropped it (a restart, a failover, an idle
        timeout); the write or read that found it broken failed and is retried by its caller
        (the ledger writer keeps the batch)."""
        if self._closed:
            raise StoreUnavailable("the Postgres ledger is closed")
        if self._conn is None or self._conn.closed or self._conn.broken:
            try:
                self._conn = self._connect()
                if not self._schema_ready:
                    self._create_schema(self._conn)
                    self._schema_ready = True
            except self._unreachable as e:
                self._conn = None
                first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
                raise StoreUnavailable(f"the Postgres ledger is unreachable ({first})") from None
        return self._conn

    def write_batch(self, records: Sequence[LedgerRecord]) -> None:
        rows = list(map(as_row, records))
        try:
            self._insert_rows(rows)
        except self._refused as e:
            if "NUL" not in str(e):
                raise
            self._insert_rows([_without_nul(r) for r in rows])  # only then pay for the scan

    def _insert_rows(self, rows: list[tuple]) -> None:
        with self._lock:
            conn = self._live()
            with conn.transaction(), conn.cursor() as cur:
                cur.executemany(self._insert, rows)

    def rejects(self, exc: BaseException) -> bool:
        return isinstance(exc, self._refused)

    def _query(self, q: str, args: Sequence[Any] = ()) -> list[dict[str, Any]]:
        with self._lock:
            try:
                return list(self._live().execute(q, args).fetchall())
            except self._unreachable as e:  # dropped while reading: the next call reconnects
                raise StoreUnavailable(f"the Postgres ledger connection was lost ({type(e).__name__})") from None

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._conn is not None:
                self._conn.close()
