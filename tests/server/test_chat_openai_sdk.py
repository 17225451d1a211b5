"""The official openai SDK against a running gateway whose upstream is the fake OpenAI server."""

from __future__ import annotations

import asyncio
import json

import openai

from tests.conftest import OPENAI_KEY

IMAGE = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "Weather for a city",
          "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]  # fmt: skip


def sdk(gateway) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway.url + "/v1", api_key="client-side-token", max_retries=0)


def test_auto_routes_and_explains(gateway, fake):
    raw = sdk(gateway).chat.completions.with_raw_response.create(model="auto", messages=[{"role": "user", "content": "What is the capital of France?"}])
    r = raw.parse()
    assert r.choices[0].message.content == "echo: What is the capital of France?"
    info = r.model_extra["routing_info"]
    assert info["original_model"] == "auto" and info["task_type"] == "simple_qa"
    assert info["selected_model"] == r.model == raw.headers["x-triage-model"] == "gpt-5.4-nano"
    assert raw.headers["x-triage-provider"] == "openai" and raw.headers["x-request-id"]
    assert info["baseline_model"] == "gpt-5.4" and 0 < info["savings_percent"] < 100
    assert set(info) >= {"selected_model", "original_model", "provider", "task_type", "capability_score", "savings_percent", "baseline_model", "reasoning"}
    assert "gpt-5.4-nano" in info["reasoning"]
    # the default router on the shipped catalog (no model the training data scored): the capability scores
    assert info["estimator"] == "capability"
    sent = fake.last_body()
    assert sent["model"] == "gpt-5.4-nano"
    assert r.usage.prompt_tokens > 0


def test_right_key_sent_and_client_token_not_forwarded(gateway, fake):
    sdk(gateway).chat.completions.create(model="gpt-5.4-mini", messages=[{"role": "user", "content": "hi"}])
    headers = fake.requests()[-1]["headers"]
    assert headers["authorization"] == f"Bearer {OPENAI_KEY}"
    assert "client-side-token" not in json.dumps(headers)


def test_every_field_reaches_the_upstream_intact(gateway, fake):
    # A model the catalog does not restrict (here: one it does not know yet) gets the body as sent.
    body = dict(
        model="gpt-4.1",
        messages=[
            {"role": "developer", "content": "Be terse."},
            {"role": "user", "content": [{"type": "text", "text": "What is in this image?"}, {"type": "image_url", "image_url": {"url": IMAGE, "detail": "low"}}]},
        ],
        tools=TOOLS, tool_choice="auto", parallel_tool_calls=True,
        response_format={"type": "json_schema", "json_schema": {"name": "answer", "schema": {"type": "object", "properties": {"answer": {"type": "string"}}}, "strict": True}},
        n=1, stop=["\n\n"], seed=7, logprobs=True, top_logprobs=2, top_p=0.9, max_completion_tokens=300, reasoning_effort="low",
    )  # fmt: skip
    sdk(gateway).chat.completions.create(**body, extra_body={"future_field": {"nested": [1, 2]}, "triage": {"quality": 0.8}})
    sent = fake.last_body()
    for k, v in body.items():
        assert sent[k] == v, k
    assert sent["future_field"] == {"nested": [1, 2]}
    assert "triage" not in sent


def test_explicit_json_mode_round_trip(gateway, fake):
    r = sdk(gateway).chat.completions.create(model="auto", messages=[{"role": "user", "content": "give me json"}], response_format={"type": "json_object"})
    assert json.loads(r.choices[0].message.content) == {"answer": "give me json"}


def test_tool_calls_come_back_to_the_client(gateway, fake):
    fake.script({"tool_calls": [{"name": "get_weather", "arguments": {"city": "Paris"}, "id": "call_A"}, {"name": "get_weather", "arguments": {"city": "Oslo"}, "id": "call_B"}]})
    r = sdk(gateway).chat.completions.create(model="auto", messages=[{"role": "user", "content": "weather in Paris and Oslo?"}], tools=TOOLS)
    calls = r.choices[0].message.tool_calls
    assert [(c.id, json.loads(c.function.arguments)["city"]) for c in calls] == [("call_A", "Paris"), ("call_B", "Oslo")]
    assert r.choices[0].finish_reason == "tool_calls"
    assert fake.last_body()["tools"] == TOOLS


def test_stream_text_usage_and_routing_info_on_final_chunk(gateway, fake):
    raw = sdk(gateway).chat.completions.with_raw_response.create(
        model="auto", messages=[{"role": "user", "content": "tell me something nice"}], stream=True, stream_options={"include_usage": True})
    assert raw.headers["content-type"].startswith("text/event-stream")
    chunks = list(raw.parse())
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "echo: tell me something nice"
    final = chunks[-1]
    assert final.usage is not None and final.usage.completion_tokens > 0
    info = final.model_extra["routing_info"]
    assert info["selected_model"] == raw.headers["x-triage-model"] == final.model
    assert fake.last_body()["stream_options"] == {"include_usage": True}


def test_stream_without_usage_request_gets_no_usage_but_keeps_routing_info(gateway, fake):
    chunks = list(sdk(gateway).chat.completions.create(model="gpt-5.4-mini", messages=[{"role": "user", "content": "hello"}], stream=True))
    assert all(c.usage is None for c in chunks)
    assert chunks[-1].model_extra["routing_info"]["original_model"] == "gpt-5.4-mini"
    # The gateway still asked the upstream for usage, to cost the stream.
    assert fake.last_body()["stream_options"] == {"include_usage": True}


def test_async_client_stream_and_not(gateway, fake):
    async def run() -> tuple[str, str]:
        c = openai.AsyncOpenAI(base_url=gateway.url + "/v1", api_key="t", max_retries=0)
        r = await c.chat.completions.create(model="auto", messages=[{"role": "user", "content": "async hello"}])
        s = await c.chat.completions.create(model="auto", messages=[{"role": "user", "content": "async stream"}], stream=True)
        text = "".join([ch.choices[0].delta.content or "" async for ch in s if ch.choices])
        await c.close()
        return r.choices[0].message.content, text

    plain, streamed = asyncio.run(run())
    assert plain == "echo: async hello" and streamed == "echo: async stream"


def test_ledger_numbers_after_a_known_sequence(openai_fake):
    from tests.gateway import GatewayProcess

    openai_fake.reset()
    env = {"OPENAI_API_KEY": OPENAI_KEY, "TRIAGE_OPENAI_BASE_URL": openai_fake.url + "/v1"}
    with GatewayProcess(env) as gw:
        c = sdk(gw)
        openai_fake.script({"usage": {"prompt_tokens": 1000, "completion_tokens": 500, "cached_tokens": 200}})
        c.chat.completions.create(model="gpt-5.4-mini", messages=[{"role": "user", "content": "a"}])
        openai_fake.script({"usage": {"prompt_tokens": 2000, "completion_tokens": 100}})
        c.chat.completions.create(model="auto", messages=[{"role": "user", "content": "What is 2+2?"}])
        openai_fake.script({"status": 400, "message": "bad thing", "error_type": "invalid_request_error"})
        try:
            c.chat.completions.create(model="gpt-5.4", messages=[{"role": "user", "content": "b"}])
        except openai.BadRequestError:
            pass
        rows = gw.ledger_rows()
        stats = json.loads(__import__("urllib.request").request.urlopen(gw.url + "/v1/stats").read())
    assert len(rows) == 3
    explicit, routed, failed = rows
    # gpt-5.4-mini: 800 plain input x 0.75 + 200 cached x 0.075 + 500 output x 4.5, per 1M tokens.
    assert abs(explicit["cost_usd"] - (800 * 0.75 + 200 * 0.075 + 500 * 4.5) / 1e6) < 1e-12
    assert explicit["baseline_cost_usd"] == explicit["cost_usd"]  # explicit choice: no routing savings claimed
    assert explicit["cached_tokens"] == 200 and explicit["status"] == 200
    assert routed["requested_model"] == "auto" and routed["baseline_model"] == "gpt-5.4"
    m = routed["answered_model"]
    assert m == routed["chosen_model"] and m != "gpt-5.4"
    assert abs(routed["baseline_cost_usd"] - (2000 * 2.5 + 100 * 15.0) / 1e6) < 1e-12
    assert routed["cost_usd"] < routed["baseline_cost_usd"]
    assert failed["status"] == 400 and failed["error_class"] == "invalid_request_error" and failed["cost_usd"] == 0
    assert stats["requests"] == 3 and stats["errors"] == 1
    assert abs(stats["saved_usd"] - (routed["baseline_cost_usd"] - routed["cost_usd"])) < 1e-9


def test_parameters_a_routed_model_refuses_are_adapted_and_stop_applied_by_the_gateway(gateway, fake):
    fake.script({"text": "alpha beta STOP gamma"}, {"text": "one two STOP three", "chunks": 6})
    c = sdk(gateway)
    r = c.chat.completions.create(model="auto", messages=[{"role": "user", "content": "say something"}], temperature=0.2, stop=["STOP"], max_tokens=50)
    sent = fake.last_body()
    assert "temperature" not in sent and "stop" not in sent and "max_tokens" not in sent and sent["max_completion_tokens"] == 50
    assert r.choices[0].message.content == "alpha beta " and r.choices[0].finish_reason == "stop"
    adapted = r.model_extra["routing_info"]["adapted"]
    assert any("temperature dropped" in a for a in adapted) and any("stop applied by the gateway" in a for a in adapted)
    chunks = list(c.chat.completions.create(model="auto", messages=[{"role": "user", "content": "again"}], stop="STOP", stream=True))
    text = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
    assert text == "one two " and [ch.choices[0].finish_reason for ch in chunks if ch.choices and ch.choices[0].finish_reason] == ["stop"]


def test_more_stop_sequences_than_the_api_takes_are_applied_by_the_gateway(openai_fake, tmp_path):
    """OpenAI's API takes 4 stop sequences; a fifth is applied by the gateway to the output."""
    import yaml

    from tests.gateway import GatewayProcess

    cfg = tmp_path / "triage.yaml"  # a non-reasoning OpenAI model, so `stop` itself is accepted
    cfg.write_text(yaml.safe_dump({"models": [{"name": "gpt-4.1", "provider": "openai", "input_per_mtok": 2, "output_per_mtok": 8, "max_stop_sequences": 4}]}))
    openai_fake.reset()
    env = {"OPENAI_API_KEY": OPENAI_KEY, "TRIAGE_OPENAI_BASE_URL": openai_fake.url + "/v1"}
    with GatewayProcess(env, args=["--config", str(cfg)], home=tmp_path / "home") as gw:
        openai_fake.script({"text": "one two FIVE three"})
        r = sdk(gw).chat.completions.create(model="gpt-4.1", messages=[{"role": "user", "content": "x"}], stop=["A1", "B2", "C3", "D4", "FIVE"])
    assert openai_fake.last_body()["stop"] == ["A1", "B2", "C3", "D4"]
    assert r.choices[0].message.content == "one two " and r.choices[0].finish_reason == "stop"
