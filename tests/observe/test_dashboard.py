"""The dashboard: its JSON data against a known ledger, and the page in headless Chromium.

Chromium comes from the distribution (scripts/ci_browser_deps.sh), driven by Playwright for
Python; `playwright install` is never used. Without /usr/bin/chromium the browser test is
skipped with that reason. The screenshot is kept at artifacts/dashboard.png.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from typing import Any

import pytest

from tests.gateway import ROOT, GatewayProcess
from tests.observe.seed import DAY, WEEK, WEEK_BY_MODEL, seed

KEY = "dash-key"
CHROMIUM = os.environ.get("TRIAGE_TEST_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = ROOT / "artifacts"


def seeded_gateway(home: Any) -> GatewayProcess:
    seed(home)
    return GatewayProcess({"OPENAI_API_KEY": "k", "TRIAGE_OPENAI_BASE_URL": "http://127.0.0.1:9/v1", "TRIAGE_API_KEY": KEY}, home=home)


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory):
    with seeded_gateway(tmp_path_factory.mktemp("dash-home")) as g:
        yield g


def get(gw: GatewayProcess, path: str, key: str | None = KEY) -> tuple[int, Any]:
    req = urllib.request.Request(gw.url + path, headers={"authorization": f"Bearer {key}"} if key else {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read()) if "json" in r.headers.get("content-type", "") else r.headers
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_data_endpoint_matches_the_ledger(gw: GatewayProcess) -> None:
    code, d = get(gw, "/v1/dashboard/data?range=7d")
    assert code == 200
    for k, v in WEEK.items():
        assert d["totals"][k] == v, k
    assert {r["key"]: (r["requests"], r["cost_usd"], r["saved_usd"]) for r in d["by_model"]} == WEEK_BY_MODEL
    assert sum(p["cost_usd"] for p in d["series"]) == pytest.approx(WEEK["cost_usd"])
    assert sum(p["errors"] for p in d["series"]) == 1 and sum(p["fallbacks"] for p in d["series"]) == 1
    assert d["baseline"]["model"] == "gpt-5.4" and not d["baseline"]["configured"]
    mini = next(r for r in d["latency"] if r["model"] == "gpt-5.4-mini")
    assert (mini["requests"], mini["p50_ms"], mini["p99_ms"]) == (3, 400.0, 600.0)
    assert all("prompt" not in r for r in d["recent"])
    assert d["options"]["keys"] == ["key_a", "key_b"]

    _, day = get(gw, "/v1/dashboard/data?range=24h")
    assert {k: day["totals"][k] for k in DAY} == DAY and day["bucket"] == "hour"
    _, keyed = get(gw, "/v1/dashboard/data?range=7d&key=key_b&provider=openai")
    assert keyed["totals"]["requests"] == 3 and keyed["totals"]["cost_usd"] == 0.018
    code, err = get(gw, "/v1/dashboard/data?range=2y")
    assert code == 400 and err["error"]["param"] == "range"


def test_dashboard_assets_are_behind_the_key_and_self_contained(gw: GatewayProcess) -> None:
    code, _ = get(gw, "/dashboard", key=None)
    assert code == 401
    code, headers = get(gw, "/dashboard")
    assert code == 200 and "default-src 'self'" in headers["content-security-policy"]
    html = (ROOT / "triage" / "observe" / "static" / "index.html").read_text()
    js = (ROOT / "triage" / "observe" / "static" / "app.js").read_text()
    for text in (html, js):
        assert "http://" not in text.replace("http://www.w3.org/2000/svg", "") and "https://" not in text


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"no Chromium at {CHROMIUM} (install it with scripts/ci_browser_deps.sh)")
def test_dashboard_in_chromium(tmp_path: Any) -> None:
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (pip) is not installed")
    ARTIFACTS.mkdir(exist_ok=True)
    errors: list[str] = []
    # Its own gateway: the other tests' refused requests are ledger rows too.
    with seeded_gateway(tmp_path) as gw, sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            ctx = browser.new_context(extra_http_headers={"authorization": f"Bearer {KEY}"}, viewport={"width": 1280, "height": 900})
            page = ctx.new_page()
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(gw.url + "/dashboard?poll=1000")
            page.wait_for_selector("body[data-loaded]")

            def loaded_after(action: Any) -> None:
                before = page.evaluate("document.body.dataset.loaded")
                action()
                page.wait_for_function("b => document.body.dataset.loaded !== b", arg=before, timeout=30000)

            def bars(chart: str) -> dict[str, float]:
                return page.eval_on_selector_all(f"#{chart} .mark", "els => Object.fromEntries(els.map(e => [e.dataset.key, Number(e.dataset.value)]))")

            def kpi(name: str) -> str:
                return page.inner_text(f"[data-kpi={name}] dd")

            # The known ledger, drawn.
            assert kpi("req") == "6" and kpi("spent") == "$0.0270" and kpi("save").startswith("$0.0405")
            assert bars("chart-spend-model") == {m: v[1] for m, v in WEEK_BY_MODEL.items()}
            assert bars("chart-model-share") == {m: v[0] for m, v in WEEK_BY_MODEL.items()}
            assert bars("chart-task-mix") == {"coding": 2, "general": 1, "simple_qa": 1, "creative": 1, "analysis": 1}
            assert bars("chart-spend-provider") == {"openai": 0.023, "anthropic": 0.004}
            assert bars("chart-latency")["gpt-5.4-mini:p50"] == 400
            spent = page.eval_on_selector_all("#chart-spend-time .point[data-series=cost_usd]", "els => els.reduce((a, e) => a + Number(e.dataset.value), 0)")
            assert spent == pytest.approx(WEEK["cost_usd"])
            cols = page.eval_on_selector_all("#chart-errors-time .col", "els => els.map(e => [e.dataset.series, Number(e.dataset.value)])")
            assert sorted(cols) == [["errors", 1], ["fallbacks", 1]]
            assert page.locator("#recent tbody tr").count() == 6
            assert "gpt-5.4" in page.inner_text("#baseline")
            page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)

            # Filters change the charts.
            loaded_after(lambda: page.select_option("#f-model", "gpt-5.4-mini"))
            assert list(bars("chart-spend-model")) == ["gpt-5.4-mini"] and kpi("req") == "3"
            assert "model=gpt-5.4-mini" in page.url
            loaded_after(lambda: page.select_option("#f-model", ""))
            loaded_after(lambda: page.select_option("#f-range", "24h"))
            assert kpi("req") == "3" and set(bars("chart-spend-model")) == {"gpt-5.4-mini"}
            loaded_after(lambda: page.select_option("#f-range", "7d"))
            loaded_after(lambda: page.select_option("#f-provider", "anthropic"))
            assert bars("chart-spend-model") == {"claude-haiku-4-5": 0.004} and kpi("fb") == "1"
            loaded_after(lambda: page.select_option("#f-provider", ""))
            loaded_after(lambda: page.select_option("#f-key", "key_b"))
            assert kpi("req") == "3"
            loaded_after(lambda: page.select_option("#f-key", ""))

            # Live: a new ledger row (a failed chat call: the upstream is unreachable) shows up by polling.
            body = json.dumps({"model": "gpt-5.4-nano", "messages": [{"role": "user", "content": "hi"}]}).encode()
            req = urllib.request.Request(gw.url + "/v1/chat/completions", data=body, headers={"authorization": f"Bearer {KEY}", "content-type": "application/json"})
            with pytest.raises(urllib.error.HTTPError):
                urllib.request.urlopen(req, timeout=20)
            page.wait_for_function("() => document.querySelector('[data-kpi=req] dd').textContent === '7'", timeout=30000)

            # Keyboard and labels: every filter is a labelled control reachable with Tab.
            for label in ("Time range", "Model", "Provider", "API key", "Live"):
                assert page.get_by_label(label, exact=True).count() == 1
            page.keyboard.press("Tab")
            page.keyboard.press("Tab")
            assert page.evaluate("document.activeElement.id") == "f-range"
            assert page.eval_on_selector_all(".plot svg[role=img]", "els => els.every(e => e.getAttribute('aria-label'))")

            # A phone: nothing wider than the screen.
            page.set_viewport_size({"width": 390, "height": 844})
            assert page.evaluate("document.documentElement.scrollWidth") <= 391
            page.screenshot(path=str(ARTIFACTS / "dashboard-phone.png"), full_page=True)
        finally:
            browser.close()
    assert errors == []
    assert (ARTIFACTS / "dashboard.png").stat().st_size > 10_000
