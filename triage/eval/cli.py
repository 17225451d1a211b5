"""``triage eval``: measure routers on a scored dataset (``python -m triage.eval`` until wired).

Stdout carries only the result (the table, or the JSON object of issue 3); progress goes to
stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

ALL_ROUTERS = ("hybrid", "learned", "capability", "random", "oracle", "seed_keywords", "cheapest")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="triage eval", description=__doc__.split("\n")[0])
    p.add_argument("--data", required=True, help="scored items, JSONL (format v1)")
    p.add_argument("--pool", required=True, help="pool JSON (models, prices, arena names)")
    p.add_argument("--router", action="append", choices=ALL_ROUTERS,
                   help="router to run (repeatable); default: all")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.add_argument("--plot", metavar="FILE.png", help="draw all curves into this picture")
    p.add_argument("--limit", type=int, help="only the first N items (a quick slice)")
    p.add_argument("--bootstrap", type=int, default=200, metavar="N",
                   help="paired-bootstrap resamples for the table's intervals (0: none)")
    p.add_argument("--seed", type=int, default=0)
    return p


def run_routers(ds, names, *, quality_model=None, predictions=None, log=None) -> list:
    # predictions come with the quality model that made them (its answer-length estimates)
    """Decisions of the named routers on ``ds``. ``predictions`` (items x models) replaces the
    shipped quality model (used by cross-validation)."""
    from triage.eval import routers
    from triage.routing.learned import QualityModel

    log = log or (lambda msg: print(msg, file=sys.stderr))
    done: dict = {}

    def run(name: str):
        if name in done:
            return done[name]
        t = time.perf_counter()
        if name == "random":
            r = routers.run_random(ds)
        elif name == "oracle":
            r = routers.run_oracle(ds)
        elif name == "cheapest":
            r = routers.run_cheapest(ds)
        elif name == "hybrid":  # the default: one of the two below, chosen by the pool
            r = routers.run_hybrid(ds, model(), run("learned"), run("capability"))
        elif name == "capability":
            r = routers.run_capability(ds, model().arena, model().price_slope)
        elif name == "seed_keywords":
            r = routers.run_seed_keywords(ds, model().arena)
        elif name == "learned":
            preds = predictions if predictions is not None else routers.predict_learned(ds, model())
            r = routers.run_learned(ds, preds, model(), name)
        else:
            raise ValueError(f"unknown router {name!r}")
        log(f"eval: {name} routed {len(ds)} items in {time.perf_counter() - t:.1f}s")
        done[name] = r
        return r

    def model():
        nonlocal quality_model
        if quality_model is None:
            quality_model = QualityModel.load_default()
        return quality_model

    return [run(name) for name in names]


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    log = lambda msg: print(msg, file=sys.stderr)  # noqa: E731
    try:
        from triage.eval import evaluate, output, routers
        from triage.eval.data import load_dataset
    except ImportError as e:
        log(f"triage eval needs numpy: pip install 'llm-triage[eval]' ({e})")
        return 2
    try:
        ds = load_dataset(args.data, args.pool, limit=args.limit)
    except (OSError, ValueError) as e:  # unreadable file, a line that is not JSON, a bad pool or score
        log(f"eval: {e}")
        return 2
    if len(ds) == 0:
        log("eval: no item has scores for every model of the pool")
        return 2
    dropped = ds.extra.get("dropped", 0)
    log(f"eval: {len(ds)} items x {len(ds.models)} models from {args.data}"
        + (f" ({dropped} dropped: not scored for every model of the pool)" if dropped else ""))
    names = args.router or list(ALL_ROUTERS)
    runs = run_routers(ds, names, log=log)
    default = routers.DEFAULT_ROUTER if routers.DEFAULT_ROUTER in names else names[0]
    rep = evaluate.report(ds, runs, default)
    if args.format == "json":
        sys.stdout.write(json.dumps(output.finite(rep), allow_nan=False) + "\n")
    else:
        boot = evaluate.bootstrap(ds, runs, args.bootstrap, args.seed) if args.bootstrap else None
        sys.stdout.write(output.table(rep, boot) + "\n")
    if args.plot:
        output.plot(rep, args.plot)
        log(f"eval: curves drawn in {args.plot}")
    return 0
