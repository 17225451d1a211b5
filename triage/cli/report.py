"""`triage report`: spend and savings per period and group, as a table, JSON or CSV.

A rich table when stdout is a terminal; plain aligned text when ``--format table`` is piped
(no ANSI codes), and clean JSON / CSV on stdout with nothing else there. The baseline that
savings are measured against is named in every format.
"""

from __future__ import annotations

import csv
import json
import sys
import time
from typing import Any, TextIO

from triage.catalog.model import load_catalog
from triage.config.settings import Settings
from triage.ledger.queries import Filters
from triage.ledger.store import open_store
from triage.observe.views import baseline_info

PERIOD_SECONDS = {"daily": 86400, "weekly": 7 * 86400, "monthly": 30 * 86400, "all": None}
COLUMNS = ["key", "requests", "errors", "fallbacks", "input_tokens", "output_tokens", "cached_tokens", "reasoning_tokens",
           "cost_usd", "baseline_cost_usd", "saved_usd", "savings_percent"]  # fmt: skip
PERIOD_WORDS = {"daily": "last 24 hours", "weekly": "last 7 days", "monthly": "last 30 days", "all": "all time"}


def build_report(settings: Settings, period: str, by: str, now: float | None = None) -> dict[str, Any]:
    span = PERIOD_SECONDS[period]
    since = (now or time.time()) - span if span else None
    store = open_store(settings.ledger_url)
    catalog = load_catalog(settings.home).with_overrides(settings.model_overrides)
    try:
        f = Filters(since=since)
        return {"period": period, "since": since, "by": by, "baseline": baseline_info(settings, catalog),
                "totals": store.totals(f), "groups": store.totals_by(by, f)}  # fmt: skip
    finally:
        store.close()


def write_csv(rep: dict[str, Any], out: TextIO) -> None:
    w = csv.writer(out, lineterminator="\n")
    w.writerow(COLUMNS)
    for g in rep["groups"]:
        w.writerow([g.get(c) if c != "key" else (g["key"] if g["key"] is not None else "") for c in COLUMNS])
    w.writerow(["TOTAL"] + [rep["totals"].get(c) for c in COLUMNS[1:]])


def _cells(g: dict[str, Any]) -> list[str]:
    return [str(g["key"] if g.get("key") is not None else "-"), f"{g['requests']:,}", f"{g['errors']:,}", f"{g['fallbacks']:,}",
            f"{g['input_tokens']:,}", f"{g['output_tokens']:,}", f"${g['cost_usd']:.4f}", f"${g['baseline_cost_usd']:.4f}",
            f"${g['saved_usd']:.4f}", f"{g['savings_percent']:.1f}%"]  # fmt: skip


HEAD = ["requests", "errors", "fallbacks", "in tokens", "out tokens", "spent", "baseline", "saved", "saved %"]


def write_plain(rep: dict[str, Any], out: TextIO) -> None:
    rows = [[rep["by"], *HEAD]] + [_cells(g) for g in rep["groups"]] + [_cells({**rep["totals"], "key": "TOTAL"})]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    t = rep["totals"]
    print(f"Triage report, {PERIOD_WORDS[rep['period']]}, by {rep['by']}: spent ${t['cost_usd']:.4f}, saved ${t['saved_usd']:.4f} "
          f"({t['savings_percent']:.1f}%) against {rep['baseline']['model'] or 'no baseline'}", file=out)  # fmt: skip
    for r in rows:
        print("  ".join(c.ljust(widths[0]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(r)).rstrip(), file=out)
    print(rep["baseline"]["explanation"], file=out)


def write_rich(rep: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    t = rep["totals"]
    table = Table(title=f"Triage report — {PERIOD_WORDS[rep['period']]}, by {rep['by']}", title_justify="left", header_style="bold")
    table.add_column(rep["by"])
    for h in HEAD:
        table.add_column(h, justify="right", style="green" if h.startswith("saved") else None)
    for g in rep["groups"]:
        table.add_row(*_cells(g))
    table.add_section()
    table.add_row(*_cells({**t, "key": "TOTAL"}), style="bold")
    console = Console()
    console.print(table)
    console.print(f"Saved [bold green]${t['saved_usd']:.4f}[/] ({t['savings_percent']:.1f}%) of ${t['baseline_cost_usd']:.4f}.")
    console.print(rep["baseline"]["explanation"], style="dim")


def run_report(settings: Settings, period: str, by: str, fmt: str) -> int:
    rep = build_report(settings, period, by)
    if fmt == "json":
        print(json.dumps(rep, indent=2))
    elif fmt == "csv":
        write_csv(rep, sys.stdout)
    elif sys.stdout.isatty():
        write_rich(rep)
    else:
        write_plain(rep, sys.stdout)
    return 0
