"""Per-request context handed to every handler: ids, timing, headers, the ledger row."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from triage.ledger.record import LedgerRecord


@dataclass(slots=True)
class RequestContext:
    request_id: str
    t0: float  # perf_counter at arrival
    headers: dict[str, str]  # lower-cased request headers
    rec: LedgerRecord
    extra: dict[str, str] = field(default_factory=dict)  # headers every response carries (request id, CORS)
    ledgered: bool = True  # successful reads of admin endpoints are not ledger rows
    task: asyncio.Task[Any] | None = None  # the task serving this request
    client_gone: bool = False  # set when the client disconnected and the task was cancelled
    plan: Any = None  # the engine's Plan once routing decided (attempts, for the ledger on failure)
