"""A named Claude model on /v1/messages goes to Anthropic natively; when Anthropic is
overloaded and the model has a configured fallback chain, the chain answers instead, in
Anthropic's shapes. Without a chain, Anthropic's own error comes back intact."""

from __future__ import annotations

import anthropic
import pytest
import yaml

from tests.fakes.launch import FakeServer
from tests.gateway import GatewayProcess

ANTHROPIC_KEY = "test-anthropic-key"
OPENAI_KEY = "test-openai-key"


@pytest.fixture(scope="module")
def fakes():
    with FakeServer("anthropic_server.py", key=ANTHROPIC_KEY) as a, FakeServer("openai_server.py", key=OPENAI_KEY) as o:
        yield a, o


def gateway(fakes, tmp_path, config: dict) -> GatewayProcess:
    a, o = fakes
    a.reset()
    o.reset()
    cfg = tmp_path / "triage.yaml"
    cfg.write_text(yaml.safe_dump(config))
    env = {"ANTHROPIC_API_KEY": ANTHROPIC_KEY, "TRIAGE_ANTHROPIC_BASE_URL": a.url,
           "OPENAI_API_KEY": OPENAI_KEY, "TRIAGE_OPENAI_BASE_URL": o.url + "/v1"}  # fmt: skip
    return GatewayProcess(env, args=["--config", str(cfg)], home=tmp_path / "home")


def ask(gw: GatewayProcess) -> anthropic.types.Message:
    c = anthropic.Anthropic(base_url=gw.url, api_key="client", max_retries=0)
    return c.messages.create(model="claude-sonnet-4-6", max_tokens=50, messages=[{"role": "user", "content": "hello there"}])


def test_overloaded_native_call_falls_back_to_the_configured_chain(fakes, tmp_path):
    a, o = fakes
    with gateway(fakes, tmp_path, {"fallbacks": {"claude-sonnet-4-6": ["gpt-5.4-mini"]}}) as gw:
        a.script({"status": 529, "error_type": "overloaded_error", "message": "Overloaded"})
        m = ask(gw)
        rows = gw.ledger_rows()
    assert m.content[0].text == "echo: hello there" and m.model == "gpt-5.4-mini"
    assert len(a.requests()) == 1 and o.last_body()["model"] == "gpt-5.4-mini"
    assert rows[-1]["answered_model"] == "gpt-5.4-mini" and rows[-1]["attempts"] == 2 and rows[-1]["status"] == 200
    assert rows[-1]["chosen_model"] == "claude-sonnet-4-6" and rows[-1]["provider"] == "openai"


def test_without_a_chain_anthropics_error_comes_back_intact(fakes, tmp_path):
    a, o = fakes
    with gateway(fakes, tmp_path, {}) as gw:
        a.script({"status": 529, "error_type": "overloaded_error", "message": "Overloaded"})
        with pytest.raises(anthropic.APIStatusError) as e:
            ask(gw)
    assert e.value.status_code == 529 and e.value.body["error"]["type"] == "overloaded_error"
    assert o.requests() == []
