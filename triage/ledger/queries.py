"""Named read queries (stats, reports, the dashboard, the MCP tools, ``triage tail``), shared by both stores.

A mixin: the SQLite and Postgres stores inherit it and provide ``_query(sql, args)``,
``_ph`` (their placeholder) and ``_int_ts`` (an SQL expression flooring ``ts`` to whole
seconds in their dialect). Every query takes the same optional ``Filters`` (time range,
model, provider, API key id), so handlers never build SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from triage.ledger import sql
from triage.ledger.store import GROUPS

# Columns of a row shown to people: never the prompt (that is opt-in and read separately).
RECENT_COLUMNS = (
    "ts", "request_id", "surface", "requested_model", "chosen_model", "answered_model", "provider", "task_type", "reason",
    "stream", "input_tokens", "output_tokens", "cached_tokens", "reasoning_tokens", "cost_usd", "baseline_model",
    "baseline_cost_usd", "ttfb_ms", "latency_ms", "status", "error_class", "attempts", "api_key_id",
)  # fmt: skip

# Rows read to compute latency percentiles (the most recent ones win past this).
LATENCY_SAMPLE = 50_000


@dataclass(frozen=True, slots=True)
class Filters:
    since: float | None = None
    until: float | None = None
    model: str | None = None  # the model that answered
    provider: str | None = None
    key: str | None = None  # api_key_id (a hash, never the key)

    def where(self, ph: str) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        args: list[Any] = []
        for clause, value in (("ts >= {}", self.since), ("ts < {}", self.until), ("answered_model = {}", self.model),
                              ("provider = {}", self.provider), ("api_key_id = {}", self.key)):  # fmt: skip
            if value is not None and value != "":
                clauses.append(clause.format(ph))
                args.append(value)
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", args


def percentile(sorted_values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile of already sorted values (q in [0, 100])."""
    if not sorted_values:
        return None
    k = max(0, min(len(sorted_values) - 1, int(-(-q * len(sorted_values) // 100)) - 1))
    return round(float(sorted_values[k]), 2)


class ObserveQueries:
    _ph: str = "?"
    _int_ts: str = "CAST(ts AS INTEGER)"

    def _query(self, q: str, args: Sequence[Any] = ()) -> list[dict[str, Any]]:  # provided by the store
        raise NotImplementedError

    def summary(self, since: float | None = None, until: float | None = None) -> dict[str, Any]:
        w, args = sql.where(since, until, self._ph)
        return sql.finish_totals(self._query(f"SELECT {sql.TOTALS} FROM requests{w}", args)[0])

    def grouped(self, by: str, since: float | None = None, until: float | None = None) -> list[dict[str, Any]]:
        col = GROUPS[by]
        w, args = sql.where(since, until, self._ph)
        rows = self._query(f"SELECT {col} AS key, {sql.TOTALS} FROM requests{w} GROUP BY {col} ORDER BY cost_usd DESC", args)
        return [sql.finish_totals(r) for r in rows]

    def _rows(self, q: str, args: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Whole rows, typed alike on every store (SQLite keeps booleans as 0/1)."""
        rows = self._query(q, args)
        for r in rows:
            if "stream" in r:
                r["stream"] = bool(r["stream"])
        return rows

    def recent(self, limit: int = 50) -> list[dict[str, Any]]:
        return self._rows(f"SELECT * FROM requests ORDER BY ts DESC LIMIT {self._ph}", (int(limit),))

    def count(self) -> int:
        return int(self._query("SELECT COUNT(*) AS n FROM requests")[0]["n"])

    def totals(self, f: Filters = Filters()) -> dict[str, Any]:
        """``summary`` with every filter (time, model, provider, key)."""
        w, args = f.where(self._ph)
        return sql.finish_totals(self._query(f"SELECT {sql.TOTALS} FROM requests{w}", args)[0])

    def totals_by(self, by: str, f: Filters = Filters()) -> list[dict[str, Any]]:
        """``grouped`` with every filter; ``by`` is one of model, provider, task, key, surface."""
        col = GROUPS[by]
        w, args = f.where(self._ph)
        rows = self._query(f"SELECT {col} AS key, {sql.TOTALS} FROM requests{w} GROUP BY {col} ORDER BY cost_usd DESC, requests DESC", args)
        return [sql.finish_totals(r) for r in rows]

    def timeseries(self, bucket_s: int, f: Filters = Filters(), offset_s: int = 0) -> list[dict[str, Any]]:
        """Totals per time bucket of ``bucket_s`` seconds (aligned to local time by ``offset_s``)."""
        b, off = int(bucket_s), int(offset_s)
        w, args = f.where(self._ph)
        start = f"((({self._int_ts} + {off}) / {b}) * {b} - {off})"
        rows = self._query(f"SELECT {start} AS bucket, {sql.TOTALS} FROM requests{w} GROUP BY {start} ORDER BY bucket", args)
        out = []
        for r in rows:
            r = sql.finish_totals(r)
            r["bucket"] = int(r["bucket"])
            out.append(r)
        return out

    def latency_by_model(self, f: Filters = Filters()) -> list[dict[str, Any]]:
        """p50 / p90 / p99 of total latency and time to first byte, per answering model."""
        w, args = f.where(self._ph)
        w = (w + " AND " if w else " WHERE ") + "answered_model IS NOT NULL AND latency_ms IS NOT NULL"
        rows = self._query(f"SELECT answered_model, latency_ms, ttfb_ms FROM requests{w} ORDER BY ts DESC LIMIT {LATENCY_SAMPLE}", args)
        per: dict[str, tuple[list[float], list[float]]] = {}
        for r in rows:
            lat, ttfb = per.setdefault(r["answered_model"], ([], []))
            lat.append(float(r["latency_ms"]))
            if r["ttfb_ms"] is not None:
                ttfb.append(float(r["ttfb_ms"]))
        out = []
        for model, (lat, ttfb) in per.items():
            lat.sort()
            ttfb.sort()
            out.append({"model": model, "requests": len(lat), "p50_ms": percentile(lat, 50), "p90_ms": percentile(lat, 90),
                        "p99_ms": percentile(lat, 99), "ttfb_p50_ms": percentile(ttfb, 50), "ttfb_p90_ms": percentile(ttfb, 90)})  # fmt: skip
        out.sort(key=lambda r: -r["requests"])
        return out

    def recent_rows(self, limit: int = 50, f: Filters = Filters(), after: float | None = None, with_prompt: bool = False) -> list[dict[str, Any]]:
        """The newest rows first (or, with ``after``, the rows newer than that time, oldest first)."""
        cols = ", ".join(RECENT_COLUMNS + (("prompt",) if with_prompt else ()))
        w, args = f.where(self._ph)
        limit = max(1, min(int(limit), 1000))
        if after is not None:
            w = (w + " AND " if w else " WHERE ") + f"ts > {self._ph}"
            return self._rows(f"SELECT {cols} FROM requests{w} ORDER BY ts ASC LIMIT {limit}", [*args, after])
        return self._rows(f"SELECT {cols} FROM requests{w} ORDER BY ts DESC LIMIT {limit}", args)

    def distinct_values(self, since: float | None = None) -> dict[str, list[str]]:
        """The values the dashboard's filters offer: models, providers, API key ids."""
        w, args = Filters(since=since).where(self._ph)
        out = {}
        for name, col in (("models", "answered_model"), ("providers", "provider"), ("keys", "api_key_id")):
            cond = (w + " AND " if w else " WHERE ") + f"{col} IS NOT NULL"
            rows = self._query(f"SELECT DISTINCT {col} AS v FROM requests{cond} ORDER BY v LIMIT 200", args)
            out[name] = [r["v"] for r in rows]
        return out
