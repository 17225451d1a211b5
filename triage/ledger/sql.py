"""SQL shared by the SQLite and Postgres stores (the dialects differ only in placeholders)."""

from __future__ import annotations

from triage.ledger.record import COLUMNS

TYPES = {
    "ts": "DOUBLE PRECISION NOT NULL", "request_id": "TEXT NOT NULL", "surface": "TEXT NOT NULL",
    "stream": "BOOLEAN NOT NULL", "cost_usd": "DOUBLE PRECISION NOT NULL", "baseline_cost_usd": "DOUBLE PRECISION NOT NULL",
    "ttfb_ms": "DOUBLE PRECISION", "latency_ms": "DOUBLE PRECISION",
}  # fmt: skip
INT_COLUMNS = {"input_tokens", "output_tokens", "cached_tokens", "cache_write_tokens", "reasoning_tokens", "status", "attempts"}

CREATE_TABLE = (
    "CREATE TABLE IF NOT EXISTS requests ("
    + ", ".join(f"{c} {TYPES.get(c, 'INTEGER NOT NULL' if c in INT_COLUMNS else 'TEXT')}" for c in COLUMNS)
    + ")"
)
CREATE_INDEXES = ("CREATE INDEX IF NOT EXISTS requests_ts ON requests (ts)",)

# Columns added after the first schema: a ledger created by an older version gets them on open.
ADDED_COLUMNS: tuple[tuple[str, str], ...] = (("attempt_log", "TEXT"),)

TOTALS = (
    "COUNT(*) AS requests, "
    "SUM(CASE WHEN status >= 400 OR status = 0 THEN 1 ELSE 0 END) AS errors, "
    "COALESCE(SUM(input_tokens), 0) AS input_tokens, COALESCE(SUM(output_tokens), 0) AS output_tokens, "
    "COALESCE(SUM(cached_tokens), 0) AS cached_tokens, COALESCE(SUM(reasoning_tokens), 0) AS reasoning_tokens, "
    "COALESCE(SUM(cost_usd), 0) AS cost_usd, COALESCE(SUM(baseline_cost_usd), 0) AS baseline_cost_usd, "
    "SUM(CASE WHEN attempts > 1 THEN 1 ELSE 0 END) AS fallbacks, AVG(latency_ms) AS avg_latency_ms"
)


def insert_sql(placeholder: str) -> str:
    return f"INSERT INTO requests ({', '.join(COLUMNS)}) VALUES ({', '.join([placeholder] * len(COLUMNS))})"


def where(since: float | None, until: float | None, placeholder: str) -> tuple[str, list[float]]:
    clauses, args = [], []
    if since is not None:
        clauses.append(f"ts >= {placeholder}")
        args.append(since)
    if until is not None:
        clauses.append(f"ts < {placeholder}")
        args.append(until)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", args


def finish_totals(row: dict) -> dict:
    """Savings from the sums; never negative because a baseline was cheaper on some rows."""
    # SUMs over no rows are NULL: they mean 0. A group's key stays None (requests without an
    # API key, errors before any model answered), and so does the average of no latencies.
    row = {k: (v if v is not None or k in ("key", "avg_latency_ms") else 0) for k, v in row.items()}
    row["cost_usd"] = round(float(row["cost_usd"]), 8)
    row["baseline_cost_usd"] = round(float(row["baseline_cost_usd"]), 8)
    saved = row["baseline_cost_usd"] - row["cost_usd"]
    row["saved_usd"] = round(max(0.0, saved), 8)
    row["savings_percent"] = round(100.0 * row["saved_usd"] / row["baseline_cost_usd"], 1) if row["baseline_cost_usd"] else 0.0
    if row.get("avg_latency_ms") is not None:
        row["avg_latency_ms"] = round(float(row["avg_latency_ms"]), 2)
    return row
