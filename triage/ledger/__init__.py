"""The ledger: one record per request that reached the gateway, batched to a store."""

from triage.ledger.record import LedgerRecord
from triage.ledger.store import LedgerStore, open_store
from triage.ledger.writer import LedgerWriter

__all__ = ["LedgerRecord", "LedgerStore", "LedgerWriter", "open_store"]
