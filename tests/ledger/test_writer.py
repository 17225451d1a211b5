"""The batched ledger writer: record() never blocks the event loop, batches are flushed on
the interval and on close(), and a failing store keeps its rows for the next try."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from pathlib import Path
from typing import Any, Sequence

import pytest

from triage.ledger import LedgerRecord, LedgerWriter, open_store


def rec(i: int) -> LedgerRecord:
    return LedgerRecord(ts=time.time(), request_id=f"r{i}", surface="openai", status=200)


class FakeStore:
    """Records batches; can block, be slow, or fail a number of times."""

    def __init__(self, fail: int = 0, delay: float = 0.0, gate: threading.Event | None = None) -> None:
        self.batches: list[list[str]] = []
        self.fail = fail
        self.delay = delay
        self.gate = gate
        self.started = threading.Event()
        self.events: list[str] = []
        self.down = False  # fails every write while set (set and cleared by a test)

    def write_batch(self, records: Sequence[LedgerRecord]) -> None:
        self.started.set()
        if self.gate is not None:
            self.gate.wait(10)
        if self.delay:
            time.sleep(self.delay)
        if self.down or self.fail:
            self.fail = max(0, self.fail - 1)
            self.events.append("fail")
            raise OSError("database is locked")
        self.batches.append([r.request_id for r in records])
        self.events.append("write")

    def close(self) -> None:
        self.events.append("close")

    @property
    def ids(self) -> list[str]:
        return [i for b in self.batches for i in b]

    # unused parts of the protocol
    def summary(self, *a: Any) -> dict: ...  # type: ignore[empty-body]
    def grouped(self, *a: Any) -> list: ...  # type: ignore[empty-body]
    def recent(self, *a: Any) -> list: ...  # type: ignore[empty-body]
    def count(self) -> int: ...  # type: ignore[empty-body]


async def wait_for(cond: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.005)


def test_record_does_not_block_even_while_the_store_is_stuck() -> None:
    async def main() -> None:
        gate = threading.Event()
        store = FakeStore(gate=gate)
        w = LedgerWriter(store, flush_ms=5)  # type: ignore[arg-type]
        await w.start()
        w.record(rec(0))
        await asyncio.to_thread(store.started.wait, 5)  # a flush is now stuck inside the store
        t0 = time.perf_counter()
        for i in range(1, 1001):
            w.record(rec(i))
        assert time.perf_counter() - t0 < 0.5  # appends, no I/O
        # the event loop keeps running while the write is stuck in its thread
        t0 = time.perf_counter()
        await asyncio.sleep(0.02)
        assert time.perf_counter() - t0 < 1.0
        assert store.batches == []
        gate.set()
        await w.close()
        assert store.ids == [f"r{i}" for i in range(1001)]
        assert w.written == 1001

    asyncio.run(main())


def test_batches_flush_on_the_interval() -> None:
    async def main() -> None:
        store = FakeStore()
        w = LedgerWriter(store, flush_ms=20)  # type: ignore[arg-type]
        await w.start()
        for i in range(5):
            w.record(rec(i))
        await wait_for(lambda: len(store.ids) == 5)
        assert store.batches == [["r0", "r1", "r2", "r3", "r4"]]  # one batch, in order
        w.record(rec(5))
        await wait_for(lambda: len(store.ids) == 6)
        assert store.batches[-1] == ["r5"]
        assert "close" not in store.events
        await w.close()

    asyncio.run(main())


def test_nothing_is_written_before_the_interval() -> None:
    async def main() -> None:
        store = FakeStore()
        w = LedgerWriter(store, flush_ms=60_000)  # type: ignore[arg-type]
        await w.start()
        w.record(rec(0))
        await asyncio.sleep(0.05)
        assert store.batches == []
        await w.close()
        assert store.batches == [["r0"]]

    asyncio.run(main())


def test_close_flushes_what_is_left_then_closes_the_store() -> None:
    async def main() -> None:
        store = FakeStore()
        w = LedgerWriter(store, flush_ms=60_000)  # type: ignore[arg-type]
        await w.start()
        for i in range(3):
            w.record(rec(i))
        await w.close()
        assert store.ids == ["r0", "r1", "r2"]
        assert store.events == ["write", "close"]
        assert w.written == 3

    asyncio.run(main())


def test_close_waits_for_a_write_in_flight() -> None:
    """close() during a flush must not abandon it: the write finishes and is counted before
    the store is closed, and rows recorded meanwhile are flushed too."""

    async def main() -> None:
        store = FakeStore(delay=0.3)
        w = LedgerWriter(store, flush_ms=5)  # type: ignore[arg-type]
        await w.start()
        w.record(rec(0))
        await asyncio.to_thread(store.started.wait, 5)
        w.record(rec(1))
        await w.close()
        assert store.ids == ["r0", "r1"]
        assert store.events == ["write", "write", "close"]
        assert w.written == 2

    asyncio.run(main())


def test_a_failing_store_keeps_rows_for_retry(capsys: pytest.CaptureFixture[str]) -> None:
    async def main() -> None:
        store = FakeStore(fail=2)
        w = LedgerWriter(store, flush_ms=10)  # type: ignore[arg-type]
        await w.start()
        w.record(rec(0))
        w.record(rec(1))
        await wait_for(lambda: store.events.count("fail") >= 1)
        w.record(rec(2))  # arrives while the first rows wait for their retry
        await wait_for(lambda: len(store.ids) == 3)
        assert store.ids == ["r0", "r1", "r2"]  # each row once, in order
        assert w.failed_batches == 2
        assert w.written == 3
        await w.close()

    asyncio.run(main())
    err = capsys.readouterr().err
    assert "ledger write failed (OSError: database is locked)" in err
    assert "kept for retry" in err


def test_close_with_a_store_that_keeps_failing_does_not_hang(capsys: pytest.CaptureFixture[str]) -> None:
    async def main() -> None:
        store = FakeStore(fail=10**6)
        w = LedgerWriter(store, flush_ms=10)  # type: ignore[arg-type]
        await w.start()
        w.record(rec(0))
        await asyncio.wait_for(w.close(), 5)
        assert store.events[-1] == "close"

    asyncio.run(main())
    assert "kept for retry" in capsys.readouterr().err


def test_with_a_real_sqlite_store(tmp_path: Path) -> None:
    async def main() -> None:
        w = LedgerWriter(open_store(str(tmp_path / "ledger.db")), flush_ms=10)
        await w.start()
        for i in range(50):
            w.record(rec(i))
        await w.close()

    asyncio.run(main())
    s = open_store(str(tmp_path / "ledger.db"))
    try:
        assert s.count() == 50
        assert s.summary()["errors"] == 0
    finally:
        s.close()


def test_rows_beyond_max_pending_are_spilled_to_disk_and_written_back_in_order(tmp_path: Path) -> None:
    async def main() -> None:
        # the store fails until the test has seen the spill (a count of failures raced a loaded
        # machine: the store could recover and the spill be written back before the check)
        store = FakeStore()
        store.down = True
        w = LedgerWriter(store, flush_ms=10, spill_dir=tmp_path, max_pending=5)  # type: ignore[arg-type]
        await w.start()
        for i in range(12):
            w.record(rec(i))
        await wait_for(lambda: store.events.count("fail") >= 1)
        assert len(w._pending) <= 5  # bounded memory while the store fails
        assert list(tmp_path.glob("ledger-spill.*.jsonl"))
        for i in range(12, 15):
            w.record(rec(i))
        store.down = False  # the store is back
        await wait_for(lambda: len(store.ids) == 15)
        assert store.ids == [f"r{i}" for i in range(15)]  # each row once, oldest first
        assert w.spilled >= 7  # at least the first overflow; later failures may spill more
        assert not list(tmp_path.glob("ledger-*"))  # written back, file and progress mark gone
        await w.close()

    asyncio.run(main())


def test_close_with_a_failing_store_saves_rows_for_the_next_start(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    async def first() -> None:
        w = LedgerWriter(FakeStore(fail=10**6), flush_ms=10, spill_dir=tmp_path)  # type: ignore[arg-type]
        await w.start()
        for i in range(3):
            w.record(LedgerRecord(ts=1.0, request_id=f"r{i}", surface="anthropic", status=529, error_class="overloaded",
                                  stream=True, cost_usd=0.5, attempt_log='[{"model":"m"}]'))
        await asyncio.wait_for(w.close(), 5)

    asyncio.run(first())
    assert "3 rows saved" in capsys.readouterr().err

    async def second() -> None:  # the next start (here the same process: its own file is claimed too)
        w = LedgerWriter(open_store(str(tmp_path / "ledger.db")), flush_ms=10, spill_dir=tmp_path)
        await w.start()
        w.record(rec(3))
        await w.close()

    asyncio.run(second())
    s = open_store(str(tmp_path / "ledger.db"))
    try:
        rows = s.recent(10)
        assert sorted(r["request_id"] for r in rows) == ["r0", "r1", "r2", "r3"]
        r0 = next(r for r in rows if r["request_id"] == "r0")
        assert (r0["status"], r0["error_class"], r0["surface"], r0["cost_usd"]) == (529, "overloaded", "anthropic", 0.5)
    finally:
        s.close()
    assert not list(tmp_path.glob("ledger-*.jsonl"))


def test_a_live_workers_spill_file_is_left_to_it_and_a_cut_line_is_skipped(tmp_path: Path) -> None:
    from triage.ledger.writer import append_spill, claim_spill_files, replay_spill_file

    live = tmp_path / f"ledger-spill.{os.getppid()}.jsonl"  # the test runner's parent is alive
    append_spill(live, [rec(0)])
    dead = tmp_path / "ledger-spill.999999999.jsonl"
    append_spill(dead, [rec(1), rec(2)])
    with dead.open("ab") as f:
        f.write(b'{"ts": 1.0, "request_id": "r3", "surf')  # a crash mid-line
    claimed = claim_spill_files(tmp_path)
    assert len(claimed) == 1 and live.exists() and not dead.exists()
    store = FakeStore()
    assert replay_spill_file(claimed[0], store) == 2  # type: ignore[arg-type]
    assert store.ids == ["r1", "r2"] and not claimed[0].exists()


def test_replay_resumes_after_the_last_chunk_written(tmp_path: Path) -> None:
    from triage.ledger.writer import append_spill, replay_spill_file

    path = tmp_path / "ledger-spill.1.jsonl"
    append_spill(path, [rec(i) for i in range(5)])
    failing = FakeStore()
    real_write = failing.write_batch
    calls = []

    def write_twice_then_fail(records: Sequence[LedgerRecord]) -> None:
        calls.append(1)
        if len(calls) > 2:
            raise OSError("gone")
        real_write(records)

    failing.write_batch = write_twice_then_fail  # type: ignore[method-assign]
    with pytest.raises(OSError):
        replay_spill_file(path, failing, chunk=2)  # type: ignore[arg-type]
    assert failing.ids == ["r0", "r1", "r2", "r3"]
    store = FakeStore()
    replay_spill_file(path, store, chunk=2)  # type: ignore[arg-type]
    assert store.ids == ["r4"]  # only what the first attempt had not written


HUGE = 10**19  # a token count an upstream can send (JSON's u64): beyond SQLite's signed 64 bits


def test_a_row_the_store_refuses_is_set_aside_and_holds_nothing_back(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    async def main() -> LedgerWriter:
        w = LedgerWriter(open_store(str(tmp_path / "ledger.db")), flush_ms=10, spill_dir=tmp_path)
        await w.start()
        w.record(rec(0))
        w.record(LedgerRecord(ts=time.time(), request_id="poison", surface="openai", status=200, input_tokens=HUGE))
        w.record(rec(1))
        await wait_for(lambda: w.rejected == 1 and w.written == 2)
        w.record(rec(2))  # later rows are not stuck behind it
        await w.close()
        return w

    w = asyncio.run(main())
    assert w.written == 3 and w.failed_batches == 0
    s = open_store(str(tmp_path / "ledger.db"))
    try:
        assert sorted(r["request_id"] for r in s.recent(10)) == ["r0", "r1", "r2"]
    finally:
        s.close()
    (line,) = (tmp_path / "ledger-rejected.jsonl").read_text().splitlines()
    kept = json.loads(line)
    assert kept["row"]["request_id"] == "poison" and kept["row"]["input_tokens"] == HUGE
    assert "OverflowError" in kept["error"]
    assert "refused a row" in capsys.readouterr().err


def test_a_refused_row_in_a_spill_file_does_not_block_its_replay(tmp_path: Path) -> None:
    from triage.ledger.writer import append_spill, replay_spill_file

    path = tmp_path / "ledger-spill.1.jsonl"
    poison = LedgerRecord(ts=1.0, request_id="poison", surface="openai", input_tokens=HUGE)
    append_spill(path, [rec(0), poison, rec(1), rec(2)])  # the >64-bit integer is written too
    store = open_store(str(tmp_path / "ledger.db"))
    refused: list[str] = []
    try:
        n = replay_spill_file(path, store, chunk=3, reject=lambda r, e: refused.append(r.request_id))
        assert n == 3 and refused == ["poison"] and not path.exists()
        assert sorted(r["request_id"] for r in store.recent(10)) == ["r0", "r1", "r2"]
    finally:
        store.close()


class RefusingStore(FakeStore):
    """Refuses rows whose request id starts with "bad"; fails outright (unavailable) once
    ``down_after`` single-row writes have been made."""

    def __init__(self, down_after: int = 10**9) -> None:
        super().__init__()
        self.single_writes = 0
        self.down_after = down_after

    def write_batch(self, records: Sequence[LedgerRecord]) -> None:
        if len(records) == 1:
            self.single_writes += 1
            if self.single_writes > self.down_after:
                raise OSError("database is locked")
        if any(r.request_id.startswith("bad") for r in records):
            raise ValueError("refused")
        super().write_batch(records)

    def rejects(self, exc: BaseException) -> bool:
        return isinstance(exc, ValueError)


def test_a_store_failing_midway_through_the_row_by_row_write_loses_and_repeats_nothing(tmp_path: Path) -> None:
    async def main() -> None:
        store = RefusingStore(down_after=2)
        w = LedgerWriter(store, flush_ms=10, spill_dir=tmp_path)  # type: ignore[arg-type]
        await w.start()
        for rid in ("r0", "bad1", "r2", "r3"):
            w.record(LedgerRecord(ts=1.0, request_id=rid, surface="openai"))
        await wait_for(lambda: store.single_writes > 2)  # r0 written, bad1 refused, then the store went down
        store.down_after = 10**9  # back up
        await wait_for(lambda: len(store.ids) == 3)
        await w.close()
        assert store.ids == ["r0", "r2", "r3"] and w.rejected == 1

    asyncio.run(main())


def test_close_can_spill_a_row_with_an_integer_beyond_64_bits(tmp_path: Path) -> None:
    async def main() -> None:
        w = LedgerWriter(FakeStore(fail=10**6), flush_ms=10, spill_dir=tmp_path)  # type: ignore[arg-type]
        await w.start()
        w.record(LedgerRecord(ts=1.0, request_id="big", surface="openai", input_tokens=10**30))
        await asyncio.wait_for(w.close(), 5)

    asyncio.run(main())
    (spill,) = tmp_path.glob("ledger-spill.*.jsonl")
    assert str(10**30) in spill.read_text()

