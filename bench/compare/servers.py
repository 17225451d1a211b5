"""Server, upstream-client and load-generator comparisons, on the benchmark's own harness.

``python -m bench.compare.servers servers``: the same JSON-proxying handler
(``bench.compare.proxy``) under uvicorn raw ASGI, uvicorn + Starlette, granian (ASGI, RSGI)
and aiohttp.web, all with the aiohttp client; ``clients``: uvicorn raw ASGI with aiohttp vs
httpx; ``loadgen``: wrk vs the Python load client against the fake upstream directly.
Each variant: proxy pinned to one core, upstream + load generator on the other, c=1 latency
and c=32 throughput with CPU per request of the proxy's tree, repeats interleaved, medians.
Prints a Markdown table and writes JSON next to the benchmark's results.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile

from bench import procs, wire, wrk
from bench.scenarios import Plan, Session
from bench.stats import median, spread

SERVERS = {
    "uvicorn raw ASGI": ("uvicorn", "aiohttp"),
    "uvicorn + Starlette": ("starlette", "aiohttp"),
    "granian ASGI": ("granian", "aiohttp"),
    "granian RSGI": ("granian-rsgi", "aiohttp"),
    "aiohttp.web": ("aiohttp", "aiohttp"),
}
CLIENTS = {
    "aiohttp ClientSession": ("uvicorn", "aiohttp"),
    "httpx AsyncClient": ("uvicorn", "httpx"),
}


def _cmd(server: str, client: str) -> str:
    return (f"{sys.executable} -m bench.compare.proxy --server {server} --client {client} "
            "--port {port} --upstream {upstream}")


def compare_proxies(variants: dict, reps: int, seconds: float, loadgen: str, log=print) -> dict:
    work = tempfile.mkdtemp(prefix="triage-compare-")
    proxy_cpus, side_cpus = procs.plan_cores()
    runs: dict[str, list[dict]] = {name: [] for name in variants}
    with procs.Launcher(work) as launcher:
        plan = Plan(reps=1, warmup_s=1.0)
        s = Session(launcher, plan, loadgen=loadgen, proxy_argv="", proxy_env={}, health_path="/health",
                    model="auto", translated_model="", home=work, proxy_cpus=proxy_cpus, side_cpus=side_cpus,
                    log=lambda *_: None)
        s.start_upstream()
        body = wire.chat_request("auto")
        for rep in range(reps):
            order = list(variants.items())
            for name, (server, client) in (order if rep % 2 == 0 else reversed(order)):
                s.proxy_argv = _cmd(server, client)
                gw = s.start_proxy()
                s.warm(gw, body)
                lat = s.load(gw, body, 1, max(1, seconds / 2))
                tp = s.load(gw, body, 32, seconds)
                rss = procs.tree_rss_mb(gw.pid)
                s.stop_proxy()
                row = {"rps_c32": tp["ok_rps"], "errors_c32": tp["errors"],
                       "cpu_ms_per_request": tp["cpu_ms_per_request"], "cpu_util": tp["cpu_util"],
                       "p50_ms_c1": lat["p50_ms"], "p99_ms_c1": lat["p99_ms"], "rss_mb": round(rss, 1),
                       "ready_s": s.ready_times[-1]}
                runs[name].append(row)
                log(f"  rep {rep + 1} {name}: {row}")
    return _medians(runs)


def compare_loadgens(reps: int, seconds: float, log=print) -> dict:
    """The fake upstream hit directly, driven by wrk and by the Python client, c=32."""
    work = tempfile.mkdtemp(prefix="triage-compare-")
    proxy_cpus, side_cpus = procs.plan_cores()
    runs: dict[str, list[dict]] = {"wrk": [], "python client": []}
    with procs.Launcher(work) as launcher:
        up = launcher.start("upstream", [sys.executable, "-m", "bench.upstream", "--port", "0"], cpus=proxy_cpus)
        port = launcher.wait_port_line(up)
        url = f"http://127.0.0.1:{port}/v1/chat/completions"
        body = wire.chat_request("gpt-5.4-mini")
        for rep in range(reps):
            for name in runs:
                cpu0 = procs.tree_cpu_seconds(up.pid)
                if name == "wrk":
                    r = wrk.run(url, body, 32, seconds, cpus=side_cpus)
                else:
                    r = _pinned_python_load(url, body, seconds, side_cpus)
                cpu = procs.tree_cpu_seconds(up.pid) - cpu0
                row = {"rps_c32": r["ok_rps"], "errors_c32": r["errors"], "p50_ms": r["p50_ms"],
                       "upstream_cpu_util": round(cpu / r["duration_s"], 3)}
                runs[name].append(row)
                log(f"  rep {rep + 1} {name}: {row}")
    return _medians(runs)


def _pinned_python_load(url: str, body: bytes, seconds: float, cpus) -> dict:
    """The Python client in a child process pinned to the load-generator core."""
    import subprocess

    code = ("import json,sys; from bench import loadclient, wire; "
            f"print(json.dumps(loadclient.run_load({url!r}, wire.chat_request('gpt-5.4-mini'), 32, {seconds})))")
    pre = (lambda: os.sched_setaffinity(0, cpus)) if cpus else None
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=seconds + 60,
                         preexec_fn=pre, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _medians(runs: dict[str, list[dict]]) -> dict:
    out = {}
    for name, rows in runs.items():
        if not rows:
            continue
        out[name] = {k: median(r[k] for r in rows) for k in rows[0]}
        out[name]["spread_rps"] = spread(r.get("rps_c32") for r in rows)
        out[name]["runs"] = rows
    return out


def markdown(result: dict) -> str:
    names = list(result)
    keys = [k for k in result[names[0]] if k not in ("runs",)]
    lines = ["| variant | " + " | ".join(keys) + " |", "|---|" + "---|" * len(keys)]
    for n in names:
        lines.append(f"| {n} | " + " | ".join(str(result[n].get(k)) for k in keys) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.compare.servers")
    p.add_argument("what", choices=("servers", "clients", "loadgen"))
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--seconds", type=float, default=5)
    p.add_argument("--loadgen", choices=("wrk", "python"), default="wrk" if wrk.available() else "python")
    p.add_argument("--out", default=None)
    a = p.parse_args(argv)
    if a.what == "loadgen":
        result = compare_loadgens(a.reps, a.seconds)
    else:
        result = compare_proxies(SERVERS if a.what == "servers" else CLIENTS, a.reps, a.seconds, a.loadgen)
    out = a.out or f"artifacts/bench/compare-{a.what}.json"
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "w") as f:
        json.dump({"what": a.what, "reps": a.reps, "seconds": a.seconds, "loadavg": os.getloadavg(),
                   "result": result}, f, indent=1)
    print(markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
