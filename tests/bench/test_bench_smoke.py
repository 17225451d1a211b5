"""Smoke runs of the whole ``python -m bench --quick``: against a stand-in proxy, and against Triage.

A few seconds each, sub-second loads, the Python load client (wrk may be absent in CI), and no
timing threshold asserted: only that every point ran, the processes were stopped and the
result matches its schema.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from bench import report

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STANDIN = f"{sys.executable} -m bench.compare.proxy --port {{port}} --upstream {{upstream}}"


def _bench(tmp_path, *args: str) -> tuple[subprocess.CompletedProcess, dict | None]:
    out = tmp_path / "result.json"
    proc = subprocess.run([sys.executable, "-m", "bench", "--quick", "--loadgen", "python", "--seconds", "0.2",
                           "--out", str(out), *args], cwd=ROOT, capture_output=True, text=True, timeout=150,
                          env={**os.environ, "PYTHONPATH": ROOT})
    return proc, (json.loads(out.read_text()) if out.exists() else None)


def _check(result: dict) -> None:
    assert report.validate(result) == []
    points = result["points"]
    for name in ("latency_c1", "throughput_c32", "throughput_c128", "slow_upstream_c256",
                 "slow_upstream_c256_burst"):
        assert points[name]["gateway"]["requests"] > 0, name
        assert points[name]["direct"]["requests"] > 0, name
    assert points["process"]["start_to_ready_s"]["gateway"] > 0
    assert points["process"]["idle_rss_mb"]["gateway"] > 0


def test_quick_bench_against_a_stand_in_proxy(tmp_path):
    proc, result = _bench(tmp_path, "--proxy-cmd", STANDIN, "--no-translated")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    _check(result)
    assert result["points"]["stream_passthrough"]["cpu"]["gateway"]["events"] > 0
    assert "latency p50, c=1" in proc.stdout  # the table was printed


def test_quick_bench_against_triage(tmp_path):
    pytest.importorskip("triage.server.app", reason="the gateway's server is not there yet")
    proc, result = _bench(tmp_path)
    if proc.returncode != 0 and "before ready" in proc.stderr + proc.stdout:
        pytest.skip(f"triage could not start: {proc.stderr[-500:]}")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    _check(result)
    scaling = result["points"]["workers_scaling"]
    if (os.cpu_count() or 1) >= 2:  # one worker, then one per core, both answered
        assert scaling["one"]["workers"] == 1 and scaling["one"]["ok"] > 0
        assert scaling["many"]["workers"] == os.cpu_count() and scaling["many"]["ok"] > 0
        assert scaling["speedup"] > 0
    else:
        assert "not_measured" in scaling
