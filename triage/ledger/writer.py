"""Batched ledger writes, off the request path.

``record()`` is a list append (no I/O, no await). A background task hands the batch to the
store in the writer's own thread (below the event loop's priority) every ``flush_ms``
milliseconds; ``close()`` flushes what is left.
A crash or SIGKILL loses at most the records of the last ``flush_ms`` window (default 200 ms).

While the store fails (a locked SQLite file, Postgres down), rows are kept and retried, in
order. Memory stays bounded: beyond ``max_pending`` rows the oldest go to a spill file in
TRIAGE_HOME (``ledger-spill.<pid>.jsonl``, one JSON object per row), and so does everything
left at ``close()`` if the store still fails. Spill files are written back before newer rows
once the store answers, including those of a process that has exited (claimed at start by
renaming, so several workers never replay the same file); replay progress is kept in a
``.offset`` file so a crash mid-replay does not write rows twice.

A row the store *refuses* (``store.rejects(error)``: a value it cannot hold, such as an
upstream's token count beyond 64 bits) is not retried for ever, which would hold every later row
behind it: the batch is written row by row, the refused rows go to ``ledger-rejected.jsonl`` in
TRIAGE_HOME with the store's error (or to stderr without a home), and the rest are written.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

import orjson

from triage.ledger.record import COLUMNS, LedgerRecord, as_row
from triage.ledger.store import LedgerStore

MAX_PENDING = 50_000  # rows held in memory while the store fails (~50 MB); older ones go to disk
REPLAY_CHUNK = 10_000  # rows per store write when a spill file is written back
WARN_EVERY_S = 30.0  # a store that keeps failing is reported at most this often
THREAD_NICE = 10  # the ledger thread's priority below the event loop's (Linux, per thread)


def _yield_to_the_event_loop() -> None:
    """The ledger thread's initializer. On one core a batch insert (~5 µs a row, ~1,000 rows a
    batch at full load) would take the CPU from the event loop for milliseconds while requests
    wait; at a lower priority it runs when the loop has nothing to do. Linux applies nice per
    thread (elsewhere the call could address a process, so it is not made)."""
    if sys.platform == "linux":
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), THREAD_NICE)
        except OSError:
            pass


class LedgerWriter:
    def __init__(self, store: LedgerStore, flush_ms: int = 200, spill_dir: str | Path | None = None,
                 max_pending: int = MAX_PENDING) -> None:
        self.store = store
        self._interval = flush_ms / 1000.0
        self._pending: list[LedgerRecord] = []
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._sleeping = False
        self.written = 0
        self.failed_batches = 0
        self.max_pending = max_pending
        self._spill_dir = Path(spill_dir) if spill_dir is not None else None
        self._spills: list[Path] = []  # files to write back, oldest rows first
        self.spilled = 0  # rows this writer put in its spill file (written back or not)
        self.rejected = 0  # rows the store refused, set aside in ledger-rejected.jsonl
        self._last_warn = 0.0
        self._thread = ThreadPoolExecutor(1, "triage-ledger", initializer=_yield_to_the_event_loop)

    async def _in_thread(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._thread, fn, *args)

    def record(self, rec: LedgerRecord) -> None:
        self._pending.append(rec)

    async def start(self) -> None:
        if self._spill_dir is not None:
            self._spills = await self._in_thread(claim_spill_files, self._spill_dir)
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
        if not self._pending and not self._spills:
            return
        batch, self._pending = self._pending, []
        try:
            self.written += await self._in_thread(self._write, batch)
        except Exception as e:  # keep the batch: a locked or briefly unavailable database must not lose rows
            self.failed_batches += 1
            self._pending[:0] = e.remaining if isinstance(e, PartialWrite) else batch
            self._warn(e.__cause__ if isinstance(e, PartialWrite) and isinstance(e.__cause__, Exception) else e)
            excess = len(self._pending) - self.max_pending
            if excess > 0 and self._spill_dir is not None:
                oldest, self._pending = self._pending[:excess], self._pending[excess:]
                await self._in_thread(self._spill, oldest)

    def _write(self, batch: list[LedgerRecord]) -> int:
        """In the worker thread: spilled rows first (they are older), then the batch.
        -> rows of the batch written (the others were refused and set aside)."""
        while self._spills:
            replay_spill_file(self._spills[0], self.store, reject=self._reject)
            self._spills.pop(0)
        if not batch:
            return 0
        try:
            self.store.write_batch(batch)
            return len(batch)
        except Exception as e:
            if not _refused(self.store, e):
                raise
        written = 0
        for i, rec in enumerate(batch):  # find the refused rows; keep the rest
            try:
                self.store.write_batch([rec])
                written += 1
            except Exception as e:
                if not _refused(self.store, e):
                    raise PartialWrite(batch[i:]) from e
                self._reject(rec, e)
        return written

    def _reject(self, rec: LedgerRecord, e: BaseException) -> None:
        self.rejected += 1
        line = _json_line({"error": f"{type(e).__name__}: {e}".strip(), "row": dict(zip(COLUMNS, as_row(rec)))})
        kept_in = None
        if self._spill_dir is not None:
            path = self._spill_dir / "ledger-rejected.jsonl"
            try:  # never raises: rows written one by one before this one must not be written again
                with path.open("ab") as f:
                    f.write(line)
                kept_in = str(path)
            except OSError:
                pass
        if kept_in is None:
            sys.stderr.write(line.decode())
        print(f"triage: the ledger store refused a row ({type(e).__name__}: {e}); kept in {kept_in or 'stderr (above)'}",
              file=sys.stderr)

    def _spill(self, rows: list[LedgerRecord]) -> None:
        assert self._spill_dir is not None
        path = self._spill_dir / f"ledger-spill.{os.getpid()}.jsonl"
        append_spill(path, rows)
        self.spilled += len(rows)
        if path not in self._spills:
            self._spills.append(path)

    def _warn(self, e: Exception) -> None:
        now = time.monotonic()
        if now - self._last_warn >= WARN_EVERY_S:
            self._last_warn = now
            print(f"triage: ledger write failed ({type(e).__name__}: {e}); {len(self._pending)} rows kept for retry"
                  + (f", {self.spilled} spilled to {self._spill_dir}" if self.spilled else ""), file=sys.stderr)

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
        if self._pending and self._spill_dir is not None:  # the store still fails: keep them for the next start
            rows, self._pending = self._pending, []
            await self._in_thread(self._spill, rows)
            print(f"triage: the ledger store is unavailable; {len(rows)} rows saved in {self._spill_dir} "
                  "and written at the next start", file=sys.stderr)
        await self._in_thread(self.store.close)
        self._thread.shutdown(wait=False)


class PartialWrite(Exception):
    """The store failed part way through a row-by-row write: ``remaining`` were not written."""

    def __init__(self, remaining: list[LedgerRecord]) -> None:
        super().__init__(f"{len(remaining)} rows not written")
        self.remaining = remaining


def _refused(store: LedgerStore, e: BaseException) -> bool:
    rejects = getattr(store, "rejects", None)
    return bool(rejects is not None and rejects(e))


def _json_line(obj: dict[str, Any]) -> bytes:
    try:
        return orjson.dumps(obj) + b"\n"
    except TypeError:  # an integer beyond 64 bits: the standard library writes any integer
        return json.dumps(obj, default=str).encode() + b"\n"


def _load_line(line: bytes) -> dict[str, Any]:
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError:
        return json.loads(line)  # what _json_line's fallback wrote (or a cut line: ValueError)


def _row_json(rec: LedgerRecord) -> bytes:
    return _json_line(dict(zip(COLUMNS, as_row(rec))))


def append_spill(path: Path, rows: list[LedgerRecord]) -> None:
    with path.open("ab") as f:
        f.write(b"".join(map(_row_json, rows)))
        f.flush()
        os.fsync(f.fileno())


def replay_spill_file(path: Path, store: LedgerStore, chunk: int = REPLAY_CHUNK,
                      reject: Callable[[LedgerRecord, BaseException], None] | None = None) -> int:
    """Write a spill file's rows to ``store`` and delete it; resumes after the last row a
    previous attempt wrote (``<file>.offset``). A line cut by a crash is skipped; a row the
    store refuses goes to ``reject`` (without one, the error is raised)."""
    mark = path.with_name(path.name + ".offset")
    offset = int(mark.read_text() or 0) if mark.exists() else 0
    fields = set(COLUMNS)
    n = 0
    with path.open("rb") as f:
        f.seek(offset)
        while lines := list(itertools.islice(f, chunk)):
            rows: list[tuple[LedgerRecord | None, int]] = []  # (row, its line's length)
            for line in lines:
                try:
                    d = _load_line(line)
                    rows.append((LedgerRecord(**{k: v for k, v in d.items() if k in fields}), len(line)))
                except (ValueError, TypeError):
                    print(f"triage: skipped an unreadable row in {path.name}", file=sys.stderr)
                    rows.append((None, len(line)))
            recs = [r for r, _ in rows if r is not None]
            try:
                if recs:
                    store.write_batch(recs)
                n += len(recs)
                offset += sum(length for _, length in rows)
            except Exception as e:
                if reject is None or not _refused(store, e):
                    raise
                for rec, length in rows:  # row by row, the offset kept after each one
                    if rec is not None:
                        try:
                            store.write_batch([rec])
                            n += 1
                        except Exception as e1:
                            if not _refused(store, e1):
                                mark.write_text(str(offset))
                                raise
                            reject(rec, e1)
                    offset += length
            mark.write_text(str(offset))
    path.unlink()
    mark.unlink(missing_ok=True)
    return n


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def claim_spill_files(spill_dir: Path) -> list[Path]:
    """Spill files of this process or of exited ones, renamed to this process, oldest first.
    A live worker's own file is left to it."""
    me = os.getpid()
    claimed = []
    for path in sorted(spill_dir.glob("ledger-*.jsonl"), key=lambda p: p.stat().st_mtime):
        parts = path.name.split(".")  # ledger-spill.<pid>.jsonl | ledger-replay.<pid>.<n>.jsonl
        if len(parts) < 3 or not parts[1].isdigit():
            continue
        owner = int(parts[1])
        if owner != me and _alive(owner):
            continue
        target = spill_dir / f"ledger-replay.{me}.{time.time_ns()}.jsonl"
        try:
            path.rename(target)
        except FileNotFoundError:  # another worker claimed it first
            continue
        mark = path.with_name(path.name + ".offset")
        if mark.exists():
            mark.rename(target.with_name(target.name + ".offset"))
        claimed.append(target)
    return claimed
