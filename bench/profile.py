"""Profile the gateway's hot path under load: py-spy on the gateway while the benchmark drives it.

``python -m bench.profile [--connections 32] [--seconds 10] [--stream] [--translated]`` starts
the fake upstream and the gateway as ``python -m bench`` does, records py-spy's collapsed
stacks of the gateway's process for the length of one load, and prints the functions with
the most samples, by own time and including callees. The raw stacks are kept for a flame
graph (``--out``). py-spy comes from PyPI (``pip install py-spy``); root can attach to a child.
"""

from __future__ import annotations

import argparse
import collections
import os
import shutil
import subprocess
import sys
import tempfile
import time

from bench import procs, wire
from bench.scenarios import Plan, Session, control, default_proxy_argv


def _function(frame: str) -> str:
    """'fn (path/file.py:123)' -> 'fn (path/file.py)': samples add up per function, not per line."""
    head, sep, tail = frame.rpartition(":")
    return head + ")" if sep and tail.rstrip(")").isdigit() else frame


def top(collapsed: str, n: int = 25) -> tuple[list, list, int]:
    """(by own samples, by inclusive samples, total) from py-spy's ``--format raw`` output."""
    own: collections.Counter = collections.Counter()
    incl: collections.Counter = collections.Counter()
    total = 0
    for line in collapsed.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        c = int(count)
        total += c
        frames = [_function(f) for f in stack.split(";")]
        own[frames[-1]] += c
        for f in set(frames):
            incl[f] += c
    return own.most_common(n), incl.most_common(n), total


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.profile")
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--stream", action="store_true", help="profile pass-through streams")
    p.add_argument("--translated", action="store_true", help="profile OpenAI-client -> Anthropic-upstream streams")
    p.add_argument("--model", default="auto")
    p.add_argument("--rate", type=int, default=250, help="py-spy samples per second")
    p.add_argument("--out", default="artifacts/bench/profile.txt")
    a = p.parse_args(argv)
    spy = shutil.which("py-spy") or os.path.join(os.path.dirname(sys.executable), "py-spy")
    if not os.path.exists(spy):
        print("py-spy is not installed (pip install py-spy)", file=sys.stderr)
        return 2
    work = tempfile.mkdtemp(prefix="triage-profile-")
    home = os.path.join(work, "home")
    os.makedirs(home)
    proxy_cpus, side_cpus = procs.plan_cores()
    env = {"TRIAGE_HOME": home, "OPENAI_API_KEY": "sk-bench", "TRIAGE_OPENAI_BASE_URL": "{upstream}"}
    if a.translated:
        env.update({"ANTHROPIC_API_KEY": "sk-ant-bench", "TRIAGE_ANTHROPIC_BASE_URL": "{upstream_root}"})
        a.stream, a.model = True, "claude-haiku-4-5" if a.model == "auto" else a.model
    with procs.Launcher(work) as launcher:
        s = Session(launcher, Plan(), loadgen="wrk" if shutil.which("wrk") else "python",
                    proxy_argv=default_proxy_argv(None), proxy_env=env, health_path="/health", model=a.model,
                    translated_model="", home=home, proxy_cpus=proxy_cpus, side_cpus=side_cpus)
        s.start_upstream()
        if a.stream:
            control(s.upstream_base, chunks=50, interval=0.002)
        gw = s.start_proxy()
        body = wire.chat_request(a.model, stream=a.stream)
        s.warm(gw, body, sse=a.stream)
        out = os.path.abspath(a.out)
        os.makedirs(os.path.dirname(out), exist_ok=True)
        rec = subprocess.Popen([spy, "record", "--pid", str(gw.pid), "--format", "raw", "--rate", str(a.rate),
                                "--duration", str(int(a.seconds) + 1), "--output", out, "--nonblocking"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        time.sleep(0.5)
        r = s.load(gw, body, a.connections, a.seconds, sse=a.stream)
        rec.wait(a.seconds + 30)
    print(f"load: {r.get('ok_rps')} req/s, errors {r['errors']}, CPU {r.get('cpu_ms_per_request')} ms/request, "
          f"util {r.get('cpu_util')}" + (f", {r.get('cpu_us_per_event')} µs/event" if a.stream else ""))
    own, incl, total = top(open(out).read())
    print(f"\n{total} samples; by own time:")
    for f, c in own:
        print(f"  {c / total:6.1%}  {f}")
    print("\nincluding callees:")
    for f, c in incl:
        print(f"  {c / total:6.1%}  {f}")
    print(f"\nraw stacks: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
