#!/usr/bin/env python
"""Latency of the learned router's part of a routing decision: p50/p99 over real prompts.

    .venv/bin/python bench/router_latency.py [--n 3000] [--catalog production|eval|seen]

Prompts are the first N/2 items of ../shared/data/routing/mmlu_pro.dev.jsonl and of
llmrouter.train.jsonl. With ``--catalog production`` (default) they are routed over the shipped
catalog's 11 models exactly as the gateway does for ``model: "auto"``: the gateway's request
features are computed first (not timed: the gateway does that for every request whatever the
router), then timed, for the default estimator (``hybrid``, which takes the capability scores
on this catalog) and for ``routing.router: learned``:

- ``estimator``: the estimator the pool gets, on the request features and eligible models (the
  router's own cost: for the learned one its text features and the item-response forward pass
  for every model);
- ``decide``: the whole ``decide()`` call (filters, costs, the selection rule, the explanation).

``--catalog seen`` does the same over a catalog of the MMLU-Pro pool's 10 models (every one
scored by the training data): there the default estimator (``hybrid``) is the learned model with
the topics and the neighbour lookup of ``neighbors.py``, the heaviest path a request can take.
``--catalog eval`` times ``choose`` (the library's path: it also computes the gateway's cues and
the answer lengths) on a 4-model pool. Loading the
weights is excluded (done once per process). Timings are per call on one core of a shared
machine: read p99 with that in mind.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from triage.catalog.model import CatalogModel, load_catalog  # noqa: E402
from triage.config.settings import Policy  # noqa: E402
from triage.eval.data import load_pool  # noqa: E402
from triage.routing.decide import decide  # noqa: E402
from triage.routing.features import extract  # noqa: E402
from triage.routing.learned import QualityModel, choose  # noqa: E402
from triage.routing.learned.estimator import LearnedEstimator  # noqa: E402
from triage.routing.learned.hybrid import HybridEstimator  # noqa: E402
from triage.routing.pool import PoolModel  # noqa: E402

EVAL_POOL = [
    PoolModel("gpt-5.4", 2.5, 15.0, "gpt-5.1"),
    PoolModel("claude-sonnet-4-6", 3.0, 15.0, "claude-sonnet-4-5-20250929"),
    PoolModel("gemini-2.5-flash", 0.3, 2.5, "gemini-2.5-flash"),
    PoolModel("some-unrated-model", 0.1, 0.4),
]
PROVIDERS = ("openai", "anthropic", "gemini")


def percentiles(times: list[float]) -> tuple[float, float, float]:
    times = sorted(times)
    p = lambda q: times[min(len(times) - 1, int(q * len(times)))]  # noqa: E731
    return p(0.5), p(0.99), times[-1]


def timed(fn, args_list) -> list[float]:
    for a in args_list[:200]:  # warm-up
        fn(*a)
    out = []
    gc.disable()
    try:
        for a in args_list:
            t = time.perf_counter()
            fn(*a)
            out.append((time.perf_counter() - t) * 1e6)
    finally:
        gc.enable()
    return out


def seen_catalog(pool) -> tuple:
    """The MMLU-Pro pool as catalog models on one provider, as a gateway configured with them
    (``models:`` entries with their ``arena_name``) would hold them."""
    return tuple(CatalogModel(name=m.name, provider="local", input_per_mtok=m.input_per_mtok,
                              output_per_mtok=m.output_per_mtok, context_window=128000, arena_name=m.arena_name)
                 for m in pool)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=3000)
    ap.add_argument("--catalog", choices=("production", "eval", "seen"), default="production")
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
    chars = statistics.median(sum(len(x["content"]) for x in m) for m in prompts)
    head = f"over {len(prompts)} prompts (median {chars:.0f} chars); weights load {load * 1e3:.0f} ms"
    if args.catalog == "eval":
        times = timed(lambda m: choose(m, EVAL_POOL, 0.9, quality_model=qm), [(m,) for m in prompts])
        p50, p99, mx = percentiles(times)
        print(f"choose() on a {len(EVAL_POOL)}-model pool (eval) {head}: p50 {p50:.0f} us, p99 {p99:.0f} us, max {mx:.0f} us")
        return 0
    if args.catalog == "seen":
        models, providers = seen_catalog(load_pool(data / "pools" / "mmlu_pro.json")[1]), ("local",)
        what = f"a catalog of the {len(models)} MMLU-Pro models (every one scored by the training data)"
    else:
        models, providers = load_catalog(None).models, PROVIDERS
        what = f"production catalog: {len(models)} models"
    feats = [extract({"messages": m}) for m in prompts]
    policy = Policy()
    hybrid = HybridEstimator(load=lambda: qm)
    hybrid.prepare(models)
    print(f"{what}, {head}; the default estimator (hybrid) takes the "
          f"{'learned' if hybrid.covers(models) else 'capability'} estimator here")
    for label, est in (("hybrid", hybrid), ("learned", LearnedEstimator(qm))):
        if label == "learned" and hybrid.covers(models):
            continue  # the same path
        est_for = est.for_pool(models) if label == "hybrid" else est
        for name, fn, a in (
            (f"{label} estimator", est_for, [(f, models) for f in feats]),
            (f"{label} decide", lambda f, e=est: decide(f, models, policy, providers, estimator=e), [(f,) for f in feats]),
        ):
            p50, p99, mx = percentiles(timed(fn, a))
            print(f"  {name:18s} p50 {p50:5.0f} us   p99 {p99:5.0f} us   max {mx:6.0f} us")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
