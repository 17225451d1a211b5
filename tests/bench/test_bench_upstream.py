"""The fake upstream speaks OpenAI's and Anthropic's wire formats (checked with the official SDKs)
and injects the faults it is asked for; the Python load client counts what it gets."""

from __future__ import annotations

import random

import pytest

from bench import loadclient, wire
from bench.scenarios import control


def test_openai_sdk_non_stream_and_stream(upstream):
    openai = pytest.importorskip("openai")
    client = openai.OpenAI(base_url=upstream + "/v1", api_key="sk-bench", max_retries=0)
    models = [m.id for m in client.models.list()]
    assert "gpt-5.4-mini" in models
    r = client.chat.completions.create(model="gpt-5.4-mini", messages=[{"role": "user", "content": "hi"}])
    assert r.model == "gpt-5.4-mini" and r.usage.total_tokens == 43 and r.choices[0].message.content
    control(upstream, chunks=5, interval=0.001)
    chunks = list(client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}],
                                                 stream=True, stream_options={"include_usage": True}))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "".join(wire.ANSWER_WORDS[:5])
    assert chunks[-1].usage.completion_tokens == 5


def test_anthropic_sdk_non_stream_and_stream(upstream):
    anthropic = pytest.importorskip("anthropic")
    client = anthropic.Anthropic(base_url=upstream, api_key="sk-ant-bench", max_retries=0)
    msg = client.messages.create(model="claude-haiku-4-5", max_tokens=64, messages=[{"role": "user", "content": "hi"}])
    assert msg.content[0].text and msg.usage.output_tokens == 12
    control(upstream, chunks=4)
    with client.messages.stream(model="claude-haiku-4-5", max_tokens=64,
                                messages=[{"role": "user", "content": "hi"}]) as s:
        text = "".join(s.text_stream)
        final = s.get_final_message()
    assert text == "".join(wire.ANSWER_WORDS[:4])
    assert final.usage.output_tokens == 4 and final.stop_reason == "end_turn"


def test_fault_injection_fail_cut_slow(upstream):
    url = upstream + "/v1/chat/completions"
    control(upstream, fail_rate=1.0, reset=True)
    r = loadclient.run_load(url, wire.chat_request("m"), 2, 5, max_requests=6)
    assert r["requests"] == 6 and r["ok"] == 0 and r["error_detail"]["status"] == 6
    control(upstream, fail_rate=0.0, cut_rate=1.0, chunks=10)
    r = loadclient.run_load(url, wire.chat_request("m", stream=True), 1, 5, max_requests=3, sse=True)
    assert r["ok"] == 0 and r["error_detail"]["connection"] >= 1  # the stream broke mid-body
    control(upstream, cut_rate=0.0, slow_rate=1.0, slow_delay=0.05)
    r = loadclient.run_load(url, wire.chat_request("m"), 1, 5, max_requests=2)
    assert r["ok"] == 2 and r["p50_ms"] >= 50
    stats = control(upstream)  # settings echo
    assert stats["slow_rate"] == 1.0


def test_load_client_counts_sse_events(upstream):
    control(upstream, chunks=50, interval=0.0)
    r = loadclient.run_load(upstream + "/v1/chat/completions", wire.chat_request("m", stream=True), 2, 5,
                            max_requests=4, sse=True)
    assert r["ok"] == 4
    assert r["events"] == 4 * (50 + 4)  # role + 50 deltas + finish + usage + [DONE]
    assert r["ttfb_p50_ms"] is not None


def test_load_client_ramp_spreads_first_requests(upstream):
    control(upstream, delay=0.02)  # answers paced by the upstream: requests grow with connection-time
    url = upstream + "/v1/chat/completions"
    random.seed(7)  # the ramp's offsets, fixed: some connections start early, about half never do
    # a ramp of 0.6 s over a 0.3 s run: a connection works only for what is left after its
    # offset (~25% of the burst's connection-seconds); a ramp that did nothing would be ~100%
    r = loadclient.run_load(url, wire.chat_request("m"), 16, 0.3, ramp_ms=600)
    burst = loadclient.run_load(url, wire.chat_request("m"), 16, 0.3)
    assert r["errors"] == 0 and burst["errors"] == 0  # connections that never send close cleanly
    assert 0 < r["ok"] < 0.6 * burst["ok"]
    control(upstream, delay=0.0)


def test_load_client_refuses_non_loopback():
    with pytest.raises(ValueError):
        loadclient.build_request("http://192.168.1.10:80/x", b"{}")
