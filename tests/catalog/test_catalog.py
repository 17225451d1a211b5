"""The shipped model catalog: the seed's 11 models at the maintained table's prices, scores
in range, reproducible from its script, overridable from config, priced per token kind, and
a stale catalog reported on stderr only."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.gateway import ROOT, clean_env
from triage.catalog.model import STALE_AFTER_DAYS, TASK_TYPES, CatalogModel, load_catalog, parse_catalog

SHARED = Path(__file__).parents[2].parent / "shared/data"
PRICES = SHARED / "prices/model_prices_litellm-1.110.2.json"
needs_shared = pytest.mark.skipif(not PRICES.is_file(), reason=f"shared price table not found at {PRICES}")

# catalog name -> key in LiteLLM's price table
SEED = {
    "gpt-5.4": "gpt-5.4", "gpt-5.4-mini": "gpt-5.4-mini", "gpt-5.4-nano": "gpt-5.4-nano", "o3": "o3", "o4-mini": "o4-mini",
    "claude-opus-4-6": "claude-opus-4-6", "claude-sonnet-4-6": "claude-sonnet-4-6", "claude-haiku-4-5": "claude-haiku-4-5",
    "gemini-2.5-pro": "gemini/gemini-2.5-pro", "gemini-2.5-flash": "gemini/gemini-2.5-flash",
    "gemini-2.5-flash-lite": "gemini/gemini-2.5-flash-lite",
}  # fmt: skip
PROVIDER = {"gpt": "openai", "o3": "openai", "o4": "openai", "claude": "anthropic", "gemini": "gemini"}

CATALOG = load_catalog(None)


def test_the_seed_models_are_present_with_their_providers() -> None:
    assert set(SEED) <= set(CATALOG.names())
    assert len(CATALOG.names()) == len(set(CATALOG.names())), "duplicate names"
    for name in SEED:
        m = CATALOG.get(name)
        assert m is not None
        assert m.provider == next(p for prefix, p in PROVIDER.items() if name.startswith(prefix))


@needs_shared
@pytest.mark.parametrize("name", list(SEED))
def test_prices_and_context_match_the_maintained_table(name: str) -> None:
    row = json.loads(PRICES.read_text())[SEED[name]]
    m = CATALOG.get(name)
    assert m is not None
    assert m.input_per_mtok == pytest.approx(row["input_cost_per_token"] * 1e6)
    assert m.output_per_mtok == pytest.approx(row["output_cost_per_token"] * 1e6)
    if row.get("cache_read_input_token_cost"):
        assert m.cached_input_per_mtok == pytest.approx(row["cache_read_input_token_cost"] * 1e6)
    if row.get("cache_creation_input_token_cost"):
        assert m.cache_write_per_mtok == pytest.approx(row["cache_creation_input_token_cost"] * 1e6)
    assert m.context_window == row["max_input_tokens"]
    assert m.tools == bool(row.get("supports_function_calling"))
    assert m.vision == bool(row.get("supports_vision"))
    assert m.reasoning == bool(row.get("supports_reasoning"))


@pytest.mark.parametrize("name", list(SEED))
def test_capability_scores_cover_every_task_and_are_in_range(name: str) -> None:
    m = CATALOG.get(name)
    assert m is not None
    assert set(m.capability) == set(TASK_TYPES)
    for task, score in m.capability.items():
        assert 0 < score <= 1, (task, score)


def test_capability_orders_tiers_sensibly() -> None:
    """Within a family the bigger model is at least as capable on every task type."""
    for big, small in [("gpt-5.4", "gpt-5.4-mini"), ("gpt-5.4-mini", "gpt-5.4-nano"), ("claude-opus-4-6", "claude-sonnet-4-6"),
                       ("claude-sonnet-4-6", "claude-haiku-4-5"), ("gemini-2.5-pro", "gemini-2.5-flash"), ("gemini-2.5-flash", "gemini-2.5-flash-lite")]:  # fmt: skip
        b, s = CATALOG.get(big), CATALOG.get(small)
        assert b and s
        for t in TASK_TYPES:
            assert b.capability[t] >= s.capability[t], (big, small, t)


def test_catalog_is_dated_and_sourced() -> None:
    dt.date.fromisoformat(CATALOG.updated)
    assert CATALOG.provenance["prices"]["file"].startswith("model_prices_litellm-")
    assert CATALOG.provenance["arena"]["file"].startswith("arena_text_stylectrl_")
    assert "build_catalog.py" in CATALOG.provenance["command"]


@needs_shared
def test_build_script_reproduces_the_shipped_models(tmp_path: Path) -> None:
    out = tmp_path / "catalog.json"
    r = subprocess.run([sys.executable, str(ROOT / "scripts/build_catalog.py"), "--shared", str(SHARED), "--out", str(out)],
                       capture_output=True, text=True, timeout=60, env=clean_env(), cwd=tmp_path)  # fmt: skip
    assert r.returncode == 0, r.stderr
    built = json.loads(out.read_text())
    shipped = json.loads((ROOT / "triage/data/catalog.json").read_text())
    assert built["models"] == shipped["models"]
    assert built["provenance"] == shipped["provenance"]
    assert built["updated"] == dt.date.today().isoformat()
    assert not (ROOT / "triage/data/catalog.json").samefile(out)


# --- overrides ------------------------------------------------------------------------------


def test_overrides_merge_into_an_existing_model() -> None:
    base = CATALOG.get("gpt-5.4")
    assert base is not None
    cat = CATALOG.with_overrides([{"name": "gpt-5.4", "input_per_mtok": 1.0, "capability": {"coding": 0.99}}])
    m = cat.get("gpt-5.4")
    assert m is not None
    assert m.input_per_mtok == 1.0
    assert m.output_per_mtok == base.output_per_mtok  # untouched fields kept
    assert m.context_window == base.context_window
    assert m.capability["coding"] == 0.99
    assert m.capability["creative"] == base.capability["creative"]  # capability merged, not replaced
    assert CATALOG.get("gpt-5.4") == base  # the original is immutable
    assert cat.names() == CATALOG.names()  # same order, no duplicate


def test_overrides_add_a_new_model() -> None:
    cat = CATALOG.with_overrides([{"name": "llama3.3", "provider": "ollama", "input_per_mtok": 0, "output_per_mtok": 0,
                                   "context_window": 128000, "capability": {"general": 0.6}, "upstream_name": "llama3.3:70b"}])  # fmt: skip
    m = cat.get("llama3.3")
    assert m is not None and m.provider == "ollama" and m.upstream_name == "llama3.3:70b"
    assert m.capability_for("coding") == 0.6  # falls back to general
    assert len(cat.models) == len(CATALOG.models) + 1


def test_overrides_from_a_config_file_reach_the_catalog(tmp_path: Path) -> None:
    from triage.config import load_settings

    cfg = tmp_path / "c.yaml"
    cfg.write_text("models:\n  - name: claude-haiku-4-5\n    output_per_mtok: 4.0\n")
    s = load_settings({"TRIAGE_HOME": str(tmp_path)}, cfg)
    assert CATALOG.with_overrides(s.model_overrides).get("claude-haiku-4-5").output_per_mtok == 4.0  # type: ignore[union-attr]


def test_a_user_catalog_in_home_replaces_the_shipped_one(tmp_path: Path) -> None:
    data = json.loads((ROOT / "triage/data/catalog.json").read_text())
    data["models"] = data["models"][:2]
    data["updated"] = "2030-01-01"
    (tmp_path / "catalog.json").write_text(json.dumps(data))
    cat = load_catalog(tmp_path)
    assert len(cat.models) == 2 and cat.updated == "2030-01-01"
    assert load_catalog(tmp_path / "empty") == CATALOG


# --- cost -----------------------------------------------------------------------------------


def test_cost_prices_each_kind_of_token() -> None:
    m = CatalogModel("m", "anthropic", input_per_mtok=3.0, output_per_mtok=15.0, cached_input_per_mtok=0.3, cache_write_per_mtok=3.75)
    # input_tokens counts every prompt token, cached and cache-written ones included.
    assert m.cost(1_000_000, 0) == pytest.approx(3.0)
    assert m.cost(0, 1_000_000) == pytest.approx(15.0)
    assert m.cost(1_000_000, 0, cached_input_tokens=400_000) == pytest.approx(0.6 * 3.0 + 0.4 * 0.3)
    assert m.cost(1_000_000, 0, cache_write_tokens=200_000) == pytest.approx(0.8 * 3.0 + 0.2 * 3.75)
    assert m.cost(1_000, 500, cached_input_tokens=600, cache_write_tokens=300) == pytest.approx((100 * 3 + 600 * 0.3 + 300 * 3.75 + 500 * 15) / 1e6)
    # Inconsistent counts never give a negative plain-input part.
    assert m.cost(100, 0, cached_input_tokens=500) == pytest.approx(500 * 0.3 / 1e6)


def test_cost_without_cache_prices_uses_the_input_price() -> None:
    m = CatalogModel("m", "openai", input_per_mtok=2.0, output_per_mtok=8.0)
    assert m.cost(1000, 100, cached_input_tokens=500, cache_write_tokens=200) == pytest.approx((1000 * 2.0 + 100 * 8.0) / 1e6)


def test_shipped_cost_of_a_real_model() -> None:
    m = CATALOG.get("gpt-5.4-mini")
    assert m is not None
    assert m.cost(10_000, 2_000, cached_input_tokens=8_000) == pytest.approx((2_000 * 0.75 + 8_000 * 0.075 + 2_000 * 4.5) / 1e6)


# --- staleness ------------------------------------------------------------------------------


def _run_models(home: Path) -> subprocess.CompletedProcess[str]:
    env = {**clean_env(), "TRIAGE_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "triage", "models", "--format", "json"], capture_output=True, text=True, env=env, timeout=60, cwd=home)


def test_stale_catalog_warns_on_stderr_never_stdout(tmp_path: Path) -> None:
    data = json.loads((ROOT / "triage/data/catalog.json").read_text())
    old = dt.date.today() - dt.timedelta(days=STALE_AFTER_DAYS + 30)
    data["updated"] = old.isoformat()
    (tmp_path / "catalog.json").write_text(json.dumps(data))
    r = _run_models(tmp_path)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)  # nothing but JSON on stdout
    assert out["updated"] == old.isoformat()
    assert f"{STALE_AFTER_DAYS + 30} days old" in r.stderr
    assert "days old" not in r.stdout


def test_fresh_catalog_does_not_warn(tmp_path: Path) -> None:
    data = json.loads((ROOT / "triage/data/catalog.json").read_text())
    data["updated"] = dt.date.today().isoformat()
    (tmp_path / "catalog.json").write_text(json.dumps(data))
    r = _run_models(tmp_path)
    assert r.returncode == 0
    assert "days old" not in r.stderr


def test_parse_catalog_defaults() -> None:
    cat = parse_catalog({"models": [{"name": "x", "provider": "openai", "input_per_mtok": 1, "output_per_mtok": 2}]})
    assert cat.updated == "1970-01-01" and cat.get("x") is not None and cat.get("y") is None
