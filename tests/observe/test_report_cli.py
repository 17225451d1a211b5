"""`triage report`, `triage tail --once`, `triage pricing update`, `triage models discover`
through the real entry point (a subprocess), against a known ledger / price table / fake."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fakes.launch import FakeServer
from tests.gateway import ROOT, clean_env
from tests.observe.seed import WEEK, WEEK_BY_MODEL, seed

PRICES = ROOT.parent / "shared" / "data" / "prices" / "model_prices_litellm-1.110.2.json"


def triage(home: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = {**clean_env(), "TRIAGE_HOME": str(home), "OPENAI_API_KEY": "k", "NO_COLOR": "", **(env or {})}
    return subprocess.run([sys.executable, "-m", "triage", *args], capture_output=True, text=True, env=full, cwd=str(ROOT), timeout=60)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    h = tmp_path_factory.mktemp("report-home")
    seed(h)
    return h


def test_report_json_exact_totals(home: Path) -> None:
    r = triage(home, "report", "weekly", "--by", "model", "--format", "json")
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)  # nothing but JSON on stdout
    for k, v in WEEK.items():
        assert rep["totals"][k] == v, k
    assert rep["totals"]["savings_percent"] == 60.0
    groups = {g["key"]: (g["requests"], g["cost_usd"], g["saved_usd"]) for g in rep["groups"]}
    assert groups == WEEK_BY_MODEL
    assert all(g["saved_usd"] >= 0 for g in rep["groups"])
    assert rep["baseline"]["model"] == "gpt-5.4" and "routing.baseline_model" in rep["baseline"]["explanation"]


def test_report_monthly_and_daily_ranges(home: Path) -> None:
    monthly = json.loads(triage(home, "report", "monthly", "--format", "json").stdout)
    assert monthly["totals"]["requests"] == 6  # the 40-day-old row is outside
    daily = json.loads(triage(home, "report", "daily", "--by", "key", "--format", "json").stdout)
    assert daily["totals"]["requests"] == 3 and daily["totals"]["cost_usd"] == 0.005
    assert {g["key"]: g["requests"] for g in daily["groups"]} == {"key_a": 2, "key_b": 1}


def test_report_csv_exact(home: Path) -> None:
    r = triage(home, "report", "weekly", "--by", "provider", "--format", "csv")
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    by = {row["key"]: row for row in rows}
    assert set(by) == {"openai", "anthropic", "TOTAL"}
    assert float(by["anthropic"]["cost_usd"]) == 0.004 and int(by["anthropic"]["fallbacks"]) == 1
    assert float(by["openai"]["cost_usd"]) == 0.023 and int(by["openai"]["requests"]) == 5
    assert float(by["TOTAL"]["saved_usd"]) == WEEK["saved_usd"] and int(by["TOTAL"]["requests"]) == 6


def test_report_table_piped_has_no_ansi(home: Path) -> None:
    r = triage(home, "report", "weekly", "--by", "task", env={"FORCE_COLOR": "", "TERM": "xterm-256color"})
    assert r.returncode == 0, r.stderr
    assert "\x1b" not in r.stdout and "\x1b" not in r.stderr
    assert "coding" in r.stdout and "$0.0270" in r.stdout and "gpt-5.4" in r.stdout


def test_tail_once_prints_the_backlog_oldest_first(home: Path) -> None:
    r = triage(home, "tail", "--once", "--backlog", "3")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    assert len(lines) == 3 and "\x1b" not in r.stdout
    assert "seeded decision 2" in lines[0] and "seeded decision 0" in lines[2]  # oldest of the three first
    assert "502 server_error" in lines[0]
    js = triage(home, "tail", "--once", "--backlog", "2", "--format", "json", "--model", "gpt-5.4-mini")
    assert [json.loads(x)["request_id"] for x in js.stdout.splitlines()] == ["req_seed_1", "req_seed_0"]
    assert all("prompt" not in json.loads(x) for x in js.stdout.splitlines())


def test_pricing_update_writes_home_catalog_and_shows_the_diff(tmp_path: Path) -> None:
    table = json.loads(PRICES.read_text()) if PRICES.exists() else {}
    table["gpt-5.4-mini"] = {**table.get("gpt-5.4-mini", {}), "input_cost_per_token": 1e-6, "output_cost_per_token": 3e-6}
    src = tmp_path / "prices.json"
    src.write_text(json.dumps(table))
    home = tmp_path / "home"
    shipped = (ROOT / "triage" / "data" / "catalog.json").read_bytes()
    r = triage(home, "pricing", "update", "--from", str(src))
    assert r.returncode == 0, r.stderr
    assert "gpt-5.4-mini: input_per_mtok" in r.stdout and "-> 1.0" in r.stdout
    written = json.loads((home / "catalog.json").read_text())
    mini = next(m for m in written["models"] if m["name"] == "gpt-5.4-mini")
    assert mini["input_per_mtok"] == 1.0 and mini["output_per_mtok"] == 3.0 and mini["capability"]
    assert (ROOT / "triage" / "data" / "catalog.json").read_bytes() == shipped  # never the installed package
    models = json.loads(triage(home, "models", "--format", "json").stdout)["models"]
    assert next(m for m in models if m["model"] == "gpt-5.4-mini")["input_per_mtok"] == 1.0
    again = triage(home, "pricing", "update", "--from", str(src), "--format", "json")
    assert json.loads(again.stdout)["changes"] == []


def test_models_discover_asks_only_configured_providers(tmp_path: Path, openai_fake: FakeServer) -> None:
    openai_fake.reset()
    env = {"OPENAI_API_KEY": "test-openai-key", "TRIAGE_OPENAI_BASE_URL": openai_fake.url + "/v1"}
    r = triage(tmp_path, "models", "discover", "--format", "json", env=env)
    assert r.returncode == 0, r.stderr
    found = json.loads(r.stdout)["providers"]
    assert [p["provider"] for p in found] == ["openai"]
    ids = {m["id"]: m["in_catalog"] for m in found[0]["models"]}
    assert ids and any(ids.values())
    reqs = openai_fake.requests()
    assert [(q["method"], q["path"]) for q in reqs] == [("GET", "/v1/models")]
    assert reqs[0]["headers"].get("authorization") == "Bearer test-openai-key"

