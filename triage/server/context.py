"""Per-request context handed to every handler: ids, timing, headers, the ledger row."""

from __future__ import annotations

from dataclasses import dataclass, field

from triage.ledger.record import LedgerRecord


@dataclass(slots=True)
class RequestContext:
    request_id: str
    t0: float  # perf_counter at arrival
    headers: dict[str, str]  # lower-cased request headers
    rec: LedgerRecord
    extra: dict[str, str] = field(default_factory=dict)  # headers every response carries (request id, CORS)
    ledgered: bool = True  # successful reads of admin endpoints are not ledger rows
