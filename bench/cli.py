"""``python -m bench``: runs the overhead benchmark end to end and writes its JSON result.

Starts the fake upstream (upstream + load generator on one core) and the proxy (Triage by
default, or any ``--proxy-cmd``; its own core), measures every point against the proxy and
against the upstream hit directly, restarts the proxy with an Anthropic upstream for the
translated stream, times start-up and the in-process routing decision, then stops everything
it started -- also on errors and Ctrl-C.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

from bench import procs, report, routing_probe, wire, wrk
from bench.scenarios import Plan, RssSampler, Session, default_proxy_argv, describe


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench", description="Triage overhead benchmark (issue 4).")
    p.add_argument("--quick", action="store_true", help="one short repeat per point: a CI smoke of a few seconds")
    p.add_argument("--reps", type=int, help="repeats per point (full mode: 3)")
    p.add_argument("--seconds", type=float, help="duration of each load (full mode: 5; 200 ms point x2)")
    p.add_argument("--loadgen", choices=("auto", "wrk", "python"), default="auto",
                   help="auto: wrk when installed, else the Python client (streams always use the Python client)")
    p.add_argument("--proxy-cmd", help="start command of another proxy; placeholders {port}, {upstream} "
                                       "(http://127.0.0.1:UP/v1) and {upstream_root}; run by the shell")
    p.add_argument("--health-path", default="/health", help="GET path that answers 200 once the proxy is ready")
    p.add_argument("--model", default="auto", help="model field for non-streaming and pass-through requests")
    p.add_argument("--translated-model", default="claude-haiku-4-5")
    p.add_argument("--no-translated", action="store_true", help="skip the translated (Anthropic upstream) stream")
    p.add_argument("--workers", type=int, help="passed to `triage start --workers N`")
    p.add_argument("--proxy-cpus", help="cores for the proxy, e.g. '1' or '0,1' (default: the last core)")
    p.add_argument("--gateway-src", help="run Triage from this source tree (e.g. an export of one commit: "
                                         "`git archive HEAD | tar -x -C DIR`) instead of the working tree")
    p.add_argument("--out", default="artifacts/bench/result.json", help="where the JSON result goes")
    p.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    return p


def _git_commit(root: str | None = None) -> tuple[str | None, bool]:
    root = root or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if not os.path.exists(os.path.join(root, ".git")):
        stamp = os.path.join(root, "COMMIT")  # an exported tree: the exporter writes the commit here
        return (open(stamp).read().strip() if os.path.exists(stamp) else None), False
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                                timeout=5).stdout.strip() or None
        dirty = bool(subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                                    capture_output=True, text=True, timeout=5).stdout.strip())
        return commit, dirty
    except (OSError, subprocess.SubprocessError):
        return None, False


def _cpu_pressure() -> str | None:
    """The kernel's CPU pressure line (share of time tasks waited for a CPU): a noise indicator."""
    try:
        with open("/proc/pressure/cpu") as f:
            return f.readline().strip()
    except OSError:
        return None


def _ledger_rows(home: str) -> int | None:
    import sqlite3

    path = os.path.join(home, "ledger.db")
    if not os.path.exists(path):
        return None
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as db:
            return db.execute("SELECT COUNT(*) FROM requests").fetchone()[0]
    except sqlite3.Error:
        return None


def run(args: argparse.Namespace, log=print) -> dict:
    plan = Plan.quick() if args.quick else Plan.full()
    if args.reps:
        plan.reps = args.reps
    if args.seconds:
        plan.latency_s = plan.throughput_s = args.seconds
        plan.slow_s, plan.stream_s = args.seconds * 2, max(args.seconds * 0.8, 0.3)
    loadgen = args.loadgen
    if loadgen == "auto":
        loadgen = "wrk" if wrk.available() else "python"
    proxy_cpus, side_cpus = procs.plan_cores()
    if args.proxy_cpus:
        proxy_cpus = [int(c) for c in args.proxy_cpus.split(",")]
    work = tempfile.mkdtemp(prefix="triage-bench-")
    home = os.path.join(work, "home")
    os.makedirs(home)
    proxy_argv = args.proxy_cmd or default_proxy_argv(args.workers, isolated=bool(args.gateway_src))
    proxy_env = {"TRIAGE_HOME": home, "OPENAI_API_KEY": "sk-bench", "TRIAGE_OPENAI_BASE_URL": "{upstream}",
                 "ANTHROPIC_API_KEY": "", "GEMINI_API_KEY": "", "GOOGLE_API_KEY": ""}
    if args.gateway_src:
        proxy_env["PYTHONPATH"] = os.path.abspath(args.gateway_src)
    commit, dirty = _git_commit(os.path.abspath(args.gateway_src) if args.gateway_src else None)
    started = time.perf_counter()
    result: dict = {
        "schema": report.SCHEMA, "mode": "quick" if args.quick else "full", "commit": commit, "dirty": dirty,
        "started_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "elapsed_s": 0.0,
        "machine": {"cpus": os.cpu_count(), "proxy_cpus": proxy_cpus, "upstream_and_loadgen_cpus": side_cpus,
                    "python": platform.python_version(), "platform": platform.platform(),
                    "loadavg_start": list(os.getloadavg()), "cpu_pressure_start": _cpu_pressure()},
        "config": {"proxy_cmd": describe(proxy_argv), "gateway_src": args.gateway_src, "model": args.model, "loadgen": loadgen,
                   "plan": vars(plan), "work_dir": work},
        "points": {}, "summary": [],
    }
    points = result["points"]
    log(f"bench: {result['mode']} run, loadgen {loadgen}, proxy on cpus {proxy_cpus}, "
        f"upstream+loadgen on {side_cpus}; logs in {work}")
    with procs.Launcher(work) as launcher:
        s = Session(launcher, plan, loadgen=loadgen, proxy_argv=proxy_argv, proxy_env=proxy_env,
                    health_path=args.health_path, model=args.model, translated_model=args.translated_model,
                    home=home, proxy_cpus=proxy_cpus, side_cpus=side_cpus, log=log)
        up = s.start_upstream()
        up_idle = procs.tree_rss_mb(up.pid)
        log(f"upstream ready in {up.ready_s:.3f}s on port {up.port}")
        gw = s.start_proxy()
        time.sleep(plan.idle_settle_s)
        idle = procs.tree_rss_mb(gw.pid)
        sampler = RssSampler(gw.pid)
        sampler.start()
        up_sampler = RssSampler(up.pid)
        up_sampler.start()
        try:
            points.update(s.non_streaming(gw))
            log("pass-through streams")
            direct = s.direct()
            points["stream_passthrough"] = s.streams(
                gw, args.model, direct, wire.chat_request("gpt-5.4-mini", stream=True), "pass-through")
        finally:
            peak, up_peak = sampler.stop(), up_sampler.stop()
        hwm = procs.tree_rss_mb(gw.pid, "VmHWM")
        s.stop_proxy()
        points["ledger"] = {"rows": _ledger_rows(home)}
        if not args.no_translated:
            log("translated streams (OpenAI client -> Anthropic upstream)")
            gw = s.start_proxy({"ANTHROPIC_API_KEY": "sk-ant-bench", "TRIAGE_ANTHROPIC_BASE_URL": "{upstream_root}"})
            points["stream_translated"] = s.streams(
                gw, args.translated_model, s.direct("/v1/messages"),
                wire.anthropic_request(args.translated_model, stream=True), "translated")
            s.stop_proxy()
        else:
            points["stream_translated"] = {"not_measured": "--no-translated"}
        if args.proxy_cmd or args.workers or (os.cpu_count() or 1) < 2:
            points["workers_scaling"] = {"not_measured": "only for Triage's default start command, on 2+ cores"}
        else:
            log("--workers scaling")
            points["workers_scaling"] = s.scaling(
                os.cpu_count(), procs.cores(),
                lambda n: default_proxy_argv(n if n > 1 else None, isolated=bool(args.gateway_src)))
        while len(s.ready_times) < plan.starts:
            s.start_proxy()
            s.stop_proxy()
        points["process"] = {
            "idle_rss_mb": {"gateway": round(idle, 2), "direct": round(up_idle, 2)},
            "peak_rss_mb": {"gateway": max(peak, idle), "direct": max(up_peak, up_idle), "gateway_hwm_sum": hwm},
            "start_to_ready_s": {"gateway": sorted(s.ready_times)[len(s.ready_times) // 2],
                                 "direct": round(up.ready_s, 4), "gateway_runs": s.ready_times},
        }
    points["routing"] = routing_probe.measure_in(args.gateway_src, quick=args.quick) if not args.proxy_cmd else \
        {"not_measured": "in-process routing is only probed for Triage"}
    result["summary"] = report.summarize(points)
    result["machine"]["loadavg_end"] = list(os.getloadavg())
    result["machine"]["cpu_pressure_end"] = _cpu_pressure()
    result["elapsed_s"] = round(time.perf_counter() - started, 2)
    return result


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        result = run(args)
    except KeyboardInterrupt:
        print("bench: interrupted; everything it started was stopped", file=sys.stderr)
        return 130
    except RuntimeError as e:
        print(f"bench: {e}", file=sys.stderr)
        return 1
    problems = report.validate(result)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)
    print()
    print(f"commit {result['commit']}{' (dirty)' if result['dirty'] else ''}, {result['mode']} mode, "
          f"loadgen {result['config']['loadgen']}, {result['elapsed_s']}s, "
          f"load average {result['machine']['loadavg_start'][0]:.2f} -> {result['machine']['loadavg_end'][0]:.2f}")
    print(report.table(result, markdown=args.markdown))
    for name, node in result["points"].items():
        for sub in (node, *(v for v in node.values() if isinstance(v, dict))):
            if isinstance(sub, dict) and "not_measured" in sub:
                print(f"not measured: {name}: {sub['not_measured']}")
    print(f"result: {args.out}")
    if problems:
        print(f"bench: result does not match its schema: {problems}", file=sys.stderr)
        return 1
    return 0
