"""A request narrows ``model: "auto"`` routing: its own allow-list of models and price ceiling
(``triage.models`` / ``triage.max_cost_per_mtok`` in the body, or the ``x-triage-models`` /
``x-triage-max-cost-per-mtok`` headers), within what the configuration allows. Both client
surfaces through the official SDKs, and the narrowing rule itself."""

from __future__ import annotations

import anthropic
import openai
import pytest

from triage.config.settings import Policy
from triage.server.errors import GatewayError
from triage.server.validate import policy_override

HARD = "Prove rigorously that every finite integral domain is a field, step by step, covering every edge case."


def sdk(gateway) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway.url + "/v1", api_key="x", max_retries=0)


def test_without_constraints_the_hard_prompt_goes_to_a_strong_model(gateway, fake):
    r = sdk(gateway).chat.completions.create(model="auto", messages=[{"role": "user", "content": HARD}])
    assert r.model not in ("gpt-5.4-mini", "gpt-5.4-nano")  # the reference for the tests below


def test_the_request_allow_list_bounds_the_choice(gateway, fake):
    r = sdk(gateway).chat.completions.create(model="auto", messages=[{"role": "user", "content": HARD}],
                                             extra_body={"triage": {"models": ["gpt-5.4-mini", "gpt-5.4-nano"]}})
    assert r.model in ("gpt-5.4-mini", "gpt-5.4-nano")
    assert fake.last_body()["model"] == r.model and "triage" not in fake.last_body()
    info = r.model_extra["routing_info"]
    assert info["selected_model"] == r.model


def test_the_request_price_ceiling_bounds_the_choice(gateway, fake):
    r = sdk(gateway).chat.completions.create(model="auto", messages=[{"role": "user", "content": HARD}],
                                             extra_body={"triage": {"max_cost_per_mtok": 2}})
    assert r.model == "gpt-5.4-nano"  # the only OpenAI model at most $2 per 1M output tokens


def test_headers_say_the_same(gateway, fake):
    raw = sdk(gateway).chat.completions.with_raw_response.create(
        model="auto", messages=[{"role": "user", "content": HARD}],
        extra_headers={"x-triage-models": "gpt-5.4-mini, o4-mini", "x-triage-max-cost-per-mtok": "4.5"})
    assert raw.headers["x-triage-model"] == "gpt-5.4-mini"  # o4-mini costs 4.4 but mini is predicted no worse
    raw = sdk(gateway).chat.completions.with_raw_response.create(
        model="auto", messages=[{"role": "user", "content": HARD}], extra_headers={"x-triage-max-cost-per-mtok": "1.5"})
    assert raw.headers["x-triage-model"] == "gpt-5.4-nano"


def test_the_anthropic_surface_takes_the_same_constraints(gateway, fake):
    c = anthropic.Anthropic(base_url=gateway.url, api_key="x", max_retries=0)
    raw = c.messages.with_raw_response.create(model="auto", max_tokens=64, messages=[{"role": "user", "content": HARD}],
                                              extra_body={"triage": {"models": ["gpt-5.4-nano"]}})
    assert raw.headers["x-triage-model"] == "gpt-5.4-nano" and raw.parse().type == "message"
    assert "triage" not in fake.last_body()
    raw = c.messages.with_raw_response.create(model="auto", max_tokens=64, messages=[{"role": "user", "content": HARD}],
                                              extra_body={"triage": {"quality": 0.01}})  # the quality knob too
    assert raw.headers["x-triage-model"] == "gpt-5.4-nano"
    with pytest.raises(anthropic.BadRequestError) as e:
        c.messages.create(model="auto", max_tokens=64, messages=[{"role": "user", "content": "hi"}],
                          extra_body={"triage": {"max_cost_per_mtok": -1}})
    assert e.value.body["type"] == "error" and "max_cost_per_mtok" in e.value.body["error"]["message"]
    with pytest.raises(anthropic.BadRequestError) as e:  # a typo is not silently a default
        c.messages.create(model="auto", max_tokens=64, messages=[{"role": "user", "content": "hi"}],
                          extra_body={"triage": {"max_cost": 5}})
    assert e.value.body["type"] == "error" and "triage.max_cost" in e.value.body["error"]["message"]


def test_an_allow_list_nothing_configured_can_serve_is_a_400_naming_why(gateway, fake):
    with pytest.raises(openai.BadRequestError) as e:
        sdk(gateway).chat.completions.create(model="auto", messages=[{"role": "user", "content": "hi"}],
                                             extra_body={"triage": {"models": ["claude-haiku-4-5"]}})
    assert e.value.code == "no_eligible_model" and "anthropic is not configured" in e.value.message
    assert fake.requests() == []


# ---- the narrowing rule (pure)

def resolve(name: str) -> str | None:
    return {"fast": "gpt-5.4-nano"}.get(name, name if name.startswith(("gpt-", "claude-")) else None)


def test_nothing_asked_keeps_the_configured_policy_object():
    p = Policy()
    assert policy_override({"triage": {"quality": 0.5}}, {}, p, resolve) is p


def test_a_request_can_narrow_the_configuration_but_never_widen_it():
    config = Policy(allowed_models=("gpt-5.4-nano", "gpt-5.4-mini"), max_cost_per_mtok=5.0)
    p = policy_override({"triage": {"models": ["fast", "gpt-5.4", "fast"], "max_cost_per_mtok": 50}}, {}, config, resolve)
    assert p.allowed_models == ("gpt-5.4-nano",)  # aliases resolved, duplicates dropped, gpt-5.4 not allowed by the config
    assert p.max_cost_per_mtok == 5.0  # the lower ceiling wins
    assert p.quality == config.quality and p.denied_models == config.denied_models
    with pytest.raises(GatewayError) as e:
        policy_override({"triage": {"models": ["gpt-5.4"]}}, {}, config, resolve)
    assert e.value.status == 400 and e.value.code == "no_eligible_model"


def test_the_body_wins_over_the_headers():
    p = policy_override({"triage": {"models": ["gpt-5.4-mini"]}}, {"x-triage-models": "gpt-5.4"}, Policy(), resolve)
    assert p.allowed_models == ("gpt-5.4-mini",)


@pytest.mark.parametrize("value", [True, float("nan"), float("inf"), "1e400", [], {}])
def test_a_ceiling_must_be_a_positive_finite_number(value):
    with pytest.raises(GatewayError) as e:
        policy_override({"triage": {"max_cost_per_mtok": value}}, {}, Policy(), resolve)
    assert e.value.param == "triage.max_cost_per_mtok"
