"""The figures of docs/router.md: every dataset of ../shared/data/routing, one command.

    python -m triage.eval.all [--data ../shared/data] [--format table|json] [--folds 5] [--transfer]

Held-out files (``*.dev.jsonl``, ``routellm_mmlu.jsonl``) are measured with the shipped
weights. Training files are measured by K-fold cross-validation: for each fold the quality
model is refitted (``train`` extra needed) on every other training file plus the other folds,
and predicts the held-out fold; the folds' predictions are then evaluated together. With
``--transfer`` each training file is also measured with a model fitted on the other training
sources only (leave one source out): the closest thing here to data from a source never seen.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from triage.eval import evaluate, output
from triage.eval.cli import ALL_ROUTERS, run_routers
from triage.eval.data import load_dataset
from triage.eval.routers import DEFAULT_ROUTER, PRODUCT_ROUTERS, predict_learned

ROOT = Path(__file__).resolve().parents[2]
POOL_OF = {"mmlu_pro": "mmlu_pro", "llmrouter": "llmrouter", "routellm_mmlu": "routellm"}


def fold_of(item_id: str, k: int) -> int:
    import hashlib

    return int(hashlib.sha256(item_id.encode()).hexdigest(), 16) % k


def cv_predictions(ds, data: Path, fname: str, folds: int, log):
    """Per-item predictions for a training file, each from a model that never saw the item."""
    sys.path.insert(0, str(ROOT / "scripts"))
    from train_router import training_sets  # the same sets as the shipped model

    from triage.routing.learned import QualityModel, train
    from triage.routing.learned.neighbors import NeighborIndex
    from triage.routing.learned.prior import read_arena_csv

    arena = read_arena_csv(data / "arena" / "arena_text_stylectrl_2025-12-11.csv")
    preds = np.zeros(ds.quality.shape)
    models_of = []
    for f in range(folds):
        held = {i for i in ds.ids if fold_of(i, folds) == f}
        log(f"cv {fname}: fold {f + 1}/{folds}, {len(held)} items held out")
        sets = training_sets(data, {fname: held})
        weights = train.fit(sets, arena, train.Hyper(), log=log)
        qm = QualityModel(weights, arena, NeighborIndex(train.neighbor_index(sets, weights, arena)))
        idx = [j for j, i in enumerate(ds.ids) if i in held]
        preds[idx] = predict_learned(ds.subset(idx), qm)
        models_of.append(qm)
    return preds, models_of[0]


def transfer_predictions(ds, data: Path, fname: str, log):
    """Per-item predictions for a training file from a model fitted on the *other* training
    sources only (leave one source out): how the router does on a source it never saw, the
    nearest thing here to the datasets kept aside."""
    sys.path.insert(0, str(ROOT / "scripts"))
    from train_router import TRAIN_FILES, training_sets

    from triage.routing.learned import QualityModel, train
    from triage.routing.learned.neighbors import NeighborIndex
    from triage.routing.learned.prior import read_arena_csv

    arena = read_arena_csv(data / "arena" / "arena_text_stylectrl_2025-12-11.csv")
    sets = [s for (f, _), s in zip(TRAIN_FILES, training_sets(data)) if f != fname]
    log(f"transfer {fname}: fitted on {[s.name for s in sets]} only")
    weights = train.fit(sets, arena, train.Hyper(), log=log)
    qm = QualityModel(weights, arena, NeighborIndex(train.neighbor_index(sets, weights, arena)))
    return predict_learned(ds, qm), qm


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="python -m triage.eval.all")
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--format", choices=("table", "json"), default="table")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--bootstrap", type=int, default=200)
    ap.add_argument("--plots", metavar="DIR", help="draw one picture per dataset here")
    ap.add_argument("--json-out", metavar="FILE", help="also write the JSON results here (with the table)")
    ap.add_argument("--transfer", action="store_true",
                    help="also measure each training file with a model fitted on the other sources only")
    args = ap.parse_args(argv)
    data = Path(args.data)
    log = lambda m: print(m, file=sys.stderr)  # noqa: E731
    results, tables = {}, []

    def measured(ds, runs, key: str, how: str) -> dict:
        rep = evaluate.report(ds, runs, DEFAULT_ROUTER)
        results[key] = {"measured": how, **rep}
        if args.format == "table":
            boot = evaluate.bootstrap(ds, runs, args.bootstrap)
            text = output.table(rep, boot)
            for other in PRODUCT_ROUTERS:  # the other product routers' intervals too
                if other != DEFAULT_ROUTER and other in rep["routers"]:
                    text += "\n" + output.diffs(rep, boot, other)
            tables.append(f"## {key.removesuffix('.transfer')} ({how})\n\n" + text)
        return rep

    for path in sorted((data / "routing").glob("*.jsonl")):
        stem = path.name[: -len(".jsonl")]
        base = stem.split(".")[0]
        pool = data / "routing" / "pools" / f"{POOL_OF.get(base, base)}.json"
        ds = load_dataset(path, pool)
        log(f"all: {stem}: {len(ds)} items")
        if stem.endswith(".train"):
            preds, qm = cv_predictions(ds, data, path.name, args.folds, log)
            runs = run_routers(ds, ALL_ROUTERS, quality_model=qm, predictions=preds, log=log)
            how = f"{args.folds}-fold cross-validation"
        else:
            runs = run_routers(ds, ALL_ROUTERS, log=log)
            how = "held out, shipped weights"
        rep = measured(ds, runs, stem, how)
        if args.plots:
            Path(args.plots).mkdir(parents=True, exist_ok=True)
            output.plot(rep, str(Path(args.plots) / f"{stem}.png"))
        if args.transfer and stem.endswith(".train"):
            preds, qm = transfer_predictions(ds, data, path.name, log)
            runs = run_routers(ds, ALL_ROUTERS, quality_model=qm, predictions=preds, log=log)
            measured(ds, runs, f"{stem}.transfer", "transfer: fitted on the other training sources only")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(output.finite(results), allow_nan=False) + "\n")
    if args.format == "json":
        sys.stdout.write(json.dumps(output.finite(results), allow_nan=False) + "\n")
    else:
        sys.stdout.write("\n\n".join(tables) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
