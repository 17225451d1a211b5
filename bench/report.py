"""The benchmark's result: headline rows from the measured points, the JSON schema, the table.

``summarize(points)`` flattens the points into rows (metric, gateway, direct, added, goal,
spread); ``validate(result)`` checks a result dict against the schema (so a consumer can rely
on it); ``table(result)`` renders the rows as plain text for a terminal or a README.
"""

from __future__ import annotations

SCHEMA = "triage-bench/1"
REQUIRED = {"schema": str, "mode": str, "commit": (str, type(None)), "started_at": str,
            "elapsed_s": (int, float), "machine": dict, "config": dict, "points": dict, "summary": list}
ROW_KEYS = ("metric", "unit", "gateway", "direct", "added", "goal", "spread")

# (metric, unit, path to point, field, goal text, how "added" is computed: "diff" | "ratio" | None)
_ROWS = [
    ("latency p50, c=1", "ms", ("latency_c1",), "p50_ms", "added ≤ 0.5", "diff"),
    ("latency p90, c=1", "ms", ("latency_c1",), "p90_ms", "", "diff"),
    ("latency p99, c=1", "ms", ("latency_c1",), "p99_ms", "added ≤ 2", "diff"),
    ("throughput, c=32", "req/s", ("throughput_c32",), "ok_rps", "≥ 3000", "ratio"),
    ("errors, c=32", "count", ("throughput_c32",), "errors", "0", None),
    ("CPU per request, c=32", "ms", ("throughput_c32",), "cpu_ms_per_request", "≤ 0.3", None),
    ("throughput, c=128", "req/s", ("throughput_c128",), "ok_rps", "", "ratio"),
    ("errors, c=128", "count", ("throughput_c128",), "errors", "0", None),
    ("CPU per request, c=128", "ms", ("throughput_c128",), "cpu_ms_per_request", "≤ 0.3", None),
    ("200 ms upstream c=256", "req/s", ("slow_upstream_c256",), "ok_rps", "≥ 1242 (97% of 1280)", "ratio"),
    ("200 ms upstream c=256 p99", "ms", ("slow_upstream_c256",), "p99_ms", "≤ 215", "diff"),
    ("200 ms upstream c=256 errors", "count", ("slow_upstream_c256",), "errors", "0", None),
    ("200 ms upstream c=256, one burst", "req/s", ("slow_upstream_c256_burst",), "ok_rps", "", "ratio"),
    ("200 ms upstream c=256, one burst p99", "ms", ("slow_upstream_c256_burst",), "p99_ms", "", "diff"),
    ("stream TTFB p50, pass-through", "ms", ("stream_passthrough", "ttfb"), "ttfb_p50_ms", "added ≤ 1", "diff"),
    ("stream TTFB p99, pass-through", "ms", ("stream_passthrough", "ttfb"), "ttfb_p99_ms", "", "diff"),
    ("CPU per chunk, pass-through", "µs", ("stream_passthrough", "cpu"), "cpu_us_per_event", "≤ 20", None),
    ("stream TTFB p50, translated", "ms", ("stream_translated", "ttfb"), "ttfb_p50_ms", "added ≤ 1", "diff"),
    ("stream TTFB p99, translated", "ms", ("stream_translated", "ttfb"), "ttfb_p99_ms", "", "diff"),
    ("CPU per chunk, translated", "µs", ("stream_translated", "cpu"), "cpu_us_per_event", "≤ 40", None),
]


def _get(points: dict, path: tuple[str, ...]) -> dict | None:
    node = points
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node if isinstance(node, dict) and "not_measured" not in node else None


def _round(v):
    if isinstance(v, float):
        return round(v, 4 if abs(v) < 10 else 1)
    return v


def marginal_chunk_us(stream_point: dict | None, request_cpu_ms: float | None) -> float | None:
    """(CPU per stream - CPU per non-streaming request) / events per stream, in µs.

    "CPU per chunk" all-in also carries each stream's fixed cost (routing, ledger, headers)
    spread over its ~54 events; this is the part that grows with the number of chunks.
    """
    g = (stream_point or {}).get("gateway") or {}
    per_stream, events, requests = g.get("cpu_ms_per_request"), g.get("events"), g.get("requests")
    if per_stream is None or request_cpu_ms is None or not events or not requests:
        return None
    return (per_stream - request_cpu_ms) * 1000 / (events / requests)


def summarize(points: dict) -> list[dict]:
    rows = []
    for metric, unit, path, fld, goal, how in _ROWS:
        node = _get(points, path)
        g = d = added = sp = None
        if node:
            g = (node.get("gateway") or {}).get(fld)
            d = (node.get("direct") or {}).get(fld)
            sp = (node.get("spread") or {}).get(fld)
            if how == "diff" and g is not None and d is not None:
                added = g - d
            elif how == "ratio" and g is not None and d:
                added = f"{g / d:.1%} of direct"
        rows.append({"metric": metric, "unit": unit, "gateway": _round(g), "direct": _round(d),
                     "added": _round(added), "goal": goal, "spread": sp})
    base = (_get(points, ("throughput_c32",)) or {}).get("gateway", {}).get("cpu_ms_per_request")
    for label, key in (("pass-through", "stream_passthrough"), ("translated", "stream_translated")):
        rows.append({"metric": f"CPU per chunk beyond a request's fixed cost, {label}", "unit": "µs",
                     "gateway": _round(marginal_chunk_us(_get(points, (key, "cpu")), base)), "direct": None,
                     "added": None, "goal": "", "spread": None})
    extra = points.get("process") or {}
    for metric, unit, key, goal in (("idle RSS (tree)", "MB", "idle_rss_mb", "≤ 60"),
                                    ("peak RSS (tree)", "MB", "peak_rss_mb", ""),
                                    ("start to ready", "s", "start_to_ready_s", "≤ 1")):
        side = extra.get(key) or {}
        rows.append({"metric": metric, "unit": unit, "gateway": _round(side.get("gateway")),
                     "direct": _round(side.get("direct")), "added": None, "goal": goal, "spread": None})
    scaling = _get(points, ("workers_scaling",)) or {}
    for key, goal in (("one", ""), ("many", "scales with cores")):
        side = scaling.get(key) or {}
        n = side.get("workers")
        rows.append({"metric": f"throughput c=64, {n or 'N'} worker(s) on {len(side.get('cpus') or []) or 'N'} core(s)",
                     "unit": "req/s", "gateway": _round(side.get("ok_rps")), "direct": None,
                     "added": f"{scaling['speedup']:.2f}x of 1 worker" if key == "many" and scaling.get("speedup") else None,
                     "goal": goal, "spread": None})
    routing = points.get("routing") or {}
    rows.append({"metric": "routing decision p50", "unit": "µs", "gateway": _round(routing.get("p50_us")),
                 "direct": None, "added": None, "goal": "", "spread": None})
    return rows


def validate(result: dict) -> list[str]:
    """Problems with ``result`` against the schema (empty when valid)."""
    problems = []
    for key, typ in REQUIRED.items():
        if key not in result:
            problems.append(f"missing {key}")
        elif not isinstance(result[key], typ) or isinstance(result[key], bool):
            problems.append(f"{key} has type {type(result[key]).__name__}")
    if result.get("schema") not in (None, SCHEMA) and "schema" in result:
        problems.append(f"schema is {result['schema']!r}, expected {SCHEMA!r}")
    if result.get("mode") not in ("quick", "full", None):
        problems.append("mode must be quick or full")
    for i, row in enumerate(result.get("summary") or []):
        missing = [k for k in ROW_KEYS if k not in row]
        if missing:
            problems.append(f"summary[{i}] misses {missing}")
        for k in ("gateway", "direct"):
            v = row.get(k)
            if v is not None and not isinstance(v, (int, float)):
                problems.append(f"summary[{i}].{k} is not a number")
    return problems


def _fmt(v) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:,.4g}" if abs(v) < 1000 else f"{v:,.0f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def table(result: dict, markdown: bool = False) -> str:
    head = ("metric", "unit", "gateway", "direct upstream", "added / share", "goal (issue 4)", "noise")
    rows = [(r["metric"], r["unit"], _fmt(r["gateway"]), _fmt(r["direct"]),
             _fmt(r["added"]) if r["added"] is not None else "", r["goal"],
             f"±{r['spread'] / 2:.0%}" if isinstance(r.get("spread"), (int, float)) else "")
            for r in result["summary"]]
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(lines)
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
    fmt = "  ".join(f"{{:{'<' if i < 2 else '>'}{w}}}" for i, w in enumerate(widths))
    out = [fmt.format(*head), fmt.format(*("-" * w for w in widths))]
    out += [fmt.format(*r) for r in rows]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    """``python -m bench.report RESULT.json [--markdown]``: re-render (and re-summarise) a result."""
    import argparse
    import json

    p = argparse.ArgumentParser(prog="python -m bench.report")
    p.add_argument("result")
    p.add_argument("--markdown", action="store_true")
    a = p.parse_args(argv)
    with open(a.result) as f:
        result = json.load(f)
    result["summary"] = summarize(result["points"])
    print(table(result, markdown=a.markdown))
    return 0 if not validate(result) else 1


if __name__ == "__main__":
    raise SystemExit(main())
