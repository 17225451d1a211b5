"""What the dashboard, ``triage tail`` and the MCP tools show, computed from the ledger store.

Pure functions of (settings, catalog, store, query parameters) -> JSON-ready dicts; they run
in a worker thread (the store is synchronous). The savings baseline is explained here, once,
for every surface that shows savings.
"""

from __future__ import annotations

import time
from typing import Any, Mapping

from triage.ledger.queries import Filters
from triage.routing.decide import pick_baseline

RANGES = {"1h": 3600, "24h": 86400, "7d": 7 * 86400, "30d": 30 * 86400, "90d": 90 * 86400, "all": None}
BUCKETS = {"5m": 300, "hour": 3600, "day": 86400, "week": 7 * 86400, "month": 30 * 86400}
AUTO_BUCKET = {"1h": "5m", "24h": "hour", "7d": "day", "30d": "day", "90d": "week", "all": "day"}
PERIODS = {"day": 86400, "daily": 86400, "week": 7 * 86400, "weekly": 7 * 86400, "month": 30 * 86400, "monthly": 30 * 86400, "all": None}


class BadQuery(ValueError):
    def __init__(self, param: str, message: str) -> None:
        super().__init__(message)
        self.param = param


def baseline_info(settings: Any, catalog: Any) -> dict[str, Any]:
    """Which model savings are measured against, why, and how."""
    chosen = settings.policy.baseline_model
    b = pick_baseline(catalog.models, settings.policy, list(settings.providers))
    if chosen:
        why = f"{chosen}, set as routing.baseline_model"
    elif b is not None:
        why = f"{b.name}, the most capable model among the configured providers (set routing.baseline_model to change it)"
    else:
        why = "none: no provider is configured (set routing.baseline_model to choose one)"
    return {
        "model": b.name if b else chosen,
        "configured": bool(chosen),
        "explanation": (
            f"Baseline: {why}. Savings = what the baseline would have cost for the same tokens "
            "(input, cached input and output including reasoning, each at its billed price) minus what was actually spent at "
            "the answering model's prices. A request that named its model explicitly is its own baseline (no savings). "
            "Totals are never shown below zero."
        ),
    }


def filters_from(q: Mapping[str, list[str]], span: int | None, now: float) -> Filters:
    def one(name: str) -> str | None:
        v = (q.get(name) or [""])[0].strip()
        return v or None

    return Filters(since=now - span if span else None, model=one("model"), provider=one("provider"), key=one("key"))


def _choice(q: Mapping[str, list[str]], name: str, allowed: Mapping[str, Any], default: str) -> str:
    v = (q.get(name) or [default])[0] or default
    if v not in allowed:
        raise BadQuery(name, f"{name} must be one of {', '.join(allowed)}")
    return v


def _int(q: Mapping[str, list[str]], name: str, default: int, lo: int, hi: int) -> int:
    raw = (q.get(name) or [str(default)])[0]
    try:
        v = int(raw)
    except ValueError:
        raise BadQuery(name, f"{name} must be an integer") from None
    if not lo <= v <= hi:
        raise BadQuery(name, f"{name} must be between {lo} and {hi}")
    return v


def public_row(r: dict[str, Any]) -> dict[str, Any]:
    r = dict(r)
    r["stream"] = bool(r.get("stream"))
    r["saved_usd"] = round(max(0.0, (r.get("baseline_cost_usd") or 0.0) - (r.get("cost_usd") or 0.0)), 8)
    return r


def fill_gaps(series: list[dict[str, Any]], step: int, offset: int, since: float | None, now: float, most: int = 400) -> list[dict[str, Any]]:
    """Zero rows for the empty buckets between the range's start (or first row) and now."""
    if not series and since is None:
        return []
    start_ts = since if since is not None else series[0]["bucket"]
    first = ((int(start_ts) + offset) // step) * step - offset
    last = ((int(now) + offset) // step) * step - offset
    if (last - first) // step >= most:
        return series
    have = {s["bucket"]: s for s in series}
    zero = {"requests": 0, "errors": 0, "fallbacks": 0, "cost_usd": 0.0, "baseline_cost_usd": 0.0, "saved_usd": 0.0, "input_tokens": 0, "output_tokens": 0}
    return [have.get(t, {"bucket": t, **zero}) for t in range(first, last + 1, step)]


def dashboard_data(settings: Any, catalog: Any, store: Any, q: Mapping[str, list[str]]) -> dict[str, Any]:
    """Everything one dashboard refresh needs, for one range and set of filters."""
    rng = _choice(q, "range", RANGES, "7d")
    bucket = _choice(q, "bucket", {"auto": 0, **BUCKETS}, "auto")
    if bucket == "auto":
        bucket = AUTO_BUCKET[rng]
    tz = _int(q, "tz", 0, -14 * 60, 14 * 60)  # minutes east of UTC, so days start at local midnight
    limit = _int(q, "limit", 25, 1, 200)
    now = time.time()
    f = filters_from(q, RANGES[rng], now)
    step = BUCKETS[bucket]
    offset = tz * 60 if step >= 86400 else 0
    series = fill_gaps(store.timeseries(step, f, offset_s=offset), step, offset, f.since, now)
    keep = ("requests", "errors", "fallbacks", "cost_usd", "baseline_cost_usd", "saved_usd", "input_tokens", "output_tokens")
    groups = {by: store.totals_by(by, f) for by in ("model", "provider", "task")}
    return {
        "generated_at": now,
        "range": rng,
        "bucket": bucket,
        "bucket_s": step,
        "since": f.since,
        "filters": {"model": f.model, "provider": f.provider, "key": f.key},
        "options": store.distinct_values(),
        "baseline": baseline_info(settings, catalog),
        "totals": store.totals(f),
        "series": [{"t": s["bucket"], **{k: s[k] for k in keep}} for s in series],
        "by_model": groups["model"],
        "by_provider": groups["provider"],
        "by_task": groups["task"],
        "latency": store.latency_by_model(f),
        "recent": [public_row(r) for r in store.recent_rows(limit, f, with_prompt=settings.store_prompts)],
        "prompts_stored": settings.store_prompts,
    }


def recent(settings: Any, store: Any, q: Mapping[str, list[str]]) -> dict[str, Any]:
    """Rows for ``triage tail`` and ``recent_requests``: newest first, or newer than ``after``."""
    limit = _int(q, "limit", 20, 1, 1000)
    after_raw = (q.get("after") or [""])[0]
    try:
        after = float(after_raw) if after_raw else None
    except ValueError:
        raise BadQuery("after", "after must be a unix time") from None
    f = filters_from(q, None, time.time())
    rows = store.recent_rows(limit, f, after=after, with_prompt=settings.store_prompts)
    return {"requests": [public_row(r) for r in rows]}


def stats(settings: Any, catalog: Any, store: Any, period: str, by: str | None) -> dict[str, Any]:
    """Totals for a period, optionally grouped (model, provider, task, key, surface)."""
    if period not in PERIODS:
        raise BadQuery("period", f"period must be one of {', '.join(PERIODS)}")
    if by is not None and by not in ("model", "provider", "task", "key", "surface"):
        raise BadQuery("by", "by must be one of model, provider, task, key, surface")
    span = PERIODS[period]
    f = Filters(since=time.time() - span if span else None)
    out: dict[str, Any] = {"period": period, "since": f.since, "baseline": baseline_info(settings, catalog), "totals": store.totals(f)}
    if by:
        out["by"] = by
        out["groups"] = store.totals_by(by, f)
    return out
