"""`triage pricing update --from FILE|URL`: refresh catalog prices from LiteLLM's price table.

Reads LiteLLM's ``model_prices_and_context_window.json`` format (per-token USD prices), shows
what would change for every catalog model, and writes the updated catalog to
``$TRIAGE_HOME/catalog.json`` (which ``load_catalog`` prefers), never into the installed
package. Capability scores and routing data are kept; only prices, context windows and
capability flags the table states are taken. A download shows a progress bar on stderr.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sys
import urllib.request
from importlib import resources
from pathlib import Path
from typing import Any

# catalog field -> (LiteLLM field, scale): per-token USD becomes USD per 1M tokens.
PRICE_FIELDS = {
    "input_per_mtok": ("input_cost_per_token", 1e6),
    "output_per_mtok": ("output_cost_per_token", 1e6),
    "cached_input_per_mtok": ("cache_read_input_token_cost", 1e6),
    "cache_write_per_mtok": ("cache_creation_input_token_cost", 1e6),
    "context_window": ("max_input_tokens", 1),
    "max_output_tokens": ("max_output_tokens", 1),
}
PROVIDER_PREFIX = {"gemini": "gemini/", "anthropic": "", "openai": ""}


def fetch_table(source: str, progress: bool) -> bytes:
    if not source.startswith(("http://", "https://")):
        return Path(source).expanduser().read_bytes()
    req = urllib.request.Request(source, headers={"user-agent": "triage-pricing-update"})
    with urllib.request.urlopen(req, timeout=60) as r:  # noqa: S310 - a URL the user gave
        total = int(r.headers.get("content-length") or 0) or None
        chunks: list[bytes] = []
        if not progress:
            return r.read()
        from rich.console import Console
        from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

        with Progress("[progress.description]{task.description}", BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                      console=Console(stderr=True), transient=True) as bar:  # fmt: skip
            task = bar.add_task("downloading prices", total=total)
            while chunk := r.read(64 * 1024):
                chunks.append(chunk)
                bar.advance(task, len(chunk))
        return b"".join(chunks)


def lookup(table: dict[str, Any], model: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    names = [model.get("upstream_name"), model["name"]]
    prefix = PROVIDER_PREFIX.get(model["provider"], model["provider"] + "/")
    for n in [x for x in names if x]:
        for key in (prefix + n, n, f"{model['provider']}/{n}"):
            if isinstance(table.get(key), dict):
                return key, table[key]
    return None


def plan_update(catalog: dict[str, Any], table: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]], list[str]]:
    """(new catalog, changes [{model, field, old, new}], catalog models the table lacks)."""
    new = json.loads(json.dumps(catalog))
    changes: list[dict[str, Any]] = []
    missing: list[str] = []
    for m in new["models"]:
        hit = lookup(table, m)
        if hit is None:
            missing.append(m["name"])
            continue
        key, row = hit
        for field, (src, scale) in PRICE_FIELDS.items():
            if row.get(src) is None:
                continue
            value = round(float(row[src]) * scale, 6) if scale != 1 else int(row[src])
            if field in ("cached_input_per_mtok", "cache_write_per_mtok") and value == 0:
                value = None
            if m.get(field) != value:
                changes.append({"model": m["name"], "source_key": key, "field": field, "old": m.get(field), "new": value})
                m[field] = value
    return new, changes, missing


def base_catalog(home: Path) -> dict[str, Any]:
    user = home / "catalog.json"
    if user.is_file():
        return json.loads(user.read_text())
    return json.loads(resources.files("triage").joinpath("data/catalog.json").read_text())


def show(changes: list[dict[str, Any]], missing: list[str], tty: bool) -> None:
    """The diff on stdout (a rich table on a terminal); notes on stderr."""
    if not changes:
        print("prices: no change for any catalog model", file=sys.stderr)
    elif tty:
        from rich.console import Console
        from rich.table import Table

        t = Table(title="Catalog changes", title_justify="left")
        for c in ("model", "field", "old", "new"):
            t.add_column(c, justify="right" if c in ("old", "new") else "left")
        for c in changes:
            t.add_row(c["model"], c["field"], str(c["old"]), f"[bold]{c['new']}[/]")
        Console().print(t)
    else:
        for c in changes:
            print(f"{c['model']}: {c['field']} {c['old']} -> {c['new']}")
    if missing:
        print(f"not in the price table (kept as they are): {', '.join(missing)}", file=sys.stderr)


def run_update(home: Path, source: str, dry_run: bool, fmt: str) -> int:
    tty = sys.stderr.isatty()
    try:
        raw = fetch_table(source, progress=tty)
        table = json.loads(raw)
    except (OSError, ValueError) as e:
        print(f"triage: cannot read the price table {source}: {e}", file=sys.stderr)
        return 2
    if not isinstance(table, dict):
        print(f"triage: {source} is not a LiteLLM price table (expected a JSON object of models)", file=sys.stderr)
        return 2
    new, changes, missing = plan_update(base_catalog(home), table)
    target = home / "catalog.json"
    if not dry_run:
        new["updated"] = dt.date.today().isoformat()
        prov = dict(new.get("provenance") or {})
        prov["prices"] = {"file": source.rsplit("/", 1)[-1], "source": source, "sha256": hashlib.sha256(raw).hexdigest(), "licence": "MIT (LiteLLM)"}
        new["provenance"] = prov
        home.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(new, indent=1) + "\n")
        tmp.replace(target)
    if fmt == "json":
        print(json.dumps({"changes": changes, "missing": missing, "written": None if dry_run else str(target)}, indent=2))
    else:
        show(changes, missing, sys.stdout.isatty())
        print(("would write " if dry_run else "wrote ") + str(target), file=sys.stderr)
    return 0
