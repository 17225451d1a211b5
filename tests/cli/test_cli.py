"""The ``triage`` command through its real entry point (``python -m triage``), in a clean
environment (no provider keys or Triage settings of the machine) with TRIAGE_HOME in
tmp_path. Machine output must parse with nothing else on stdout."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.gateway import free_port, clean_env
from triage import __version__
from triage.catalog.model import load_catalog
from triage.ledger import LedgerRecord, open_store

CATALOG_NAMES = set(load_catalog(None).names())


def run(home: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    full = {**clean_env(), "TRIAGE_HOME": str(home), **(env or {})}
    return subprocess.run([sys.executable, "-m", "triage", *args], capture_output=True, text=True, env=full, timeout=timeout, cwd=home)


def test_version(tmp_path: Path) -> None:
    r = run(tmp_path, "--version")
    assert r.returncode == 0
    assert r.stdout.strip() == f"triage {__version__}"


def test_route_json_names_a_catalog_model_offline(tmp_path: Path) -> None:
    r = run(tmp_path, "route", "Find the race condition in this 5000-line codebase.", "--format", "json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["selected_model"] in CATALOG_NAMES
    assert d["task_type"] == "coding"
    assert d["reasoning"].endswith(".")
    assert d["baseline_model"] in CATALOG_NAMES
    assert not (tmp_path / "ledger.db").exists()  # offline: nothing recorded


def test_route_respects_configured_providers_and_quality(tmp_path: Path) -> None:
    env = {"OPENAI_API_KEY": "sk-test"}
    r = run(tmp_path, "route", "What is the capital of Australia?", "--format", "json", env=env)
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["provider"] == "openai" and d["task_type"] == "simple_qa"
    top = json.loads(run(tmp_path, "route", "What is the capital of Australia?", "--format", "json", "--quality", "1.0", env=env).stdout)
    cost = {c["model"]: c["expected_cost_usd"] for c in d["candidates"]}
    assert cost[d["selected_model"]] <= min(c["expected_cost_usd"] for c in top["candidates"])


def test_route_table_format_is_for_people(tmp_path: Path) -> None:
    r = run(tmp_path, "route", "Write a haiku about autumn rain.")
    assert r.returncode == 0
    first = r.stdout.splitlines()[0]
    assert first.split()[0] in CATALOG_NAMES and "creative" in first
    assert "no provider configured" in r.stderr  # the note is a message, not output


def test_models_json_is_the_only_thing_on_stdout(tmp_path: Path) -> None:
    r = run(tmp_path, "models", "--format", "json", env={"ANTHROPIC_API_KEY": "sk-test"})
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)  # raises if anything else is on stdout
    rows = {m["model"]: m for m in d["models"]}
    assert set(rows) == CATALOG_NAMES
    assert rows["claude-haiku-4-5"]["configured"] is True and rows["gpt-5.4"]["configured"] is False
    for m in rows.values():
        assert {"input_per_mtok", "output_per_mtok", "context_window", "tools", "vision", "reasoning", "capability"} <= set(m)


def test_models_table(tmp_path: Path) -> None:
    r = run(tmp_path, "models")
    assert r.returncode == 0
    assert r.stdout.splitlines()[0].split()[:2] == ["model", "provider"]
    assert sum(1 for line in r.stdout.splitlines() if line.split()[0].rstrip("*") in CATALOG_NAMES) == len(CATALOG_NAMES)


def test_config_check_reports_every_problem_precisely(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("server:\n  port: 99999\n  prot: 1\nproviders:\n  ollama:\n    base_url: localhost:11434\nrouting:\n  quality: high\n")
    r = run(tmp_path, "config", "check", str(bad), env={"TRIAGE_WORKERS": "many"})
    assert r.returncode == 2
    assert r.stdout == ""
    for msg in (
        "server.port: 99999 is out of range [1, 65535]",
        "server.prot: unknown key",
        "providers.ollama.base_url: must be an http:// or https:// URL with a host, got 'localhost:11434'",
        "routing.quality: expected a number, got 'high'",
        "TRIAGE_WORKERS: expected a whole number, got 'many'",
    ):
        assert msg in r.stderr, r.stderr


def test_config_check_missing_file(tmp_path: Path) -> None:
    r = run(tmp_path, "config", "check", str(tmp_path / "nope.yaml"))
    assert r.returncode == 2
    assert f"{tmp_path / 'nope.yaml'}: file not found" in r.stderr


def test_config_check_valid_file(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text("server:\n  port: 4545\nproviders:\n  ollama:\n    base_url: http://localhost:11434/v1\n")
    r = run(tmp_path, "config", "check", str(good), env={"OPENAI_API_KEY": "sk-test"})
    assert r.returncode == 0, r.stderr
    assert "configuration is valid" in r.stdout
    assert "openai" in r.stdout and "ollama" in r.stdout and "4545" in r.stdout
    assert "sk-test" not in r.stdout + r.stderr


def test_config_errors_in_other_commands_exit_2(tmp_path: Path) -> None:
    r = run(tmp_path, "models", env={"TRIAGE_PORT": "not-a-port"})
    assert r.returncode == 2
    assert "TRIAGE_PORT: expected a whole number, got 'not-a-port'" in r.stderr
    assert r.stdout == ""


NOW = time.time()
DAY = 86400.0
LEDGER = [  # (age in seconds, model, cost, baseline cost, status)
    (60, "gpt-5.4-mini", 0.010, 0.050, 200),
    (3600, "gpt-5.4-mini", 0.020, 0.080, 200),
    (2 * DAY, "claude-haiku-4-5", 0.030, 0.060, 200),
    (6 * DAY, "claude-haiku-4-5", 0.000, 0.000, 502),
    (8 * DAY, "gpt-5.4", 1.000, 2.000, 200),  # outside the week
]


@pytest.fixture
def home_with_ledger(tmp_path: Path) -> Path:
    store = open_store(str(tmp_path / "ledger.db"))
    try:
        store.write_batch([
            LedgerRecord(ts=NOW - age, request_id=f"r{i}", surface="openai", requested_model="auto", answered_model=m,
                         provider="openai" if m.startswith("gpt") else "anthropic", input_tokens=1000 * (i + 1), output_tokens=100 * (i + 1),
                         cost_usd=c, baseline_model="claude-opus-4-6", baseline_cost_usd=b, status=s, latency_ms=100.0)
            for i, (age, m, c, b, s) in enumerate(LEDGER)
        ])  # fmt: skip
    finally:
        store.close()
    return tmp_path


def test_report_weekly_json_totals(home_with_ledger: Path) -> None:
    r = run(home_with_ledger, "report", "weekly", "--format", "json")
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    t = rep["totals"]
    assert t["requests"] == 4 and t["errors"] == 1
    assert t["input_tokens"] == 1000 + 2000 + 3000 + 4000
    assert t["cost_usd"] == pytest.approx(0.06)
    assert t["baseline_cost_usd"] == pytest.approx(0.19)
    assert t["saved_usd"] == pytest.approx(0.13)
    assert t["savings_percent"] == pytest.approx(68.4)
    groups = {g["key"]: g for g in rep["groups"]}
    assert set(groups) == {"gpt-5.4-mini", "claude-haiku-4-5"}
    assert groups["gpt-5.4-mini"]["requests"] == 2 and groups["gpt-5.4-mini"]["cost_usd"] == pytest.approx(0.03)
    assert groups["claude-haiku-4-5"]["errors"] == 1


def test_report_all_and_by_provider(home_with_ledger: Path) -> None:
    rep = json.loads(run(home_with_ledger, "report", "all", "--by", "provider", "--format", "json").stdout)
    assert rep["totals"]["requests"] == 5
    assert {g["key"]: g["requests"] for g in rep["groups"]} == {"openai": 3, "anthropic": 2}


def test_report_weekly_csv(home_with_ledger: Path) -> None:
    r = run(home_with_ledger, "report", "weekly", "--format", "csv")
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    by = {row["key"]: row for row in rows}
    assert set(by) == {"gpt-5.4-mini", "claude-haiku-4-5", "TOTAL"}
    assert int(by["TOTAL"]["requests"]) == 4
    assert float(by["TOTAL"]["cost_usd"]) == pytest.approx(0.06)
    assert float(by["TOTAL"]["saved_usd"]) == pytest.approx(0.13)
    assert int(by["gpt-5.4-mini"]["requests"]) == 2


def test_report_on_an_empty_ledger(tmp_path: Path) -> None:
    r = run(tmp_path, "report", "monthly", "--format", "json")
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    assert rep["totals"]["requests"] == 0 and rep["groups"] == []


def test_status_when_nothing_runs(tmp_path: Path) -> None:
    port = free_port()
    r = run(tmp_path, "status", "--port", str(port))
    assert r.returncode == 1
    assert f"127.0.0.1:{port}" in r.stdout and "not running" in r.stdout
    assert "OPENAI_API_KEY" in r.stdout  # says what is not configured
    j = run(tmp_path, "status", "--port", str(port), "--format", "json", env={"OPENAI_API_KEY": "sk-secret-value"})
    assert j.returncode == 1
    info = json.loads(j.stdout)
    assert info["running"] is False and info["version"] == __version__
    assert info["providers"]["openai"]["key"] == "set"
    assert "sk-secret-value" not in j.stdout


def test_unknown_command_is_a_usage_error(tmp_path: Path) -> None:
    r = run(tmp_path, "frobnicate")
    assert r.returncode == 2
    assert r.stdout == "" and "invalid choice" in r.stderr


@pytest.mark.parametrize("value", ["5", "0", "high"])
def test_route_rejects_a_quality_outside_0_1(tmp_path: Path, value: str) -> None:
    r = run(tmp_path, "route", "hello", "--quality", value)
    assert r.returncode == 2
    assert "--quality" in r.stderr and "Traceback" not in r.stderr


def test_status_when_something_else_answers_on_the_port(tmp_path: Path) -> None:
    import http.server
    import threading

    class NotTriage(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"<html>hello</html>")

        def log_message(self, *a: object) -> None:
            pass

    srv = http.server.HTTPServer(("127.0.0.1", 0), NotTriage)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        r = run(tmp_path, "status", "--port", str(srv.server_address[1]))
    finally:
        srv.shutdown()
        srv.server_close()
    assert r.returncode == 1, r.stderr
    assert "not running" in r.stdout and "not Triage" in r.stdout
    assert "Traceback" not in r.stderr


def test_a_corrupt_user_catalog_is_a_clear_error_not_a_traceback(tmp_path):
    import subprocess
    import sys

    from tests.gateway import clean_env

    (tmp_path / "catalog.json").write_text("{not json")
    env = {**clean_env(), "TRIAGE_HOME": str(tmp_path)}
    r = subprocess.run([sys.executable, "-m", "triage", "models"], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and r.stdout == ""
    assert "catalog.json is not a valid catalog" in r.stderr and "Traceback" not in r.stderr
