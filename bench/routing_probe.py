"""Routing decision time, measured in-process: features extraction + ``triage.routing.decide``.

Finds the gateway's routing entry point, feeds it a typical chat body with only OpenAI
configured (the benchmark's configuration) and times many calls. Reports ``not_measured``
with the reason when the entry point is missing or its signature changed.
"""

from __future__ import annotations

import time

from bench.stats import percentile

BODY = {"model": "auto", "messages": [
    {"role": "system", "content": "You are a concise assistant."},
    {"role": "user", "content": "Summarise the main trade-offs between latency and cost when routing LLM requests."}]}


def _decider():
    """A zero-argument callable doing one full routing decision, or raises with why not."""
    from triage.routing import decide as decide_mod
    from triage.routing import features as features_mod

    catalog = _catalog_models()
    policy = _policy()

    def once():
        f = features_mod.extract(BODY)
        return decide_mod.decide(f, catalog, policy, ("openai",))

    once()
    return once


def _catalog_models():
    import triage.catalog as cat

    for name in ("load_catalog", "load", "default_catalog", "builtin"):
        fn = getattr(cat, name, None)
        if callable(fn):
            c = fn()
            models = getattr(c, "models", c)
            return list(models.values()) if isinstance(models, dict) else list(models)
    raise LookupError("triage.catalog exposes no loader (load_catalog/load/default_catalog)")


def _policy():
    from triage.config.settings import Policy

    return Policy()


def measure(quick: bool = False) -> dict:
    try:
        once = _decider()
    except Exception as e:  # the gateway is still being built: say why, never fail the run
        return {"not_measured": f"{type(e).__name__}: {e}"}
    n = 300 if quick else 3000
    samples = []
    for _ in range(n):
        t0 = time.perf_counter_ns()
        once()
        samples.append((time.perf_counter_ns() - t0) / 1000)
    return {"p50_us": round(percentile(samples, 50), 2), "p99_us": round(percentile(samples, 99), 2),
            "calls": n, "what": "features.extract + decide, OpenAI only"}
