"""The measured points: each one run against the gateway and the direct upstream, repeated.

A ``Target`` is something to load (the proxy under test, or the fake upstream hit directly)
and the pid whose process tree is charged for CPU and RSS. ``Session`` owns the processes of
one benchmark run (fake upstream, proxy, restarts of the proxy) and runs the points:
latency at c=1, throughput at c=32/128 with CPU per request, a 200 ms upstream at c=256,
streams (time to first byte, CPU per chunk; pass-through and translated) and start-up time.
Repeats of gateway and direct runs are interleaved so slow drift on a shared machine hits both.
"""

from __future__ import annotations

import os
import shlex
import sys
import threading
import urllib.request
from dataclasses import dataclass, field

import orjson

from bench import loadclient, procs, wire, wrk
from bench.stats import diff, median_runs, spread

CHAT = "/v1/chat/completions"


@dataclass
class Target:
    name: str  # "gateway" or "direct"
    base: str  # http://127.0.0.1:PORT
    pid: int
    path: str = CHAT
    headers: dict = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.base + self.path


@dataclass
class Plan:
    """Durations (seconds), repeats and knobs of one run; ``quick()`` and ``full()`` are the presets."""

    reps: int = 3
    latency_s: float = 5
    throughput_s: float = 5
    slow_s: float = 10
    stream_s: float = 4
    warmup_s: float = 1.0
    starts: int = 3
    stream_chunks: int = 50
    stream_interval_s: float = 0.002
    stream_concurrency: int = 16
    idle_settle_s: float = 1.0

    @classmethod
    def quick(cls) -> "Plan":
        return cls(reps=1, latency_s=1, throughput_s=1, slow_s=1, stream_s=0.5, warmup_s=0.3, starts=1,
                   idle_settle_s=0.2)

    @classmethod
    def full(cls) -> "Plan":
        return cls()


class RssSampler(threading.Thread):
    """Samples a process tree's RSS every ``every`` seconds; ``peak_mb`` is the highest seen."""

    def __init__(self, pid: int, every: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.pid, self.every = pid, every
        self.peak_mb = 0.0
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.wait(self.every):
            self.peak_mb = max(self.peak_mb, procs.tree_rss_mb(self.pid))

    def stop(self) -> float:
        self._halt.set()
        self.join(2)
        return round(self.peak_mb, 2)


def control(upstream_base: str, **values) -> dict:
    req = urllib.request.Request(upstream_base + "/_control", data=orjson.dumps(values), method="POST")
    with urllib.request.urlopen(req, timeout=5) as r:
        return orjson.loads(r.read())


class Session:
    """One benchmark run's processes and measurements."""

    def __init__(self, launcher: procs.Launcher, plan: Plan, *, loadgen: str, proxy_argv: list[str] | str,
                 proxy_env: dict, health_path: str, model: str, translated_model: str, home: str,
                 proxy_cpus: list[int] | None, side_cpus: list[int] | None, log=print) -> None:
        self.launcher, self.plan = launcher, plan
        self.loadgen = loadgen
        self.proxy_argv, self.proxy_env = proxy_argv, proxy_env
        self.health_path, self.model, self.translated_model = health_path, model, translated_model
        self.home = home
        self.proxy_cpus, self.side_cpus = proxy_cpus, side_cpus
        self.log = log
        self.upstream: procs.Proc | None = None
        self.proxy: procs.Proc | None = None
        self.ready_times: list[float] = []

    # processes -----------------------------------------------------------------------------
    @property
    def upstream_base(self) -> str:
        return f"http://127.0.0.1:{self.upstream.port}"

    def start_upstream(self) -> procs.Proc:
        self.upstream = self.launcher.start(
            "upstream", [sys.executable, "-m", "bench.upstream", "--port", "0", "--seed", "1"],
            env={**os.environ, "PYTHONPATH": os.pathsep.join(
                p for p in (_repo_root(), os.environ.get("PYTHONPATH")) if p)}, cpus=self.side_cpus)
        self.launcher.wait_port_line(self.upstream)
        return self.upstream

    def start_proxy(self, extra_env: dict | None = None) -> Target:
        port = procs.free_port()
        subst = {"port": str(port), "upstream": self.upstream_base + "/v1", "upstream_root": self.upstream_base}
        if isinstance(self.proxy_argv, str):
            argv, shell = self.proxy_argv.format(**subst), True
        else:
            argv, shell = [a.format(**subst) for a in self.proxy_argv], False
        env = {**os.environ, **{k: v.format(**subst) for k, v in self.proxy_env.items()}}
        env.update({k: v.format(**subst) for k, v in (extra_env or {}).items()})
        # the proxy's own source first (``--gateway-src``), then this repo (for bench.* stand-ins)
        first = self.proxy_env.get("PYTHONPATH")
        env["PYTHONPATH"] = os.pathsep.join(p for p in (first, _repo_root(), os.environ.get("PYTHONPATH")) if p)
        # ``python -m`` puts the working directory first on sys.path: run from the proxy's source
        self.proxy = self.launcher.start("proxy", argv, env=env, cpus=self.proxy_cpus, shell=shell, cwd=first)
        ready = self.launcher.wait_ready(self.proxy, f"http://127.0.0.1:{port}{self.health_path}")
        procs.pin(self.proxy.pid, self.proxy_cpus)
        self.ready_times.append(round(ready, 4))
        self.log(f"  proxy ready in {ready:.3f}s (pid {self.proxy.pid})")
        return Target("gateway", f"http://127.0.0.1:{port}", self.proxy.pid)

    def stop_proxy(self) -> None:
        if self.proxy:
            self.launcher.stop(self.proxy)
            self.proxy = None

    def direct(self, path: str = CHAT) -> Target:
        return Target("direct", self.upstream_base, self.upstream.pid, path)

    # load ----------------------------------------------------------------------------------
    def load(self, target: Target, body: bytes, connections: int, seconds: float, sse: bool = False,
             ramp_ms: int = 0) -> dict:
        """One bounded load; with CPU-seconds of the target's tree charged over it."""
        cpu0 = procs.tree_cpu_seconds(target.pid)
        if self.loadgen == "wrk" and not sse:
            r = wrk.run(target.url, body, connections, seconds, target.headers, cpus=self.side_cpus,
                        threads=1 if connections < 64 else 2, ramp_ms=ramp_ms)
        else:
            r = loadclient.run_load(target.url, body, connections, seconds, headers=target.headers, sse=sse,
                                    ramp_ms=ramp_ms)
        cpu = procs.tree_cpu_seconds(target.pid) - cpu0
        r["cpu_s"] = round(cpu, 4)
        # share of one core the target used: well under 1 at saturation means it was starved
        # (another process on its core) or waiting on something other than its own CPU.
        r["cpu_util"] = round(cpu / r["duration_s"], 3) if r["duration_s"] else None
        r["cpu_ms_per_request"] = round(cpu * 1000 / r["requests"], 5) if r["requests"] else None
        if sse:
            r["cpu_us_per_event"] = round(cpu * 1e6 / r["events"], 3) if r.get("events") else None
        return r

    def paired(self, name: str, targets: list[tuple[Target, bytes]], connections: int, seconds: float,
               sse: bool = False, keys: tuple[str, ...] = (), ramp_ms: int = 0) -> dict:
        """Repeat a load ``plan.reps`` times over both targets, interleaved; medians and noise."""
        runs: dict[str, list[dict]] = {t.name: [] for t, _ in targets}
        for rep in range(self.plan.reps):
            for target, body in (targets if rep % 2 == 0 else list(reversed(targets))):
                r = self.load(target, body, connections, seconds, sse=sse, ramp_ms=ramp_ms)
                runs[target.name].append(r)
            self.log(f"  {name} rep {rep + 1}/{self.plan.reps}: " + ", ".join(
                f"{t}: {_brief(rs[-1])}" for t, rs in runs.items()))
        point: dict = {"connections": connections, "seconds": seconds, "ramp_ms": ramp_ms}
        for tname, rs in runs.items():
            point[tname] = {**median_runs(rs), "runs": rs}
        if "gateway" in runs and "direct" in runs:
            g, d = point["gateway"], point["direct"]
            point["added"] = {k: diff(g.get(k), d.get(k)) for k in keys}
            point["spread"] = {k: spread(r.get(k) for r in runs["gateway"]) for k in keys}
        return point

    def warm(self, target: Target, body: bytes, sse: bool = False) -> None:
        loadclient.run_load(target.url, body, 8, self.plan.warmup_s, headers=target.headers, sse=sse)

    # points --------------------------------------------------------------------------------
    def non_streaming(self, gw: Target) -> dict:
        p, points = self.plan, {}
        direct = self.direct()
        g_body = wire.chat_request(self.model)
        d_body = wire.chat_request("gpt-5.4-mini")
        pair = [(gw, g_body), (direct, d_body)]
        self.warm(gw, g_body)
        self.warm(direct, d_body)
        lat = ("p50_ms", "p90_ms", "p99_ms")
        points["latency_c1"] = self.paired("latency c=1", pair, 1, p.latency_s, keys=lat)
        tp = ("rps", "errors", "cpu_ms_per_request", "p50_ms", "p99_ms")
        points["throughput_c32"] = self.paired("throughput c=32", pair, 32, p.throughput_s, keys=tp)
        points["throughput_c128"] = self.paired("throughput c=128", pair, 128, p.throughput_s, keys=tp)
        # Two arrival patterns: the 256 connections' first requests spread over one upstream
        # period (clients arriving over time: the steady state), and all 256 in the same
        # millisecond (a synchronized burst, which a single core must queue: see benchmark.md).
        control(self.upstream_base, delay=0.2)
        try:
            for key, label, ramp in (("slow_upstream_c256", "200ms upstream c=256", 200),
                                     ("slow_upstream_c256_burst", "200ms upstream c=256, one burst", 0)):
                pt = self.paired(label, pair, 256, p.slow_s, keys=tp, ramp_ms=ramp)
                pt["ideal_rps"] = 256 / 0.2
                for side in ("gateway", "direct"):
                    rps = pt[side].get("ok_rps")
                    pt[side]["share_of_ideal"] = round(rps / pt["ideal_rps"], 4) if rps else None
                points[key] = pt
        finally:
            control(self.upstream_base, delay=0.0)
        return points

    def streams(self, gw: Target, model: str, direct: Target, direct_body: bytes, label: str) -> dict:
        """Time to first byte (c=1) and CPU per streamed event (c=stream_concurrency)."""
        p = self.plan
        control(self.upstream_base, chunks=p.stream_chunks, interval=p.stream_interval_s)
        try:
            g_body = wire.chat_request(model, stream=True)
            probe = loadclient.run_load(gw.url, g_body, 1, 5, max_requests=1, headers=gw.headers, sse=True)
            if probe["ok"] != 1 or probe.get("events", 0) < p.stream_chunks:
                return {"not_measured": f"{label} stream through the proxy failed: statuses/errors "
                                        f"{probe['error_detail']}, events {probe.get('events')}"}
            self.warm(gw, g_body, sse=True)
            pair = [(gw, g_body), (direct, direct_body)]
            keys = ("ttfb_p50_ms", "ttfb_p90_ms", "ttfb_p99_ms", "p50_ms")
            ttfb = self.paired(f"{label} ttfb c=1", pair, 1, p.stream_s * 2, sse=True, keys=keys)
            keys = ("cpu_us_per_event", "cpu_ms_per_request", "events", "errors")
            cpu = self.paired(f"{label} cpu/chunk c={p.stream_concurrency}", pair, p.stream_concurrency,
                              p.stream_s, sse=True, keys=keys)
        finally:
            control(self.upstream_base, chunks=50, interval=0.0)
        return {"ttfb": ttfb, "cpu": cpu, "model": model, "chunks": p.stream_chunks,
                "interval_ms": p.stream_interval_s * 1000}


    def scaling(self, workers: int, all_cpus: list[int], argv_for) -> dict:
        """Throughput at c=64 with one worker on the proxy's core, then ``workers`` worker
        processes (``triage start --workers N``) on ``all_cpus``: does it scale with cores?
        On a small machine the extra cores are shared with the upstream and the load generator."""
        body = wire.chat_request(self.model)
        point: dict = {"connections": 64, "seconds": self.plan.throughput_s}
        starts = len(self.ready_times)
        for key, n, cpus in (("one", 1, self.proxy_cpus), ("many", workers, all_cpus)):
            saved = self.proxy_argv, self.proxy_cpus
            self.proxy_argv, self.proxy_cpus = argv_for(n), cpus
            try:
                gw = self.start_proxy()
                self.warm(gw, body)
                rs = []
                for rep in range(self.plan.reps):
                    rs.append(self.load(gw, body, 64, self.plan.throughput_s))
                    self.log(f"  workers={n} on cpus {cpus} rep {rep + 1}/{self.plan.reps}: {_brief(rs[-1])}")
            finally:
                self.stop_proxy()
                self.proxy_argv, self.proxy_cpus = saved
            point[key] = {**median_runs(rs), "runs": rs, "workers": n, "cpus": cpus}
        del self.ready_times[starts:]  # start-to-ready is measured on the default configuration only
        one, many = point["one"].get("ok_rps"), point["many"].get("ok_rps")
        point["speedup"] = round(many / one, 3) if one and many else None
        return point


def _brief(r: dict) -> str:
    if "events" in r:
        return f"{r.get('ok_rps')}/s ttfb {r.get('ttfb_p50_ms')}ms {r.get('cpu_us_per_event')}µs/ev err {r['errors']}"
    return f"{r.get('ok_rps')}/s p50 {r.get('p50_ms')}ms err {r['errors']} cpu {r.get('cpu_ms_per_request')}ms/req"


def _repo_root() -> str:
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# Runs ``python -m triage`` with the editable install's import hook removed, so that a
# ``--gateway-src`` tree never borrows modules it lacks from the working tree.
_ISOLATED = ("import runpy, sys; sys.meta_path[:] = [f for f in sys.meta_path if 'Editable' not in "
             "getattr(f, '__name__', type(f).__name__)]; runpy.run_module('triage', run_name='__main__', alter_sys=True)")


def default_proxy_argv(workers: int | None, isolated: bool = False) -> list[str]:
    head = [sys.executable, "-c", _ISOLATED] if isolated else [sys.executable, "-m", "triage"]
    argv = [*head, "start", "--host", "127.0.0.1", "--port", "{port}"]
    if workers:
        argv += ["--workers", str(workers)]
    return argv


def describe(argv: list[str] | str) -> str:
    return argv if isinstance(argv, str) else shlex.join(argv)
