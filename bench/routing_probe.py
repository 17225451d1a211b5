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
    """A zero-argument callable doing one full routing decision, or raises with why not.

    Preferred: the gateway's own ``engine.plan`` on a ``Gateway`` built from the benchmark's
    environment (what a request runs); fallback: ``features.extract`` + ``decide`` on the catalog.
    """
    import tempfile

    try:
        from triage.config.loader import load_settings
        from triage.server.engine import plan
        from triage.server.state import Gateway
    except ImportError:
        plan = None
    if plan is not None:
        env = {"TRIAGE_HOME": tempfile.mkdtemp(prefix="triage-probe-"), "OPENAI_API_KEY": "sk-bench",
               "TRIAGE_OPENAI_BASE_URL": "http://127.0.0.1:9/v1"}
        gw = Gateway(load_settings(env))

        def once():
            return plan(gw, BODY, None)

        once()
        once.what = "engine.plan (features + decide + targets), OpenAI only"
        return once

    from triage.routing import decide as decide_mod
    from triage.routing import features as features_mod

    catalog = _catalog_models()
    policy = _policy()

    def once():
        f = features_mod.extract(BODY)
        return decide_mod.decide(f, catalog, policy, ("openai",))

    once()
    once.what = "features.extract + decide, OpenAI only"
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


def measure_in(src: str | None, quick: bool = False) -> dict:
    """``measure`` in a child process importing Triage from ``src`` (None: this interpreter's)."""
    import json
    import os
    import subprocess
    import sys

    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    code = ("import json, sys; sys.meta_path[:] = [f for f in sys.meta_path if 'Editable' not in "
            "getattr(f, '__name__', type(f).__name__)]; import triage; sys.path.insert(0, " + repr(repo) + "); "
            "from bench.routing_probe import measure; "
            f"print(json.dumps(measure({quick!r})))") if src else \
        f"import json; from bench.routing_probe import measure; print(json.dumps(measure({quick!r})))"
    path = os.pathsep.join(p for p in (src, repo) if p)
    try:
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                             cwd=src or repo, env={**os.environ, "PYTHONPATH": path})
        return json.loads(out.stdout.strip().splitlines()[-1])
    except (subprocess.SubprocessError, ValueError, IndexError) as e:
        return {"not_measured": f"probe process failed: {type(e).__name__}: {e}"}


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
            "calls": n, "what": once.what}
