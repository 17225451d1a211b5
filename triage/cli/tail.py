"""`triage tail`: watch routing decisions live, one line per finished request.

Polls the ledger store directly (works with several workers and with Postgres) or, with
``--url``, a running gateway's ``/v1/requests/recent``. A row is written when its request
finishes but stamped with its arrival time, so each poll reads the newest ``WINDOW`` rows by
arrival (not "rows after the last one printed", which would miss a slow request finishing
late) and prints the request ids it has not printed yet.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
import urllib.parse
import urllib.request
from typing import Any, Callable

from triage.ledger.queries import Filters
from triage.ledger.store import open_store

WINDOW = 500  # rows read per poll


def line(r: dict[str, Any]) -> str:
    t = dt.datetime.fromtimestamp(r["ts"]).strftime("%H:%M:%S")
    asked = r.get("requested_model") or "?"
    got = r.get("answered_model") or "-"
    fb = f" after {r['attempts'] - 1} fallback(s)" if (r.get("attempts") or 1) > 1 else ""
    saved = max(0.0, (r.get("baseline_cost_usd") or 0) - (r.get("cost_usd") or 0))
    status = f"{r['status']}" + (f" {r['error_class']}" if r.get("error_class") else "")
    lat = f"{r['latency_ms']:.0f}ms" if r.get("latency_ms") is not None else "-"
    parts = [t, f"{r.get('surface', '')}", f"{asked} -> {got}{fb}", f"[{r.get('provider') or '-'}]", r.get("task_type") or "-",
             f"{r.get('input_tokens', 0)}/{r.get('output_tokens', 0)} tok", f"${r.get('cost_usd') or 0:.5f}", f"saved ${saved:.5f}", lat, status]  # fmt: skip
    out = "  ".join(parts)
    if r.get("reason"):
        out += f"  — {r['reason']}"
    return out


def from_store(url: str, f: Filters) -> Callable[[int], list[dict[str, Any]]]:
    store = open_store(url)

    def fetch(limit: int) -> list[dict[str, Any]]:
        return store.recent_rows(limit, f)

    return fetch


def from_gateway(base: str, api_key: str | None, f: Filters) -> Callable[[int], list[dict[str, Any]]]:
    def fetch(limit: int) -> list[dict[str, Any]]:
        q = {"limit": limit, **{k: v for k, v in (("model", f.model), ("provider", f.provider), ("key", f.key)) if v}}
        req = urllib.request.Request(f"{base.rstrip('/')}/v1/requests/recent?{urllib.parse.urlencode(q)}",
                                     headers={"authorization": f"Bearer {api_key}"} if api_key else {})  # fmt: skip
        with urllib.request.urlopen(req, timeout=5) as r:  # noqa: S310 - the user's own gateway
            return json.loads(r.read())["requests"]

    return fetch


def follow(fetch: Callable[[int], list[dict[str, Any]]], emit: Callable[[dict[str, Any]], None], *, backlog: int,
           interval: float, once: bool) -> None:  # fmt: skip
    # The last `backlog` rows first, oldest to newest.
    rows = sorted(fetch(WINDOW), key=lambda r: r["ts"])
    for r in rows[-backlog:] if backlog else []:
        emit(r)
    # A row that left the window (newer rows pushed it out) never comes back into it, so the
    # ids of the current window are all that must be remembered.
    seen = {r["request_id"] for r in rows}
    while not once:
        time.sleep(interval)
        rows = sorted(fetch(WINDOW), key=lambda r: r["ts"])
        for r in rows:
            if r["request_id"] not in seen:
                emit(r)
        seen = {r["request_id"] for r in rows}


def run_tail(settings: Any, url: str | None, api_key: str | None, f: Filters, fmt: str, backlog: int, interval: float, once: bool) -> int:
    fetch = from_gateway(url, api_key, f) if url else from_store(settings.ledger_url, f)
    color = fmt == "text" and sys.stdout.isatty()

    def emit(r: dict[str, Any]) -> None:
        if fmt == "json":
            print(json.dumps(r), flush=True)
        elif color:
            bad = (r.get("status") or 0) >= 400
            print(("\x1b[31m" if bad else "") + line(r) + ("\x1b[0m" if bad else ""), flush=True)
        else:
            print(line(r), flush=True)

    if not once:  # to stderr: stdout stays the rows alone (json lines pipe cleanly)
        source = url or ("the Postgres ledger" if settings.ledger_url.startswith("postgres") else settings.ledger_url)
        print(f"triage tail: following {source}; Ctrl-C to stop", file=sys.stderr, flush=True)
    try:
        follow(fetch, emit, backlog=backlog, interval=interval, once=once)
    except KeyboardInterrupt:
        return 0
    return 0

