"""The soak (issue 5): steady load for minutes against an upstream that fails, cuts and stalls.

``python -m bench.soak --seconds 600`` starts the fake upstream with fault injection (5% of
requests answered 500/503/429, 1% of streams cut halfway, 5% slowed by 1 s) and the gateway
(routing and ledger on), sends a steady rate of mixed requests (non-streaming and streaming)
and classifies every outcome:

- answered: 200 with a complete body (JSON with choices, or a stream ending in ``[DONE]``);
- failed cleanly: an error in OpenAI's shape (non-2xx JSON ``{"error": {...}}``, or a stream
  that ends with an error event) -- the provider failed and the client was told properly;
- unhandled: anything else from the gateway itself -- 5xx without an OpenAI error body,
  a broken connection, a truncated stream without an error event, a timeout (must be 0).

It reports RSS at ready, after warm-up and at the end, ledger rows (``$TRIAGE_HOME/ledger.db``,
table ``requests``, read after a graceful SIGTERM) against requests sent, tracebacks in the
gateway's log and the upstream's own counters. Writes JSON; only 127.0.0.1 is targeted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sqlite3
import sys
import tempfile
import time

import aiohttp
import orjson

from bench import procs, wire
from bench.scenarios import Plan, RssSampler, Session, control, default_proxy_argv


class Tally:
    def __init__(self) -> None:
        self.sent = self.answered = self.failed_cleanly = self.unhandled = 0
        self.streams = 0
        self.unhandled_examples: list[str] = []
        self.statuses: dict[str, int] = {}

    def bad(self, why: str) -> None:
        self.unhandled += 1
        if len(self.unhandled_examples) < 20:
            self.unhandled_examples.append(why)


def _openai_error(body: bytes) -> bool:
    try:
        obj = orjson.loads(body)
    except orjson.JSONDecodeError:
        return False
    err = obj.get("error") if isinstance(obj, dict) else None
    return isinstance(err, dict) and isinstance(err.get("message"), str)


def classify_stream(status: int, data: bytes) -> str:
    """'answered' | 'failed_cleanly' | 'unhandled: ...' for one streamed response body."""
    if status != 200:
        return "failed_cleanly" if _openai_error(data) else f"unhandled: status {status} body {data[:80]!r}"
    events = [e for e in data.split(b"\n\n") if e.strip()]
    payloads = [line[5:].strip() for e in events for line in e.split(b"\n") if line.startswith(b"data:")]
    has_error = any(p.startswith(b"{") and _openai_error(p) for p in payloads)
    done = bool(payloads) and payloads[-1] == b"[DONE]"
    if has_error:
        return "failed_cleanly"
    if done:
        return "answered"
    return f"unhandled: stream ended without [DONE] or an error event after {len(payloads)} events"


def classify(status: int, data: bytes) -> str:
    if status == 200:
        try:
            ok = bool(orjson.loads(data).get("choices"))
        except (orjson.JSONDecodeError, AttributeError):
            ok = False
        return "answered" if ok else f"unhandled: 200 with body {data[:80]!r}"
    if _openai_error(data):
        return "failed_cleanly"
    return f"unhandled: status {status} body {data[:80]!r}"


async def _one(session: aiohttp.ClientSession, url: str, stream: bool, tally: Tally, timeout: float) -> None:
    body = wire.chat_request("auto", stream=stream)
    tally.sent += 1
    tally.streams += stream
    try:
        async with session.post(url, data=body, headers={"content-type": "application/json"},
                                timeout=aiohttp.ClientTimeout(total=timeout)) as r:
            data = await r.read()
            status = r.status
    except asyncio.TimeoutError:
        tally.bad("timeout")
        return
    except aiohttp.ClientError as e:
        tally.bad(f"connection: {type(e).__name__}: {e}"[:160])
        return
    tally.statuses[str(status)] = tally.statuses.get(str(status), 0) + 1
    outcome = classify_stream(status, data) if stream else classify(status, data)
    if outcome == "answered":
        tally.answered += 1
    elif outcome == "failed_cleanly":
        tally.failed_cleanly += 1
    else:
        tally.bad(outcome)


async def drive(url: str, seconds: float, rate: float, concurrency: int, stream_share: float,
                tally: Tally, on_tick=None, timeout: float = 30.0) -> None:
    """Open-loop at ``rate`` req/s (bounded by ``concurrency`` in flight) for ``seconds``."""
    rng = random.Random(7)
    sem = asyncio.Semaphore(concurrency)
    conn = aiohttp.TCPConnector(limit=concurrency)
    tasks: set[asyncio.Task] = set()
    start = time.perf_counter()
    async with aiohttp.ClientSession(connector=conn) as session:
        i = 0
        while (now := time.perf_counter() - start) < seconds:
            due = i / rate
            if due > now:
                await asyncio.sleep(due - now)
            await sem.acquire()
            t = asyncio.create_task(_one(session, url, rng.random() < stream_share, tally, timeout))
            t.add_done_callback(lambda _t: sem.release())
            tasks.add(t)
            t.add_done_callback(tasks.discard)
            i += 1
            if on_tick and i % max(1, int(rate)) == 0:
                on_tick(time.perf_counter() - start)
        if tasks:
            await asyncio.wait(tasks, timeout=timeout + 5)


def ledger_rows(home: str, table: str = "requests") -> int | None:
    path = os.path.join(home, "ledger.db")
    if not os.path.exists(path):
        return None
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10) as db:
        return db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


def run(a: argparse.Namespace, log=print) -> dict:
    work = tempfile.mkdtemp(prefix="triage-soak-")
    home = os.path.join(work, "home")
    os.makedirs(home)
    proxy_cpus, side_cpus = procs.plan_cores()
    tally = Tally()
    rss: dict[str, float] = {}
    series: list[tuple[float, float]] = []
    with procs.Launcher(work) as launcher:
        env = {"TRIAGE_HOME": home, "OPENAI_API_KEY": "sk-bench", "TRIAGE_OPENAI_BASE_URL": "{upstream}",
               "ANTHROPIC_API_KEY": "", "GEMINI_API_KEY": ""}
        if a.gateway_src:
            env["PYTHONPATH"] = os.path.abspath(a.gateway_src)
        argv = a.proxy_cmd or default_proxy_argv(a.workers, isolated=bool(a.gateway_src))
        s = Session(launcher, Plan(), loadgen="python", proxy_argv=argv, proxy_env=env,
                    health_path="/health", model="auto", translated_model="", home=home,
                    proxy_cpus=proxy_cpus, side_cpus=side_cpus, log=log)
        s.start_upstream()
        control(s.upstream_base, delay=a.delay, chunks=a.chunks, interval=a.interval, fail_rate=a.fail_rate,
                cut_rate=a.cut_rate, slow_rate=a.slow_rate, slow_delay=a.slow_delay, reset=True)
        gw = s.start_proxy()
        time.sleep(1)
        rss["ready_mb"] = round(procs.tree_rss_mb(gw.pid), 2)
        sampler = RssSampler(gw.pid, every=1.0)
        sampler.start()
        warm_at = min(60.0, a.seconds * 0.1)

        def tick(t: float) -> None:
            mb = procs.tree_rss_mb(gw.pid)
            if not series or t - series[-1][0] >= max(5.0, a.seconds / 60):
                series.append((round(t, 1), round(mb, 2)))
            if "after_warmup_mb" not in rss and t >= warm_at:
                rss["after_warmup_mb"] = round(mb, 2)
            if int(t) % 60 == 0:
                log(f"  {t:.0f}s: sent {tally.sent}, answered {tally.answered}, failed cleanly "
                    f"{tally.failed_cleanly}, unhandled {tally.unhandled}, rss {mb:.1f} MB")

        t0 = time.perf_counter()
        asyncio.run(drive(gw.url, a.seconds, a.rate, a.concurrency, a.stream_share, tally, tick))
        elapsed = time.perf_counter() - t0
        rss["end_mb"] = round(procs.tree_rss_mb(gw.pid), 2)
        rss["peak_mb"] = sampler.stop()
        with urllib_open(s.upstream_base + "/_stats") as st:
            upstream_stats = json.loads(st)
        exit_code = launcher.stop(s.proxy, grace=30)  # SIGTERM: the gateway flushes its ledger
        s.proxy = None
        log_text = open(os.path.join(work, "proxy.log"), errors="replace").read()
    base = rss.get("after_warmup_mb") or rss["ready_mb"]
    rows = None
    ledger_error = None
    try:
        rows = ledger_rows(home, a.ledger_table)
    except sqlite3.Error as e:
        ledger_error = str(e)
    return {
        "schema": "triage-soak/1", "seconds": round(elapsed, 1), "rate": a.rate, "concurrency": a.concurrency,
        "stream_share": a.stream_share,
        "faults": {"fail_rate": a.fail_rate, "cut_rate": a.cut_rate, "slow_rate": a.slow_rate,
                   "slow_delay_s": a.slow_delay},
        "requests_sent": tally.sent, "streams_sent": tally.streams, "answered": tally.answered,
        "failed_cleanly": tally.failed_cleanly, "unhandled": tally.unhandled,
        "unhandled_examples": tally.unhandled_examples, "statuses": tally.statuses,
        "rss": {**rss, "growth_after_warmup": round((rss["end_mb"] - base) / base, 4) if base else None,
                "series": series},
        "ledger": {"rows": rows, "requests_sent": tally.sent, "equal": rows == tally.sent, "error": ledger_error,
                   "path": os.path.join(home, "ledger.db")},
        "gateway": {"exit_code_on_sigterm": exit_code, "tracebacks_in_log": log_text.count("Traceback"),
                    "log": os.path.join(work, "proxy.log")},
        "upstream": upstream_stats,
    }


def urllib_open(url: str):
    import contextlib
    import urllib.request

    @contextlib.contextmanager
    def cm():
        with urllib.request.urlopen(url, timeout=10) as r:
            yield r.read()

    return cm()


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.soak", description="Soak the gateway against a faulty upstream.")
    p.add_argument("--seconds", type=float, default=600)
    p.add_argument("--rate", type=float, default=100, help="requests per second (open loop)")
    p.add_argument("--concurrency", type=int, default=64, help="most requests in flight")
    p.add_argument("--stream-share", type=float, default=0.3, help="share of requests that stream")
    p.add_argument("--delay", type=float, default=0.02, help="upstream latency, seconds")
    p.add_argument("--chunks", type=int, default=20)
    p.add_argument("--interval", type=float, default=0.005, help="seconds between stream events")
    p.add_argument("--fail-rate", type=float, default=0.05)
    p.add_argument("--cut-rate", type=float, default=0.01)
    p.add_argument("--slow-rate", type=float, default=0.05)
    p.add_argument("--slow-delay", type=float, default=1.0)
    p.add_argument("--proxy-cmd", help="as in python -m bench")
    p.add_argument("--workers", type=int)
    p.add_argument("--gateway-src", help="as in python -m bench")
    p.add_argument("--ledger-table", default="requests")
    p.add_argument("--out", default="artifacts/bench/soak.json")
    return p


def main(argv: list[str] | None = None) -> int:
    a = build_parser().parse_args(argv)
    try:
        result = run(a)
    except KeyboardInterrupt:
        print("soak: interrupted; everything it started was stopped", file=sys.stderr)
        return 130
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    with open(a.out, "w") as f:
        json.dump(result, f, indent=1)
    r = result
    print(f"soak {r['seconds']}s at {r['rate']} req/s: sent {r['requests_sent']} ({r['streams_sent']} streams), "
          f"answered {r['answered']}, failed cleanly {r['failed_cleanly']}, unhandled {r['unhandled']}")
    print(f"RSS ready {r['rss']['ready_mb']} MB, after warm-up {r['rss'].get('after_warmup_mb')} MB, "
          f"end {r['rss']['end_mb']} MB (growth {r['rss']['growth_after_warmup']}), peak {r['rss']['peak_mb']} MB")
    print(f"ledger rows {r['ledger']['rows']} vs requests {r['requests_sent']}; gateway exit on SIGTERM "
          f"{r['gateway']['exit_code_on_sigterm']}; tracebacks in log {r['gateway']['tracebacks_in_log']}")
    print(f"upstream saw {r['upstream']}")
    for ex in r["unhandled_examples"][:5]:
        print(f"  unhandled: {ex}")
    print(f"result: {a.out}")
    return 0 if r["unhandled"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
