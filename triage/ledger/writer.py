"""Batched ledger writes, off the request path.

``record()`` is a list append (no I/O, no await). A background task hands the batch to the
store in a worker thread every ``flush_ms`` milliseconds; ``close()`` flushes what is left.
A crash or SIGKILL loses at most the records of the last ``flush_ms`` window (default 200 ms).
"""

from __future__ import annotations

import asyncio
import logging
import sys

from triage.ledger.record import LedgerRecord
from triage.ledger.store import LedgerStore

log = logging.getLogger("triage.ledger")


class LedgerWriter:
    def __init__(self, store: LedgerStore, flush_ms: int = 200) -> None:
        self.store = store
        self._interval = flush_ms / 1000.0
        self._pending: list[LedgerRecord] = []
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._sleeping = False
        self.written = 0
        self.failed_batches = 0

    def record(self, rec: LedgerRecord) -> None:
        self._pending.append(rec)

    async def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while not self._stopping:
            self._sleeping = True
            try:
                await asyncio.sleep(self._interval)
            finally:
                self._sleeping = False
            await self.flush()

    async def flush(self) -> None:
        if not self._pending:
            return
        batch, self._pending = self._pending, []
        try:
            await asyncio.to_thread(self.store.write_batch, batch)
            self.written += len(batch)
        except Exception as e:  # keep the batch: a locked or briefly unavailable database must not lose rows
            self.failed_batches += 1
            self._pending[:0] = batch
            print(f"triage: ledger write failed ({type(e).__name__}: {e}); {len(batch)} rows kept for retry", file=sys.stderr)

    async def close(self) -> None:
        self._stopping = True
        if self._task is not None:
            # Interrupt the sleep, never a write in flight: a cancelled await would leave
            # its thread writing (uncounted, racing the store's close) and lose the batch
            # if that write then failed.
            if self._sleeping:
                self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        await self.flush()
        await asyncio.to_thread(self.store.close)
