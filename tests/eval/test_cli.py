"""``triage eval`` end to end on a small slice of each dataset (correctness, not figures)."""

import json
from pathlib import Path

import pytest

from triage.config.settings import Policy
from triage.eval.cli import main

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "routing"
CASES = [
    ("mmlu_pro.dev.jsonl", "mmlu_pro"),
    ("llmrouter.train.jsonl", "llmrouter"),
    ("routellm_mmlu.jsonl", "routellm"),
]
KEYS = {"aiq", "cost_at_95", "cost_at_100", "quality_at_cost_10", "curve", "apgr", "cpt50",
        "cpt80", "calls_share"}


@pytest.mark.parametrize("fname,pool", CASES)
def test_json_schema_and_sanity(fname, pool, capsys):
    if not (DATA / fname).exists():
        pytest.skip("shared data not present")
    rc = main(["--data", str(DATA / fname), "--pool", str(DATA / "pools" / f"{pool}.json"),
               "--limit", "80", "--format", "json"])
    assert rc == 0
    out = capsys.readouterr().out
    rep = json.loads(out)  # stdout is exactly one JSON object
    assert set(rep) == {"dataset", "items", "pool", "default_router", "best_single", "routers"}
    assert rep["default_router"] == Policy().router  # the estimator ``model: "auto"`` uses
    assert set(rep["routers"]) == {"hybrid", "learned", "capability", "random", "oracle", "seed_keywords", "cheapest"}
    # the default is the learned router on these pools: scored in full (MMLU-Pro, LLMRouter), or
    # rated within the range of the scored models (RouteLLM: GPT-4-1106 was never scored)
    assert rep["routers"]["hybrid"] == rep["routers"]["learned"]
    for r in rep["routers"].values():
        assert set(r) == KEYS
        assert sum(r["calls_share"].values()) == pytest.approx(1.0, abs=1e-4)
        costs = [c for c, _ in r["curve"]]
        assert costs == sorted(costs)
    routers = rep["routers"]
    assert routers["oracle"]["aiq"] >= routers["random"]["aiq"] >= routers["cheapest"]["aiq"]
    # the zero router reaches the best single model at exactly its cost
    assert routers["random"]["cost_at_100"] == pytest.approx(1.0)
    two = len(rep["pool"]) == 2
    assert (routers["random"]["apgr"] is not None) == two
    if two:
        assert routers["random"]["apgr"] == pytest.approx(0.5)


def test_table_and_plot(tmp_path, capsys):
    if not (DATA / "mmlu_pro.dev.jsonl").exists():
        pytest.skip("shared data not present")
    pytest.importorskip("matplotlib")
    png = tmp_path / "curves.png"
    rc = main(["--data", str(DATA / "mmlu_pro.dev.jsonl"), "--pool",
               str(DATA / "pools" / "mmlu_pro.json"), "--limit", "60", "--bootstrap", "20",
               "--router", "learned", "--router", "random", "--plot", str(png)])
    assert rc == 0
    out = capsys.readouterr().out
    assert "dAIQ vs learned" in out and "random" in out
    assert png.stat().st_size > 1000


def test_other_product_routers_get_their_intervals_too():
    """``triage.eval.all`` prints, besides the default's column, each other product router's
    paired-bootstrap AIQ difference to every router."""
    if not (DATA / "mmlu_pro.dev.jsonl").exists():
        pytest.skip("shared data not present")
    from triage.eval import evaluate, output
    from triage.eval.cli import ALL_ROUTERS, run_routers
    from triage.eval.data import load_dataset

    ds = load_dataset(DATA / "mmlu_pro.dev.jsonl", DATA / "pools" / "mmlu_pro.json", limit=60)
    runs = run_routers(ds, ALL_ROUTERS, log=lambda m: None)
    rep = evaluate.report(ds, runs, "capability")
    text = output.diffs(rep, evaluate.bootstrap(ds, runs, 20), "learned")
    assert text.startswith("dAIQ of learned vs each router")
    assert "random" in text and "capability" in text and "  learned " not in text


def test_a_dataset_every_model_fails_gives_a_table_not_a_crash(tmp_path, capsys):
    """Best quality 0 (a small slice of a hard file, or a bootstrap resample of one): "relative
    to the best" is undefined and printed as nan; everything else is reported."""
    pool = tmp_path / "pool.json"
    pool.write_text(json.dumps({"models": [{"name": "a", "input_per_mtok": 1, "output_per_mtok": 2},
                                           {"name": "b", "input_per_mtok": 0.1, "output_per_mtok": 0.2}]}))
    data = tmp_path / "d.jsonl"
    data.write_text("".join(json.dumps({"id": str(i), "messages": [{"role": "user", "content": f"q{i}"}],
                                        "scores": {"a": 0.0, "b": 0.0}}) + "\n" for i in range(12)))
    assert main(["--data", str(data), "--pool", str(pool), "--bootstrap", "20"]) == 0
    out = capsys.readouterr().out
    assert "best single" in out and "nan" in out and "random" in out


def test_a_pool_whose_best_model_is_free_gives_strict_json(tmp_path, capsys):
    """Costs are fractions of the best single model's cost; a free best model (a local model
    priced 0) makes them fractions of the dearest model's instead of NaN, and the JSON never
    carries NaN (strict parsers reject it)."""
    pool = tmp_path / "pool.json"
    pool.write_text(json.dumps({"models": [{"name": "local", "input_per_mtok": 0, "output_per_mtok": 0},
                                           {"name": "api", "input_per_mtok": 1, "output_per_mtok": 2}]}))
    data = tmp_path / "d.jsonl"
    data.write_text("".join(json.dumps({"id": str(i), "messages": [{"role": "user", "content": f"q{i}"}],
                                        "scores": {"local": float(i % 4 > 0), "api": float(i % 2)}}) + "\n"
                            for i in range(12)))
    assert main(["--data", str(data), "--pool", str(pool), "--format", "json"]) == 0
    rep = json.loads(capsys.readouterr().out, parse_constant=lambda c: pytest.fail(f"{c} in the JSON"))
    assert rep["best_single"]["model"] == "local" and rep["best_single"]["cost"] == 0.0
    for r in rep["routers"].values():
        assert all(0.0 <= c <= 1.0 for c, _ in r["curve"])
