"""Failures upstream and misbehaving clients: fallbacks, breakers, cut streams, disconnects, SIGTERM."""

from __future__ import annotations

import json
import signal
import socket
import time

import httpx
import openai
import pytest
import yaml

from tests.conftest import OPENAI_KEY
from tests.gateway import GatewayProcess


def start(fake, tmp_path, config: dict | None = None) -> GatewayProcess:
    env = {"OPENAI_API_KEY": OPENAI_KEY, "TRIAGE_OPENAI_BASE_URL": fake.url + "/v1"}
    args = []
    if config:
        cfg = tmp_path / "triage.yaml"
        cfg.write_text(yaml.safe_dump(config))
        args = ["--config", str(cfg)]
    return GatewayProcess(env, args=args, home=tmp_path / "home")


def sdk(gw) -> openai.OpenAI:
    return openai.OpenAI(base_url=gw.url + "/v1", api_key="x", max_retries=0)


EASY = [{"role": "user", "content": "What is the capital of Peru?"}]


def test_auto_falls_back_to_the_next_capable_model_and_costs_the_one_that_answered(fake, tmp_path):
    with start(fake, tmp_path) as gw:
        fake.script({"status": 500, "message": "boom", "error_type": "server_error"}, {"usage": {"prompt_tokens": 100, "completion_tokens": 10}})
        raw = sdk(gw).chat.completions.with_raw_response.create(model="auto", messages=EASY)
        r = raw.parse()
        sent = [q["body"]["model"] for q in fake.requests()]
        info = r.model_extra["routing_info"]
        rows = gw.ledger_rows()
    assert len(sent) == 2 and sent[0] != sent[1]
    assert r.model == sent[1] == raw.headers["x-triage-model"] == info["selected_model"]
    assert [a["outcome"] for a in info["attempts"]] == ["server_error", "ok"]
    assert rows[0]["attempts"] == 2 and rows[0]["answered_model"] == sent[1] and rows[0]["chosen_model"] == sent[0]
    assert [(a["model"], a["outcome"]) for a in json.loads(rows[0]["attempt_log"])] == [(sent[0], "server_error"), (sent[1], "ok")]
    assert raw.headers["x-triage-attempts"] == f"{sent[0]}=server_error, {sent[1]}=ok"
    from triage.catalog.model import load_catalog

    m = load_catalog().get(sent[1])
    assert abs(rows[0]["cost_usd"] - m.cost(100, 10)) < 1e-12


def test_rate_limit_opens_the_circuit_and_routing_skips_the_model(fake, tmp_path):
    with start(fake, tmp_path) as gw:
        fake.script({"status": 429, "message": "slow down", "error_type": "rate_limit_error", "headers": {"retry-after": "30"}})
        sdk(gw).chat.completions.create(model="auto", messages=EASY)
        first = fake.requests()[0]["body"]["model"]
        fake.reset()
        sdk(gw).chat.completions.create(model="auto", messages=EASY)
        second = fake.requests()[0]["body"]["model"]
        health = httpx.get(gw.url + "/health").json()
    assert second != first
    assert health["circuits"][f"openai/{first}"]["state"] == "open" and health["circuits"][f"openai/{first}"]["retry_in_s"] > 20


def test_caller_errors_are_never_retried(fake, tmp_path):
    with start(fake, tmp_path) as gw:
        fake.script({"status": 400, "message": "bad field", "error_type": "invalid_request_error"})
        with pytest.raises(openai.BadRequestError):
            sdk(gw).chat.completions.create(model="auto", messages=EASY)
        assert len(fake.requests()) == 1


def test_explicit_model_uses_its_configured_chain_only(fake, tmp_path):
    with start(fake, tmp_path, {"fallbacks": {"gpt-5.4": ["gpt-5.4-mini"]}}) as gw:
        fake.script({"status": 503, "message": "unavailable", "error_type": "server_error"})
        r = sdk(gw).chat.completions.create(model="gpt-5.4", messages=EASY)
        assert r.model == "gpt-5.4-mini"
        fake.reset()
        fake.script({"status": 500, "message": "boom", "error_type": "server_error"})
        with pytest.raises(openai.InternalServerError) as e:
            sdk(gw).chat.completions.create(model="o3", messages=EASY)  # no chain configured
        assert e.value.status_code == 502 and len(fake.requests()) == 1


def test_timeout_before_first_byte_falls_back(fake, tmp_path):
    with start(fake, tmp_path, {"timeouts": {"first_byte": 0.5}}) as gw:
        fake.script({"delay": 2.0})
        t0 = time.monotonic()
        r = sdk(gw).chat.completions.create(model="auto", messages=EASY)
        took = time.monotonic() - t0
        info = r.model_extra["routing_info"]
    assert info["attempts"][0]["outcome"] == "timeout" and info["attempts"][1]["outcome"] == "ok"
    assert took < 1.9


def test_a_stream_cut_midway_ends_with_an_error_event_not_another_model(fake, tmp_path):
    with start(fake, tmp_path) as gw:
        fake.script({"text": "one two three four five six", "chunks": 6, "cut_after_chunks": 3})
        with httpx.stream("POST", gw.url + "/v1/chat/completions", json={"model": "gpt-5.4-mini", "messages": EASY, "stream": True}) as r:
            events = [line[6:] for line in r.iter_lines() if line.startswith("data: ")]
        rows = gw.ledger_rows()
    assert events[-1] == "[DONE]"
    err = json.loads(events[-2])["error"]
    assert err["type"] == "upstream_error" and err["message"]
    texts = [json.loads(e)["choices"][0]["delta"].get("content") for e in events[:-2]]
    assert "".join(t or "" for t in texts) and len(fake.requests()) == 1
    assert rows[0]["error_class"].startswith("stream_") and rows[0]["answered_model"] == "gpt-5.4-mini"


def test_client_disconnect_cancels_the_upstream_and_is_ledgered(fake, tmp_path):
    with start(fake, tmp_path) as gw:
        fake.script({"text": "x" * 50, "chunks": 50, "interval": 0.1})
        s = socket.create_connection(("127.0.0.1", gw.port))
        body = json.dumps({"model": "gpt-5.4-mini", "messages": EASY, "stream": True}).encode()
        s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: "
                  + str(len(body)).encode() + b"\r\n\r\n" + body)  # fmt: skip
        s.recv(4096)  # headers and the first chunks
        s.close()
        time.sleep(0.5)
        rows = gw.ledger_rows()
    assert rows[0]["status"] == 499 and rows[0]["error_class"] == "client_closed_request"
    assert rows[0]["latency_ms"] < 3000  # 50 chunks x 0.1 s would be 5 s had the stream gone on


def test_sigterm_lets_a_stream_finish_flushes_the_ledger_and_exits_0(fake, tmp_path):
    gw = start(fake, tmp_path)
    fake.script({"text": "y" * 10, "chunks": 10, "interval": 0.1})
    with httpx.stream("POST", gw.url + "/v1/chat/completions", json={"model": "gpt-5.4-mini", "messages": EASY, "stream": True}) as r:
        it = r.iter_lines()
        next(it)
        gw.proc.send_signal(signal.SIGTERM)
        rest = list(it)
    code = gw.stop()
    rows = gw.ledger_rows(wait=0)
    assert "data: [DONE]" in rest
    assert code == 0
    assert len(rows) == 1 and rows[0]["status"] == 200 and rows[0]["output_tokens"] > 0


def test_sigkill_loses_at_most_the_batch_window_and_restart_is_clean(fake, tmp_path):
    """The writer flushes every flush_ms (200 ms by default; 20 ms in tests): rows older than
    that window survive a SIGKILL, and the same ledger opens cleanly afterwards."""
    home = tmp_path / "home"
    env = {"OPENAI_API_KEY": OPENAI_KEY, "TRIAGE_OPENAI_BASE_URL": fake.url + "/v1", "TRIAGE_LEDGER_FLUSH_MS": "200"}
    gw = GatewayProcess(env, home=home)
    for _ in range(5):
        sdk(gw).chat.completions.create(model="gpt-5.4-mini", messages=EASY)
    time.sleep(0.45)  # more than one batch window
    gw.stop(sig=signal.SIGKILL)
    assert len(gw.ledger_rows(wait=0)) == 5
    with GatewayProcess(env, home=home) as again:
        sdk(again).chat.completions.create(model="gpt-5.4-mini", messages=EASY)
        rows = again.ledger_rows()
    assert len(rows) == 6 and all(r["status"] == 200 for r in rows)


def test_image_urls_are_never_fetched_by_the_gateway(fake, tmp_path):
    """An image URL pointing at a private address is the provider's to fetch or refuse; the
    gateway forwards it and never connects to it itself (no server-side request forgery)."""
    trap = socket.socket()
    trap.bind(("127.0.0.1", 0))
    trap.listen(8)
    trap.settimeout(0.5)
    url = f"http://127.0.0.1:{trap.getsockname()[1]}/latest/meta-data/secret.png"
    with start(fake, tmp_path) as gw:
        msg = [{"role": "user", "content": [{"type": "text", "text": "what is this?"}, {"type": "image_url", "image_url": {"url": url}}]}]
        sdk(gw).chat.completions.create(model="auto", messages=msg)
        forwarded = fake.last_body()["messages"][0]["content"][1]["image_url"]["url"]
    with pytest.raises(socket.timeout):
        trap.accept()
    trap.close()
    assert forwarded == url
