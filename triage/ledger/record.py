"""One ledger row: what happened to one request that reached the gateway. Pure data."""

from __future__ import annotations

import operator
from dataclasses import asdict, dataclass, fields
from typing import Any


@dataclass(slots=True)
class LedgerRecord:
    ts: float  # unix time the request arrived
    request_id: str
    surface: str  # "openai" | "anthropic" | "route" ...
    requested_model: str | None = None
    chosen_model: str | None = None  # what routing picked first
    answered_model: str | None = None  # the model that actually answered (after fallbacks)
    provider: str | None = None
    task_type: str | None = None
    reason: str | None = None
    stream: bool = False
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    cost_usd: float = 0.0  # at the answering model's prices
    baseline_model: str | None = None
    baseline_cost_usd: float = 0.0  # the baseline model's price for the same tokens
    ttfb_ms: float | None = None
    latency_ms: float | None = None
    status: int = 0  # HTTP status sent to the client
    error_class: str | None = None
    attempts: int = 1
    attempt_log: str | None = None  # JSON list of every attempt: model, provider, outcome, status, ms
    api_key_id: str | None = None  # a short hash of the client's gateway key, never the key
    prompt: str | None = None  # only when the user turned prompt storage on

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(LedgerRecord))
# A record's values in COLUMNS order, as one C call: the batch writer builds its rows with it
# in a worker thread, and the GIL it holds meanwhile is time the event loop waits.
as_row = operator.attrgetter(*COLUMNS)
