"""`/metrics` after known requests through a real gateway and the fake OpenAI upstream."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.fakes.launch import FakeServer
from tests.gateway import GatewayProcess
from triage.catalog.model import load_catalog
from triage.observe.metrics import MAX_EXTRA_MODELS

KEY = "test-openai-key"


def post(gw: GatewayProcess, body: dict[str, Any]) -> int:
    return gw.post("/v1/chat/completions", json.dumps(body).encode())


def scrape(gw: GatewayProcess) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    with urllib.request.urlopen(gw.url + "/metrics", timeout=5) as r:
        assert r.headers["content-type"].startswith("text/plain")
        text = r.read().decode()
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(m: dict, name: str, **labels: str) -> float:
    """The sum over every sample of ``name`` whose labels include ``labels``."""
    want = set(labels.items())
    return sum(v for (n, ls), v in m.items() if n == name and want <= ls)


@pytest.fixture(scope="module")
def gw(openai_fake: FakeServer):
    env = {"OPENAI_API_KEY": KEY, "TRIAGE_OPENAI_BASE_URL": openai_fake.url + "/v1"}
    with GatewayProcess(env) as g:
        yield g


def test_counters_and_labels_after_known_requests(gw: GatewayProcess, fake: FakeServer) -> None:
    usage = {"prompt_tokens": 1000, "completion_tokens": 300, "cached_tokens": 400, "reasoning_tokens": 100}
    fake.script({"usage": usage}, {"usage": usage}, {"status": 500, "message": "boom"})
    msgs = [{"role": "user", "content": "write a python function that parses ISO dates"}]
    assert post(gw, {"model": "gpt-5.4-mini", "messages": msgs}) == 200
    assert post(gw, {"model": "gpt-5.4-mini", "messages": msgs, "stream": True, "stream_options": {"include_usage": True}}) == 200
    assert post(gw, {"model": "gpt-5.4-nano", "messages": msgs}) == 502  # an upstream 500 is a gateway 502
    m = scrape(gw)

    mini = {"model": "gpt-5.4-mini", "provider": "openai"}
    assert value(m, "triage_requests_total", **mini, surface="openai", status_class="2xx") == 2
    assert value(m, "triage_tokens_total", **mini, kind="input") == 2000
    assert value(m, "triage_tokens_total", **mini, kind="output") == 600
    assert value(m, "triage_tokens_total", **mini, kind="cached") == 800
    assert value(m, "triage_tokens_total", **mini, kind="reasoning") == 200
    entry = load_catalog().get("gpt-5.4-mini")
    assert entry is not None
    assert value(m, "triage_cost_usd_total", **mini) == pytest.approx(2 * entry.cost(1000, 300, 400), rel=1e-9)
    # An explicit model is its own baseline: it saves nothing.
    assert value(m, "triage_savings_usd_total", **mini) == 0
    assert value(m, "triage_request_duration_seconds_count", **mini, surface="openai") == 2
    assert value(m, "triage_time_to_first_token_seconds_count", **mini) == 2
    assert value(m, "triage_errors_total", provider="openai", error_class="server_error") == 1
    assert value(m, "triage_requests_total", model="gpt-5.4-nano", status_class="5xx") == 1
    assert value(m, "triage_provider_configured", provider="openai") == 1


def test_auto_routing_savings_and_fallback(gw: GatewayProcess, fake: FakeServer) -> None:
    before = scrape(gw)
    usage = {"prompt_tokens": 2000, "completion_tokens": 500}
    fake.script({"status": 503, "message": "overloaded"}, {"usage": usage})
    assert post(gw, {"model": "auto", "messages": [{"role": "user", "content": "what is the capital of France?"}]}) == 200
    m = scrape(gw)
    fb = value(m, "triage_fallbacks_total") - value(before, "triage_fallbacks_total")
    assert fb == 1
    saved = value(m, "triage_savings_usd_total") - value(before, "triage_savings_usd_total")
    cost = value(m, "triage_cost_usd_total") - value(before, "triage_cost_usd_total")
    base = value(m, "triage_baseline_cost_usd_total") - value(before, "triage_baseline_cost_usd_total")
    assert cost > 0 and base > cost and saved == pytest.approx(base - cost, rel=1e-9)
    row = gw.ledger_rows()[-1]
    assert row["attempts"] == 2
    # The first choice failed with 503 (overloaded): its circuit is open.
    circuits = {dict(ls)["model"]: v for (name, ls), v in m.items() if name == "triage_circuit_state"}
    assert row["chosen_model"] != row["answered_model"] and circuits == {row["chosen_model"]: 2}
    assert value(m, "triage_fallbacks_total", model=row["answered_model"], provider="openai") >= 1
    assert value(m, "triage_requests_total", model=row["answered_model"], task_type=row["task_type"]) >= 1


def test_unknown_model_names_are_capped(gw: GatewayProcess, fake: FakeServer) -> None:
    n = MAX_EXTRA_MODELS + 5
    for i in range(n):
        assert post(gw, {"model": f"gpt-made-up-{i}", "messages": [{"role": "user", "content": "hi"}]}) == 200
    m = scrape(gw)
    names = {dict(ls)["model"] for (name, ls) in m if name == "triage_requests_total"}
    made_up = {x for x in names if x.startswith("gpt-made-up-")}
    assert len(made_up) == MAX_EXTRA_MODELS
    assert value(m, "triage_requests_total", model="other") == n - MAX_EXTRA_MODELS


def test_metrics_endpoint_is_not_a_ledger_row(gw: GatewayProcess) -> None:
    before = len(gw.ledger_rows())
    scrape(gw)
    assert len(gw.ledger_rows()) == before


def test_with_several_workers_every_scrape_counts_every_workers_requests(openai_fake: FakeServer, fake: FakeServer) -> None:
    """The workers share the port, so a scrape reaches any one of them: each must report the
    sum over all of them (and keep counting across scrapes: no counter goes backwards)."""
    env = {"OPENAI_API_KEY": KEY, "TRIAGE_OPENAI_BASE_URL": openai_fake.url + "/v1"}
    with GatewayProcess(env, args=["--workers", "2"], timeout=40) as g:
        n = 40
        msgs = [{"role": "user", "content": "hi"}]
        for _ in range(n):
            assert post(g, {"model": "gpt-5.4-nano", "messages": msgs}) == 200
        rows = g.ledger_rows()
        assert len(rows) == n
        # Both workers answered (the kernel spreads connections; urllib opens one per request).
        totals = set()
        for _ in range(12):
            m = scrape(g)
            totals.add(value(m, "triage_requests_total", model="gpt-5.4-nano", status_class="2xx"))
            assert value(m, "triage_request_duration_seconds_count", model="gpt-5.4-nano") == n
            assert value(m, "triage_provider_configured", provider="openai") == 1
        assert totals == {n}
        assert (g.home / "run" / "metrics").is_dir() and list((g.home / "run" / "metrics").glob("*.db"))
