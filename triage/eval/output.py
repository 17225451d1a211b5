"""Rendering an evaluation: strict JSON, the text table (with paired-bootstrap CIs) and the
``--plot`` picture."""

from __future__ import annotations

import math

import numpy as np


def finite(obj):
    """``obj`` with every NaN or infinity replaced by None: the output is strict JSON (RFC 8259
    has no NaN; ``json.dumps`` would write one and most parsers would reject the document)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite(v) for v in obj]
    return obj


def _ci(values: np.ndarray) -> tuple[float, float] | None:
    v = values[~np.isnan(values)]
    if len(v) < 10:
        return None
    return float(np.percentile(v, 2.5)), float(np.percentile(v, 97.5))


def _fmt(x, digits=3) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def diffs(rep: dict, boot: dict, against: str) -> str:
    """Paired-bootstrap AIQ differences of ``against`` (a product router other than the
    default) to every other router: the default's column of ``table``, for that router."""
    lines = [f"dAIQ of {against} vs each router (95% paired-bootstrap interval):"]
    a = rep["routers"][against]["aiq"]
    for name, r in rep["routers"].items():
        if name == against or name not in boot or against not in boot:
            continue
        c = _ci(boot[against]["aiq"] - boot[name]["aiq"])
        if c:
            tie = "" if (c[0] > 0 or c[1] < 0) else " tie"
            lines.append(f"  {name:<14} {a - r['aiq']:+.4f} [{c[0]:+.4f},{c[1]:+.4f}]{tie}")
    return "\n".join(lines)


def table(rep: dict, boot: dict | None) -> str:
    best = rep["best_single"]
    qb = best["quality"]
    rel = (lambda q: q / qb) if qb > 0 else (lambda q: float("nan"))  # every model scored 0: no "relative"
    lines = [
        f"dataset {rep['dataset']}: {rep['items']} items, pool of {len(rep['pool'])}; "
        f"best single {best['model']} quality {qb:.4f}, cost ${best['cost'] * 1e3:.4f}/1k requests",
        "costs are fractions of the best single model's cost; q@10 is quality at 10% of it, "
        "relative to the best; [..] = 95% paired-bootstrap interval",
        "",
        f"{'router':<14} {'AIQ':>7} {'AIQ 95% CI':>17} {'dAIQ vs ' + rep['default_router']:>30}"
        f" {'cost@95':>8} {'cost@100':>8} {'q@10':>6} {'APGR':>6} {'CPT50':>6} {'CPT80':>6}",
    ]
    d = rep["default_router"]
    for name, r in rep["routers"].items():
        ci = diff = ""
        if boot and name in boot:
            c = _ci(boot[name]["aiq"])
            ci = f"[{c[0]:.4f},{c[1]:.4f}]" if c else ""
            if name != d and d in boot:
                dv = boot[d]["aiq"] - boot[name]["aiq"]
                c = _ci(dv)
                point = rep["routers"][d]["aiq"] - r["aiq"]
                if c:
                    tie = "" if (c[0] > 0 or c[1] < 0) else " tie"
                    diff = f"{point:+.4f} [{c[0]:+.4f},{c[1]:+.4f}]{tie}"
        lines.append(
            f"{name:<14} {r['aiq']:>7.4f} {ci:>17} {diff:>30} {_fmt(r['cost_at_95']):>8}"
            f" {_fmt(r['cost_at_100']):>8} {rel(r['quality_at_cost_10']):>6.3f}"
            f" {_fmt(r['apgr']):>6} {_fmt(r['cpt50']):>6} {_fmt(r['cpt80']):>6}"
        )
    lines.append("")
    lines.append("quality (relative to best) at budgets 5% / 10% / 20% / 50% / 100%:")
    from triage.eval.metrics import quality_at

    for name, r in rep["routers"].items():
        hull = [tuple(p) for p in r["curve"]]
        qs = " ".join(f"{rel(quality_at(hull, b)):6.3f}" for b in (0.05, 0.1, 0.2, 0.5, 1.0))
        lines.append(f"  {name:<14} {qs}")
    if rep["routers"].get(d):
        share = rep["routers"][d].get("calls_share", {})
        top = sorted(share.items(), key=lambda kv: -kv[1])
        lines.append(
            f"calls share of {d} at 95% of best: "
            + ", ".join(f"{k} {v:.2f}" for k, v in top if v >= 0.005)
        )
    return "\n".join(lines)


def plot(rep: dict, path: str) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise SystemExit(
            "--plot needs matplotlib: pip install 'llm-triage[plot]'"
        ) from e
    fig, ax = plt.subplots(figsize=(7, 5))
    for name, r in rep["routers"].items():
        xs, ys = zip(*r["curve"]) if r["curve"] else ((), ())
        style = "--" if name in ("random", "cheapest", "seed_keywords") else "-"
        ax.plot(xs, ys, style, marker=".", label=name)
    ax.axhline(rep["best_single"]["quality"], color="grey", lw=0.5)
    ax.set_xscale("log")
    ax.set_xlabel("cost (fraction of the best single model's)")
    ax.set_ylabel("mean quality")
    ax.set_title(f"{rep['dataset']} ({rep['items']} items)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
