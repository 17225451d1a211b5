"""The result JSON's schema, headline rows and table (bench.report), and wrk output parsing."""

from __future__ import annotations

import json

import pytest

from bench import report, wrk


def _points():
    side = lambda p50, rps, cpu: {"p50_ms": p50, "p90_ms": p50 * 2, "p99_ms": p50 * 4, "ok_rps": rps,
                                   "errors": 0, "cpu_ms_per_request": cpu, "ttfb_p50_ms": p50,
                                   "ttfb_p99_ms": p50 * 3, "cpu_us_per_event": cpu * 100}
    pt = lambda: {"gateway": side(0.4, 3000.0, 0.25), "direct": side(0.1, 30000.0, 0.02),
                  "spread": {"p50_ms": 0.1}}
    return {"latency_c1": pt(), "throughput_c32": pt(), "throughput_c128": pt(), "slow_upstream_c256": pt(),
            "stream_passthrough": {"ttfb": pt(), "cpu": pt()},
            "stream_translated": {"not_measured": "no Anthropic path yet"},
            "process": {"idle_rss_mb": {"gateway": 40.0, "direct": 25.0},
                        "start_to_ready_s": {"gateway": 0.5, "direct": 0.1}},
            "routing": {"p50_us": 30.0}}


def _result():
    points = _points()
    return {"schema": report.SCHEMA, "mode": "quick", "commit": "abc", "started_at": "2026-01-01T00:00:00+00:00",
            "elapsed_s": 3.2, "machine": {}, "config": {}, "points": points, "summary": report.summarize(points)}


def test_summary_rows_added_and_ratio():
    rows = {r["metric"]: r for r in report.summarize(_points())}
    lat = rows["latency p50, c=1"]
    assert lat["gateway"] == 0.4 and lat["direct"] == 0.1
    assert lat["added"] == pytest.approx(0.3)
    assert rows["throughput, c=32"]["added"] == "10.0% of direct"
    assert rows["CPU per chunk, translated"]["gateway"] is None  # not measured stays empty
    assert rows["idle RSS (tree)"]["gateway"] == 40.0
    assert rows["routing decision p50"]["gateway"] == 30.0
    assert all(set(report.ROW_KEYS) <= set(r) for r in rows.values())


def test_valid_result_round_trips_through_json():
    result = json.loads(json.dumps(_result()))
    assert report.validate(result) == []


@pytest.mark.parametrize("mutate, problem", [
    (lambda r: r.pop("commit"), "missing commit"),
    (lambda r: r.update(mode="slow"), "mode must be quick or full"),
    (lambda r: r.update(schema="other/9"), "schema is"),
    (lambda r: r.update(points=[]), "points has type list"),
    (lambda r: r["summary"][0].update(gateway="fast"), "summary[0].gateway is not a number"),
    (lambda r: r["summary"][0].pop("goal"), "summary[0] misses ['goal']"),
])
def test_invalid_results_are_reported(mutate, problem):
    result = _result()
    mutate(result)
    assert any(problem in p for p in report.validate(result))


def test_table_plain_and_markdown():
    result = _result()
    text = report.table(result)
    assert "latency p50, c=1" in text and "3,000" in text and "—" in text
    md = report.table(result, markdown=True)
    assert md.splitlines()[0].startswith("| metric |")
    assert len(md.splitlines()) == len(result["summary"]) + 2


WRK_OUT = """Running 1s test @ http://127.0.0.1:1/v1/chat/completions
  1 threads and 32 connections
  1000 requests in 1.00s, 1.00MB read
  Non-2xx or 3xx responses: 10
BENCHJSON {"requests":1000,"duration_us":1000000,"bytes":100,"connect":0,"read":1,"write":0,"status":10,"timeout":2,"p50":400,"p90":900,"p99":2500,"max":9000,"mean":450.500}
"""


def test_wrk_output_parsing():
    r = wrk.parse_output(WRK_OUT)
    assert r["requests"] == 1000 and r["ok"] == 990
    assert r["errors"] == 13 and r["error_detail"]["timeout"] == 2
    assert r["rps"] == 1000.0 and r["ok_rps"] == 990.0
    assert (r["p50_ms"], r["p90_ms"], r["p99_ms"]) == (0.4, 0.9, 2.5)
    with pytest.raises(RuntimeError):
        wrk.parse_output("wrk: connection refused")


def test_wrk_script_and_loopback_only():
    script = wrk.lua_script(b'{"model":"auto"}', {"Authorization": "Bearer x"})
    assert '[==[{"model":"auto"}]==]' in script and 'wrk.headers["Authorization"] = "Bearer x"' in script
    assert "delay" not in script
    with pytest.raises(ValueError):
        wrk.run("http://10.0.0.1:80/", b"{}", 1, 1)


def test_wrk_ramp_delays_only_each_connections_first_request():
    script = wrk.lua_script(b"{}", {}, ramp_ms=200, per_thread=128)
    assert "started <= 128 then return math.random(0, 200)" in script and "return 0" in script
