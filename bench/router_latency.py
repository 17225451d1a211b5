#!/usr/bin/env python
"""Latency of one routing decision of the default (learned) router: p50/p99 over real prompts.

    .venv/bin/python bench/router_latency.py [--n 3000]

Prompts are the first N items of ../shared/data/routing/mmlu_pro.dev.jsonl and
llmrouter.train.jsonl, routed over the production-like pool below (unseen models placed by
their arena prior). Loading the weights is excluded (done once per process).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from triage.routing.learned import QualityModel, choose  # noqa: E402
from triage.routing.pool import PoolModel  # noqa: E402

POOL = [
    PoolModel("gpt-5.4", 2.5, 15.0, "gpt-5.1"),
    PoolModel("claude-sonnet-4-6", 3.0, 15.0, "claude-sonnet-4-5-20250929"),
    PoolModel("gemini-2.5-flash", 0.3, 2.5, "gemini-2.5-flash"),
    PoolModel("some-unrated-model", 0.1, 0.4),
]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=3000)
    args = ap.parse_args()
    data = ROOT.parent / "shared" / "data" / "routing"
    prompts = []
    for f in ("mmlu_pro.dev.jsonl", "llmrouter.train.jsonl"):
        with open(data / f) as fh:
            for line, _ in zip(fh, range(args.n // 2)):
                prompts.append(json.loads(line)["messages"])
    t = time.perf_counter()
    qm = QualityModel.load_default()
    load = time.perf_counter() - t
    for m in prompts[:200]:  # warm-up
        choose(m, POOL, 0.9, quality_model=qm)
    times = []
    for m in prompts:
        t = time.perf_counter()
        choose(m, POOL, 0.9, quality_model=qm)
        times.append((time.perf_counter() - t) * 1e6)
    times.sort()
    p = lambda q: times[min(len(times) - 1, int(q * len(times)))]  # noqa: E731
    chars = statistics.median(sum(len(x["content"]) for x in m) for m in prompts)
    print(f"router decision over {len(times)} prompts (median {chars:.0f} chars): "
          f"p50 {p(0.5):.0f} us, p99 {p(0.99):.0f} us, max {times[-1]:.0f} us; "
          f"weights load {load * 1e3:.0f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
