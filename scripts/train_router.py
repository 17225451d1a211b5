#!/usr/bin/env python
"""Rebuild the learned router's shipped weights from ../shared/data (train splits only).

    .venv/bin/python scripts/train_router.py [--data ../shared/data] [--out triage/data/router]
                                            [--figures]

Writes ``weights.json`` (the quality model), ``neighbors.json`` (similar training prompts and
the seen models' scores on them), ``arena.json`` (LMArena category ratings used as
skill priors), ``seen.json`` (the names of the models the data scored and their rating range:
what the hybrid router reads to know whether a pool is the learned model's) and ``provenance.json`` (data file hashes, date, command, hyper-parameters and,
with ``--figures``, the figures of ``python -m triage.eval.all --folds 3 --bootstrap 200 --transfer``, also
written as a table to ``figures.md``) into the output directory.
Needs the ``train`` extra (numpy, scipy). Training takes well under a minute on 2 cores.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from triage.eval.data import load_items, load_pool  # noqa: E402
from triage.routing.learned import train  # noqa: E402
from triage.routing.learned.hybrid import Evidence  # noqa: E402
from triage.routing.learned.prior import read_arena_csv  # noqa: E402

TRAIN_FILES = (("mmlu_pro.train.jsonl", "mmlu_pro"), ("llmrouter.train.jsonl", "llmrouter"))
ARENA_FILE = "arena/arena_text_stylectrl_2025-12-11.csv"
SEEN_NOTE = ("The models the shipped weights were fitted on (keys: arena name, else name, lower case) and the range of "
             "their overall LMArena ratings; written with weights.json by scripts/train_router.py. The hybrid router "
             "reads this, not the weights, to know whether a pool is the learned model's (triage/routing/learned/hybrid.py).")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def environment() -> dict[str, str]:
    import platform

    import numpy
    import scipy

    return {"python": platform.python_version(), "numpy": numpy.__version__, "scipy": scipy.__version__,
            "machine": platform.machine()}


def training_sets(data: Path, exclude: dict[str, set[str]] | None = None) -> list:
    """The training sets; ``exclude`` maps a file name to item ids left out (cross-validation)."""
    sets = []
    for fname, pool in TRAIN_FILES:
        _, models = load_pool(data / "routing" / "pools" / f"{pool}.json")
        items = load_items(data / "routing" / fname)
        if exclude and fname in exclude:
            items = [it for it in items if it["id"] not in exclude[fname]]
        sets.append(train.TrainSet(pool, items, models))
    return sets


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--out", default=str(ROOT / "triage" / "data" / "router"))
    ap.add_argument("--figures", action="store_true", help="also run triage.eval.all and record")
    args = ap.parse_args(argv)
    data, out = Path(args.data), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    log = lambda m: print(m, file=sys.stderr)  # noqa: E731
    arena = read_arena_csv(data / ARENA_FILE)
    (out / "arena.json").write_text(
        json.dumps({"source": ARENA_FILE, "ratings": arena}, sort_keys=True, separators=(",", ":"))
    )
    hp = train.Hyper()
    sets = training_sets(data)
    weights = train.fit(sets, arena, hp, log=log)
    (out / "weights.json").write_text(json.dumps(weights, separators=(",", ":")))
    ev = Evidence.of(weights["seen"], arena)
    (out / "seen.json").write_text(json.dumps({"note": SEEN_NOTE, "models": sorted(ev.seen),
                                               "rating_range": [ev.lo, ev.hi]}, indent=1) + "\n")
    index = train.neighbor_index(sets, weights, arena)
    (out / "neighbors.json").write_text(json.dumps(index, separators=(",", ":")))
    files = [f"routing/{f}" for f, _ in TRAIN_FILES]
    files += [f"routing/pools/{p}.json" for _, p in TRAIN_FILES] + [ARENA_FILE]
    try:  # code only: the files this run has just written are not "uncommitted changes" of the code
        written = [f":(exclude){out.resolve().relative_to(ROOT.resolve())}"]
    except ValueError:  # written outside the repository
        written = []
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False).stdout.strip()
        dirty = bool(subprocess.run(["git", "status", "--porcelain", "--", "triage", "scripts", *written], cwd=ROOT,
                                    capture_output=True, text=True, check=False).stdout.strip())
    except OSError:
        commit, dirty = "", False
    prov = {
        "built": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "code_commit": commit + (" (with uncommitted changes)" if dirty else ""),
        "command": "python scripts/train_router.py" + (" --figures" if args.figures else ""),
        # the fit is bit-reproducible with these versions; another numpy/scipy (L-BFGS, BLAS)
        # moves the weights in the 3rd-4th decimal (0.005 at most, seen on 2026-11-26)
        "environment": environment(),
        "data_files": {f: sha256(data / f) for f in files},
        "hyper": weights["hyper"],
        "neighbors": {k: index[k] for k in ("k", "kappa", "min_df", "max_df", "items")} | {"keys": len(index["keys"])},
        "topics": {k: index["topics"][k] for k in ("k", "kappa")},
        "sizes": {p.name: p.stat().st_size for p in sorted(out.glob("*.json")) if p.name != "provenance.json"},
        "figures": None,
    }
    (out / "provenance.json").write_text(json.dumps(prov, indent=2) + "\n")
    if args.figures:  # the figures of these weights, recorded next to them (~15 min)
        cmd = ["-m", "triage.eval.all", "--data", str(data), "--folds", "3", "--bootstrap", "200", "--transfer"]
        with tempfile.TemporaryDirectory() as tmp:
            js = Path(tmp) / "figures.json"
            res = subprocess.run([sys.executable, *cmd, "--json-out", str(js)],
                                 cwd=ROOT, check=True, capture_output=True, text=True)
            prov["figures"] = json.loads(js.read_text())
        prov["figures_command"] = "python " + " ".join(cmd[:2] + cmd[4:])
        (out / "provenance.json").write_text(json.dumps(prov, indent=2) + "\n")
        (out / "figures.md").write_text(
            "# Figures of the shipped router\n\n"
            f"Produced by `{prov['figures_command']}` on the weights of this directory (rebuilt by "
            f"`python scripts/train_router.py --figures`), code at {prov['code_commit']}. Held-out files "
            "with the shipped weights; training files by 3-fold cross-validation (refitted without the "
            "fold). `default_router` is the estimator `model: \"auto\"` uses (`Policy().router`).\n\n"
            "```\n" + res.stdout.rstrip("\n") + "\n```\n"
        )
    log(f"wrote {out}/weights.json, neighbors.json, arena.json, provenance.json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
