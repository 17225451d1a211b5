"""Read and control endpoints: models, route, stats, compare, config (GET and PATCH)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import openai
import yaml

from tests.conftest import OPENAI_KEY
from tests.gateway import GatewayProcess


def call(gw, method: str, path: str, body: dict | None = None, key: str | None = None) -> tuple[int, dict]:
    headers = {"content-type": "application/json"}
    if key:
        headers["authorization"] = f"Bearer {key}"
    req = urllib.request.Request(gw.url + path, data=json.dumps(body).encode() if body is not None else None, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_models_lists_only_reachable_models_and_auto(gateway):
    ids = [m.id for m in openai.OpenAI(base_url=gateway.url + "/v1", api_key="x").models.list()]
    assert ids[0] == "auto"
    assert set(ids[1:]) == {"gpt-5.4", "gpt-5.4-mini", "gpt-5.4-nano", "o3", "o4-mini"}


def test_route_decides_without_calling_a_provider(gateway, fake):
    status, d = call(gateway, "POST", "/v1/route", {"messages": [{"role": "user", "content": "find the race condition in this 5000-line codebase"}]})
    assert status == 200 and d["task_type"] == "coding"
    assert d["selected_model"] not in ("gpt-5.4-nano",)  # not a job for the cheapest model
    assert d["candidates"][0]["model"] == d["selected_model"]
    assert all(r for r in d["rejected"].values())
    status, easy = call(gateway, "POST", "/v1/route", {"prompt": "What is the capital of Peru?"})
    assert easy["selected_model"] == "gpt-5.4-nano" and easy["savings_percent"] > 50
    status, tools = call(gateway, "POST", "/v1/route", {"messages": [{"role": "user", "content": "x"}], "tools": [{"type": "function", "function": {"name": "f"}}]})
    assert tools["requirements"]["tools"] is True
    assert fake.requests() == []


def test_quality_knob_moves_the_choice(gateway):
    body = {"messages": [{"role": "user", "content": "Write a python function that merges two sorted lists"}]}
    _, low = call(gateway, "POST", "/v1/route", {**body, "triage": {"quality": 0.5}})
    _, high = call(gateway, "POST", "/v1/route", {**body, "triage": {"quality": 1.0}})
    cost = {c["model"]: c["expected_cost_usd"] for c in high["candidates"] + low["candidates"]}
    assert cost[low["selected_model"]] <= cost[high["selected_model"]]
    assert low["selected_model"] != high["selected_model"]


def test_route_takes_the_request_constraints(gateway):
    body = {"messages": [{"role": "user", "content": "Write a python function that merges two sorted lists"}],
            "triage": {"quality": 1.0, "models": ["gpt-5.4-mini", "gpt-5.4-nano"]}}
    _, d = call(gateway, "POST", "/v1/route", body)
    assert d["selected_model"] in ("gpt-5.4-mini", "gpt-5.4-nano")
    status, err = call(gateway, "POST", "/v1/route", {**body, "triage": {"max_cost_per_mtok": "x"}})
    assert status == 400 and err["error"]["param"] == "triage.max_cost_per_mtok"


def test_compare_ranks_by_capability(gateway):
    status, d = call(gateway, "GET", "/v1/models/compare?task=coding")
    caps = [m["capability"] for m in d["models"]]
    assert status == 200 and caps == sorted(caps, reverse=True) and len(caps) == 11
    assert call(gateway, "GET", "/v1/models/compare?task=juggling")[0] == 400


def test_config_patch_takes_effect_and_survives_restart(openai_fake, tmp_path):
    cfg = tmp_path / "triage.yaml"
    cfg.write_text(yaml.safe_dump({"routing": {"quality": 0.9}}))
    env = {"OPENAI_API_KEY": OPENAI_KEY, "TRIAGE_OPENAI_BASE_URL": openai_fake.url + "/v1", "TRIAGE_API_KEY": "admin"}
    prompt = {"prompt": "What is the capital of Peru?"}
    with GatewayProcess(env, args=["--config", str(cfg)], home=tmp_path / "home") as gw:
        status, view = call(gw, "GET", "/v1/config", key="admin")
        assert status == 200 and view["providers"]["openai"]["key"] == "set"
        assert OPENAI_KEY not in json.dumps(view)
        assert call(gw, "PATCH", "/v1/config", {"routing": {"denied_models": ["gpt-5.4-nano"]}})[0] == 401
        status, err = call(gw, "PATCH", "/v1/config", {"routing": {"quality": 7}}, key="admin")
        assert status == 400 and "routing.quality" in err["error"]["message"]
        status, err = call(gw, "PATCH", "/v1/config", {"providers": {"openai": {"base_url": "http://evil"}}}, key="admin")
        assert status == 403
        status, _ = call(gw, "PATCH", "/v1/config", {"routing": {"denied_models": ["gpt-5.4-nano"]}, "aliases": {"fast": "gpt-5.4-mini"}}, key="admin")
        assert status == 200
        _, d = call(gw, "POST", "/v1/route", prompt, key="admin")
        assert d["selected_model"] != "gpt-5.4-nano" and d["rejected"]["gpt-5.4-nano"] == "denied by policy"
        r = openai.OpenAI(base_url=gw.url + "/v1", api_key="admin", max_retries=0).chat.completions.create(model="fast", messages=[{"role": "user", "content": "x"}])
        assert r.model == "gpt-5.4-mini"
    saved = yaml.safe_load(cfg.read_text())
    assert saved["routing"] == {"quality": 0.9, "denied_models": ["gpt-5.4-nano"]} and saved["aliases"] == {"fast": "gpt-5.4-mini"}
    with GatewayProcess(env, args=["--config", str(cfg)], home=tmp_path / "home") as gw:
        _, d = call(gw, "POST", "/v1/route", prompt, key="admin")
        assert d["selected_model"] != "gpt-5.4-nano"


def test_stats_periods(gateway):
    status, d = call(gateway, "GET", "/v1/stats?period=week")
    assert status == 200 and {"requests", "cost_usd", "baseline_cost_usd", "saved_usd", "savings_percent", "by_model"} <= set(d)
    assert call(gateway, "GET", "/v1/stats?period=century")[0] == 400
