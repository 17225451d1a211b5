"""`triage report`: spend and savings per period and group, as a table, JSON or CSV."""

from __future__ import annotations

import csv
import json
import sys
import time
from typing import Any

from triage.config.settings import Settings
from triage.ledger.store import open_store

PERIOD_SECONDS = {"daily": 86400, "weekly": 7 * 86400, "monthly": 30 * 86400, "all": None}


def build_report(settings: Settings, period: str, by: str) -> dict[str, Any]:
    span = PERIOD_SECONDS[period]
    since = time.time() - span if span else None
    store = open_store(settings.ledger_url)
    try:
        return {"period": period, "since": since, "by": by, "totals": store.summary(since), "groups": store.grouped(by, since)}
    finally:
        store.close()


def run_report(settings: Settings, period: str, by: str, fmt: str) -> int:
    rep = build_report(settings, period, by)
    if fmt == "json":
        print(json.dumps(rep, indent=2))
        return 0
    cols = ["key", "requests", "errors", "input_tokens", "output_tokens", "cost_usd", "baseline_cost_usd", "saved_usd", "savings_percent"]
    if fmt == "csv":
        w = csv.writer(sys.stdout)
        w.writerow(cols)
        for g in rep["groups"]:
            w.writerow([g.get(c) for c in cols])
        t = rep["totals"]
        w.writerow(["TOTAL"] + [t.get(c) for c in cols[1:]])
        return 0
    t = rep["totals"]
    print(f"{period} report by {by}: {t['requests']} requests, spent ${t['cost_usd']:.4f}, "
          f"baseline ${t['baseline_cost_usd']:.4f}, saved ${t['saved_usd']:.4f} ({t['savings_percent']}%)")  # fmt: skip
    print(f"{by:26} {'requests':>8} {'errors':>6} {'in tok':>10} {'out tok':>10} {'cost $':>10} {'baseline $':>11} {'saved %':>8}")
    for g in rep["groups"]:
        print(f"{str(g['key'] or '-'):26} {g['requests']:>8} {g['errors']:>6} {g['input_tokens']:>10} {g['output_tokens']:>10} "
              f"{g['cost_usd']:>10.4f} {g['baseline_cost_usd']:>11.4f} {g['savings_percent']:>8}")  # fmt: skip
    return 0
