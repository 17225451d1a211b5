"""The storage interface: a tiny write side and named read queries. Backends implement it.

Writes arrive in batches from ``LedgerWriter`` (never from the request path directly), so
a backend may be synchronous: it runs in a worker thread.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, Sequence

from triage.ledger.record import LedgerRecord

if TYPE_CHECKING:
    from triage.ledger.queries import Filters

class StoreUnavailable(RuntimeError):
    """The ledger's database cannot be reached right now. Reads answer 503; writes are kept
    (and spilled to disk) by the writer until it answers again."""


GROUPS = {"model": "answered_model", "provider": "provider", "task": "task_type", "key": "api_key_id", "surface": "surface"}


class LedgerStore(Protocol):
    def write_batch(self, records: Sequence[LedgerRecord]) -> None: ...

    def rejects(self, exc: BaseException) -> bool:
        """True if ``exc`` (raised by ``write_batch``) means the store refused the rows
        themselves (a value it cannot hold), not that it is unavailable: the writer then finds
        and sets aside the refused rows instead of retrying the batch for ever."""
        ...

    def summary(self, since: float | None = None, until: float | None = None) -> dict[str, Any]:
        """Totals: requests, errors, tokens, cost, baseline cost, savings."""
        ...

    def grouped(self, by: str, since: float | None = None, until: float | None = None) -> list[dict[str, Any]]:
        """The same totals per model / provider / task / key."""
        ...

    def recent(self, limit: int = 50) -> list[dict[str, Any]]: ...

    # Filtered reads for the dashboard, MCP and `triage tail` (see triage/ledger/queries.py).
    def totals(self, f: Filters = ...) -> dict[str, Any]: ...

    def totals_by(self, by: str, f: Filters = ...) -> list[dict[str, Any]]: ...

    def timeseries(self, bucket_s: int, f: Filters = ..., offset_s: int = 0) -> list[dict[str, Any]]: ...

    def latency_by_model(self, f: Filters = ...) -> list[dict[str, Any]]: ...

    def recent_rows(self, limit: int = 50, f: Filters = ..., after: float | None = None, with_prompt: bool = False) -> list[dict[str, Any]]: ...

    def distinct_values(self, since: float | None = None) -> dict[str, list[str]]: ...

    def count(self) -> int: ...

    def close(self) -> None: ...


def open_store(url: str) -> LedgerStore:
    """SQLite for a path (the default), Postgres for a ``postgresql://`` URL."""
    if url.startswith(("postgres://", "postgresql://")):
        from triage.ledger.postgres import PostgresStore

        return PostgresStore(url)
    from triage.ledger.sqlite import SQLiteStore

    return SQLiteStore(url)
