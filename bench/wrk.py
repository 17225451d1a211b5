"""Driving load with wrk: the Lua script (POST body, headers, a JSON summary line) and its parsing.

wrk is a compiled HTTP/1.1 load generator (Debian package ``wrk``). Its ``done()`` hook prints
one ``BENCHJSON {...}`` line with request counts, error counts and latency percentiles (µs),
which ``parse_output`` turns into the same dict shape as ``bench.loadclient.run_load``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile

LUA = r"""
wrk.method = "POST"
wrk.body = [==[%(body)s]==]
%(headers)s
%(ramp)s
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests":%%d,"duration_us":%%d,"bytes":%%d,"connect":%%d,"read":%%d,"write":%%d,' ..
    '"status":%%d,"timeout":%%d,"p50":%%d,"p90":%%d,"p99":%%d,"max":%%d,"mean":%%.3f}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
"""


def available() -> str | None:
    return shutil.which("wrk")


# wrk calls ``delay()`` before every request of a thread; the first ``per_thread`` calls are
# the first request of each of its connections.
RAMP = r"""
local started = 0
delay = function()
  started = started + 1
  if started <= %(per_thread)d then return math.random(0, %(ramp_ms)d) end
  return 0
end
"""


def lua_script(body: bytes, headers: dict[str, str], ramp_ms: int = 0, per_thread: int = 0) -> str:
    """The run's script; with ``ramp_ms``, each connection's first request waits a uniform random
    0..ramp_ms (connections arriving over a period instead of in the same millisecond)."""
    text = body.decode()
    if "]==]" in text:
        raise ValueError("body contains the Lua long-string terminator")
    lines = [f'wrk.headers["{k}"] = "{v}"' for k, v in {"Content-Type": "application/json", **headers}.items()]
    ramp = RAMP % {"per_thread": per_thread, "ramp_ms": ramp_ms} if ramp_ms > 0 else ""
    return LUA % {"body": text, "headers": "\n".join(lines), "ramp": ramp}


def parse_output(stdout: str) -> dict:
    """The load-result dict from wrk's output (raises if the summary line is missing)."""
    for line in stdout.splitlines():
        if line.startswith("BENCHJSON "):
            raw = json.loads(line[len("BENCHJSON "):])
            break
    else:
        raise RuntimeError(f"wrk printed no summary line:\n{stdout[-2000:]}")
    dur = raw["duration_us"] / 1e6
    errors = {k: raw[k] for k in ("connect", "read", "write", "timeout")}
    errors["status"] = raw["status"]  # non-2xx/3xx answers
    ok = max(raw["requests"] - raw["status"], 0)
    return {
        "requests": raw["requests"],
        "ok": ok,
        "errors": sum(errors.values()),
        "error_detail": errors,
        "duration_s": round(dur, 4),
        "rps": round(raw["requests"] / dur, 2) if dur else None,
        "ok_rps": round(ok / dur, 2) if dur else None,
        "p50_ms": raw["p50"] / 1000, "p90_ms": raw["p90"] / 1000, "p99_ms": raw["p99"] / 1000,
        "max_ms": raw["max"] / 1000, "mean_ms": round(raw["mean"] / 1000, 4),
    }


def run(url: str, body: bytes, connections: int, duration_s: float, headers: dict[str, str] | None = None,
        threads: int = 1, cpus: list[int] | None = None, timeout_s: float = 5.0, ramp_ms: int = 0) -> dict:
    """One bounded wrk run against ``url`` (loopback only); whole seconds, at least 1."""
    if not url.startswith(("http://127.0.0.1:", "http://localhost:", "http://[::1]:")):
        raise ValueError("load is only ever sent to loopback")
    exe = available()
    if not exe:
        raise RuntimeError("wrk is not installed")
    secs = max(1, round(duration_s))
    threads = min(threads, connections)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(lua_script(body, headers or {}, ramp_ms, -(-connections // threads)))
        script = f.name
    try:
        argv = [exe, f"-t{threads}", f"-c{connections}", f"-d{secs}s",
                "--timeout", f"{max(1, round(timeout_s))}s", "-s", script, url]
        pre = (lambda: os.sched_setaffinity(0, cpus)) if cpus else None
        out = subprocess.run(argv, capture_output=True, text=True, timeout=secs + 30, preexec_fn=pre)
        result = parse_output(out.stdout)
        result["loadgen"] = "wrk"
        return result
    finally:
        os.unlink(script)
