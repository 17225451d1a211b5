"""Bad input and failures get a precise error in OpenAI's shape, and a ledger row; nothing crashes."""

from __future__ import annotations

import http.client
import json

import openai
import pytest

from tests.conftest import OPENAI_KEY
from tests.gateway import GatewayProcess, free_port


def post(gw, path: str, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, dict, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=10)
    conn.request("POST", path, body=body, headers={"content-type": "application/json", **(headers or {})})
    r = conn.getresponse()
    data = r.read()
    conn.close()
    return r.status, json.loads(data) if data else {}, {k.lower(): v for k, v in r.getheaders()}


def assert_openai_error(body: dict, code: str | None = None) -> dict:
    err = body["error"]
    assert set(err) == {"message", "type", "param", "code"} and err["message"]
    if code:
        assert err["code"] == code, err
    return err


@pytest.mark.parametrize(
    ("raw", "status", "code", "param"),
    [
        (b"{not json", 400, "invalid_json", None),
        (b"", 400, "invalid_json", None),
        (b"[1, 2]", 400, "invalid_json", None),
        (b'{"model": "auto", "messages": "\xff\xfe"}', 400, "invalid_encoding", None),
        (b'{"model": "auto", "messages": [{"role": "user", "content": "\\ud800"}]}', 400, "invalid_encoding", None),
        (b'{"model": "auto"}', 400, "missing_required_parameter", "messages"),
        (b'{"model": "auto", "messages": []}', 400, "empty_array", "messages"),
        (b'{"model": 5, "messages": [{"role": "user", "content": "x"}]}', 400, "invalid_type", "model"),
        (b'{"model": "auto", "messages": [{"role": "wizard", "content": "x"}]}', 400, "invalid_value", "messages[0].role"),
        (b'{"model": "auto", "messages": [{"role": "user", "content": 7}]}', 400, "invalid_type", "messages[0].content"),
        (b'{"model": "auto", "stream": "yes", "messages": [{"role": "user", "content": "x"}]}', 400, "invalid_type", "stream"),
        (b'{"model": "auto", "max_tokens": -1, "messages": [{"role": "user", "content": "x"}]}', 400, "invalid_value", "max_tokens"),
        (b'{"model": "auto", "messages": [{"role": "user", "content": "x"}], "triage": {"quality": 3}}', 400, "invalid_value", "triage.quality"),
        (b'{"model": "auto", "messages": [{"role": "user", "content": "x"}], "triage": {"models": "gpt-5.4"}}', 400, "invalid_type", "triage.models"),
        (b'{"model": "auto", "messages": [{"role": "user", "content": "x"}], "triage": "fast"}', 400, "invalid_type", "triage"),
        (b'{"model": "auto", "messages": [{"role": "user", "content": "x"}], "triage": {"qualty": 0.5}}', 400, "unknown_parameter", "triage.qualty"),
        (b'{"model": "auto", "messages": [{"role": "user", "content": "x"}], "triage": {"models": []}}', 400, "invalid_type", "triage.models"),
        (b'{"model": "auto", "messages": [{"role": "user", "content": "x"}], "triage": {"models": ["gpt-9-ultra"]}}', 400, "model_not_found", "triage.models"),
        (b'{"model": "auto", "messages": [{"role": "user", "content": "x"}], "triage": {"max_cost_per_mtok": 0}}', 400, "invalid_value", "triage.max_cost_per_mtok"),
        (b'{"model": "auto", "messages": [{"role": "user", "content": "x"}], "triage": {"max_cost_per_mtok": "cheap"}}', 400, "invalid_value", "triage.max_cost_per_mtok"),
        (b'{"model": "auto", "messages": [{"role": "user", "content": "x"}], "triage": {"models": ["claude-opus-4-6"]}}', 400, "no_eligible_model", "model"),
        (b'{"model": "auto", "messages": ' + b"[" * 200 + b"]" * 200 + b"}", 400, "invalid_json", None),
    ],
)
def test_malformed_requests_get_precise_400s(gateway, fake, raw, status, code, param):
    got, body, headers = post(gateway, "/v1/chat/completions", raw)
    assert got == status
    err = assert_openai_error(body, code)
    assert err["param"] == param
    assert headers["x-request-id"]
    assert fake.requests() == []  # nothing reached the provider


def test_ten_thousand_messages_are_refused(gateway, fake):
    msgs = [{"role": "user", "content": "x"}] * 10_000
    got, body, _ = post(gateway, "/v1/chat/completions", json.dumps({"model": "auto", "messages": msgs}).encode())
    assert got == 400 and assert_openai_error(body, "too_many_messages")


def test_oversized_body_gets_413(gateway, fake):
    big = b'{"model": "auto", "messages": [{"role": "user", "content": "' + b"a" * (21 * 1024 * 1024) + b'"}]}'
    got, body, _ = post(gateway, "/v1/chat/completions", big)
    assert got == 413 and assert_openai_error(body, "request_too_large")


def test_unknown_model_is_404_and_provider_shaped_names_pass_through(gateway, fake):
    c = openai.OpenAI(base_url=gateway.url + "/v1", api_key="x", max_retries=0)
    with pytest.raises(openai.NotFoundError) as e:
        c.chat.completions.create(model="llama-unknown-9000", messages=[{"role": "user", "content": "x"}])
    assert e.value.body["code"] == "model_not_found"
    # A gpt- name the catalog does not know yet goes to OpenAI as is.
    r = c.chat.completions.create(model="gpt-7-preview", messages=[{"role": "user", "content": "new model"}])
    assert fake.last_body()["model"] == "gpt-7-preview" and r.model == "gpt-7-preview"
    assert r.model_extra["routing_info"]["original_model"] == "gpt-7-preview"


def test_unconfigured_provider_is_a_clear_503(gateway, fake):
    c = openai.OpenAI(base_url=gateway.url + "/v1", api_key="x", max_retries=0)
    with pytest.raises(openai.InternalServerError) as e:
        c.chat.completions.create(model="claude-sonnet-4-6", messages=[{"role": "user", "content": "x"}])
    assert e.value.status_code == 503 and "ANTHROPIC_API_KEY" in e.value.body["message"]


def test_upstream_errors_come_back_faithfully(gateway, fake):
    c = openai.OpenAI(base_url=gateway.url + "/v1", api_key="x", max_retries=0)
    fake.script({"status": 400, "message": "Unsupported value: 'temperature'", "error_type": "invalid_request_error", "code": "unsupported_value"})
    with pytest.raises(openai.BadRequestError) as e:
        c.chat.completions.create(model="gpt-5.4", messages=[{"role": "user", "content": "x"}])
    assert "Unsupported value" in e.value.body["message"] and e.value.body["code"] == "unsupported_value"
    fake.script({"status": 429, "message": "slow down", "error_type": "rate_limit_error", "headers": {"retry-after": "7"}})
    with pytest.raises(openai.RateLimitError) as e:
        c.chat.completions.create(model="gpt-5.4", messages=[{"role": "user", "content": "x"}])
    assert e.value.response.headers["retry-after"] == "7"
    assert len(fake.requests()) == 2  # explicit model: no retry, no fallback


def test_rejected_provider_key_is_reported_as_gateway_misconfiguration(openai_fake):
    openai_fake.reset()
    env = {"OPENAI_API_KEY": "sk-wrong-key-123", "TRIAGE_OPENAI_BASE_URL": openai_fake.url + "/v1"}
    with GatewayProcess(env) as gw:
        c = openai.OpenAI(base_url=gw.url + "/v1", api_key="x", max_retries=0)
        with pytest.raises(openai.APIStatusError) as e:
            c.chat.completions.create(model="auto", messages=[{"role": "user", "content": "hi"}])
        assert e.value.status_code == 502 and e.value.body["code"] == "upstream_authentication_failed"
        assert "sk-wrong-key-123" not in json.dumps(e.value.body)
        rows = gw.ledger_rows()
        assert len(openai_fake.requests()) == 1  # an auth failure is not retried on other models
        log = gw.log()
    assert rows[-1]["status"] == 502 and rows[-1]["error_class"] == "authentication_error"
    assert "sk-wrong-key-123" not in log and "sk-wrong-key-123" not in json.dumps(rows)


def test_no_provider_configured_still_serves_reads_and_explains_503():
    with GatewayProcess({}) as gw:
        c = openai.OpenAI(base_url=gw.url + "/v1", api_key="x", max_retries=0)
        assert [m.id for m in c.models.list()] == ["auto"]
        with pytest.raises(openai.APIStatusError) as e:
            c.chat.completions.create(model="auto", messages=[{"role": "user", "content": "x"}])
        assert e.value.status_code == 503 and "OPENAI_API_KEY" in e.value.body["message"]
        got, body, _ = post(gw, "/v1/route", b'{"messages": [{"role": "user", "content": "write a haiku"}]}')
        assert got == 200 and body["task_type"] == "creative"
        assert "OPENAI_API_KEY" in gw.log()


def test_api_key_guards_everything_but_health(openai_fake):
    env = {"OPENAI_API_KEY": OPENAI_KEY, "TRIAGE_OPENAI_BASE_URL": openai_fake.url + "/v1", "TRIAGE_API_KEY": "gw-secret"}
    with GatewayProcess(env) as gw:
        conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=5)
        conn.request("GET", "/health")
        assert conn.getresponse().status == 200
        for path in ("/v1/models", "/v1/stats", "/v1/config"):
            conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=5)
            conn.request("GET", path)
            r = conn.getresponse()
            assert r.status == 401 and json.loads(r.read())["error"]["code"] == "invalid_api_key"
        bad = openai.OpenAI(base_url=gw.url + "/v1", api_key="wrong", max_retries=0)
        with pytest.raises(openai.AuthenticationError):
            bad.chat.completions.create(model="auto", messages=[{"role": "user", "content": "x"}])
        good = openai.OpenAI(base_url=gw.url + "/v1", api_key="gw-secret", max_retries=0)
        openai_fake.reset()
        assert good.chat.completions.create(model="auto", messages=[{"role": "user", "content": "x"}]).choices
        # The gateway's own key is never forwarded upstream.
        assert "gw-secret" not in json.dumps(openai_fake.requests()[-1]["headers"])
        rows = gw.ledger_rows()
    assert [r["status"] for r in rows][-2:] == [401, 200]


def test_a_provider_pointing_back_at_the_gateway_is_refused_not_looped():
    port = free_port()
    env = {"OPENAI_API_KEY": "k", "TRIAGE_OPENAI_BASE_URL": f"http://127.0.0.1:{port}/v1"}
    with GatewayProcess(env, port=port) as gw:
        got, body, _ = post(gw, "/v1/chat/completions", b'{"model": "gpt-5.4", "messages": [{"role": "user", "content": "x"}]}')
        rows = gw.ledger_rows()
    assert got == 508 and assert_openai_error(body, "loop_detected")
    assert len(rows) == 2  # the outer request and the refused inner one, both ledgered


def test_dns_rebinding_host_is_refused(gateway):
    conn = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=5)
    conn.request("GET", "/v1/models", headers={"Host": "evil.example.com"})
    r = conn.getresponse()
    assert r.status == 421 and json.loads(r.read())["error"]["code"] == "host_not_allowed"


def test_cors_only_for_local_origins(gateway):
    def preflight(origin: str) -> tuple[int, str | None]:
        conn = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=5)
        conn.request("OPTIONS", "/v1/chat/completions", headers={"Origin": origin, "Access-Control-Request-Method": "POST"})
        r = conn.getresponse()
        r.read()
        return r.status, r.getheader("access-control-allow-origin")

    assert preflight("http://localhost:5173") == (204, "http://localhost:5173")
    assert preflight("https://evil.example.com")[0] == 403


def test_unknown_path_and_wrong_method(gateway):
    conn = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=5)
    conn.request("GET", "/v1/chat/completions")
    r = conn.getresponse()
    assert r.status == 405 and "POST" in r.getheader("allow")
    r.read()
    conn.request("GET", "/nope")
    r = conn.getresponse()
    assert r.status == 404 and json.loads(r.read())["error"]["code"] == "not_found"


@pytest.mark.parametrize("bad", [b"a\x01b", b"a\x7fb", b"a\x00b"])
def test_control_characters_in_headers_get_a_json_400_and_a_ledger_row(bad):
    import socket

    with GatewayProcess({}) as gw:
        s = socket.create_connection(("127.0.0.1", gw.port), timeout=5)
        s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Bad: " + bad + b"\r\nContent-Length: 2\r\n\r\n{}")
        data = b""
        while chunk := s.recv(4096):
            data += chunk
        s.close()
        rows = gw.ledger_rows()
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400") and b"application/json" in head
    assert_openai_error(json.loads(body), "invalid_http_request")
    assert [(r["status"], r["error_class"]) for r in rows] == [(400, "invalid_http_request")]


def test_dashboard_accepts_the_key_as_basic_auth_password_and_challenges_browsers(openai_fake):
    import base64

    with GatewayProcess({"TRIAGE_API_KEY": "gw-secret"}) as gw:
        conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=5)
        conn.request("GET", "/v1/models", headers={"Authorization": "Basic " + base64.b64encode(b"anyone:gw-secret").decode()})
        assert conn.getresponse().status == 200
        conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=5)
        conn.request("GET", "/v1/models", headers={"Authorization": "Basic " + base64.b64encode(b"anyone:wrong").decode()})
        assert conn.getresponse().status == 401
        conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=5)
        conn.request("GET", "/dashboard")
        r = conn.getresponse()
        assert r.status == 401 and r.getheader("www-authenticate").startswith("Basic")


def test_a_failed_request_records_the_provider_that_failed(openai_fake, tmp_path):
    openai_fake.reset()
    env = {"OPENAI_API_KEY": OPENAI_KEY, "TRIAGE_OPENAI_BASE_URL": openai_fake.url + "/v1"}
    with GatewayProcess(env) as gw:
        openai_fake.script({"status": 400, "message": "nope", "error_type": "invalid_request_error"})
        post(gw, "/v1/chat/completions", b'{"model": "auto", "messages": [{"role": "user", "content": "x"}]}')
        rows = gw.ledger_rows()
    assert rows[-1]["status"] == 400 and rows[-1]["provider"] == "openai" and rows[-1]["attempts"] == 1


def test_a_provider_message_quoting_the_key_is_redacted(openai_fake):
    openai_fake.reset()
    env = {"OPENAI_API_KEY": OPENAI_KEY, "TRIAGE_OPENAI_BASE_URL": openai_fake.url + "/v1"}
    with GatewayProcess(env) as gw:
        openai_fake.script({"status": 400, "message": f"key {OPENAI_KEY} is not allowed to use this model", "error_type": "invalid_request_error"})
        got, body, _ = post(gw, "/v1/chat/completions", b'{"model": "gpt-5.4", "messages": [{"role": "user", "content": "x"}]}')
        rows = gw.ledger_rows()
        log = gw.log()
    assert got == 400 and OPENAI_KEY not in json.dumps(body) and "[redacted]" in body["error"]["message"]
    assert OPENAI_KEY not in json.dumps(rows) and OPENAI_KEY not in log


@pytest.mark.parametrize("field,value", [("stop", 5), ("stop", ["a", 5]), ("stream_options", "x")])
def test_fields_the_gateway_reads_are_checked_openai(gateway, field, value) -> None:  # noqa: ANN001
    """``stop`` (the gateway may apply it) and ``stream_options`` (it adds include_usage) of the
    wrong type: a 400 naming the field, not a 500."""
    import urllib.error
    import urllib.request

    body = {"model": "auto", "messages": [{"role": "user", "content": "hi"}], "stream": True, field: value}
    req = urllib.request.Request(gateway.url + "/v1/chat/completions", data=json.dumps(body).encode(),
                                 headers={"content-type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=10)
    assert e.value.code == 400
    assert json.loads(e.value.read())["error"]["param"] == field


def test_a_utf8_byte_order_mark_before_the_json_is_accepted(gateway, fake):
    got, body, _ = post(gateway, "/v1/chat/completions", b'\xef\xbb\xbf{"model": "auto", "messages": [{"role": "user", "content": "hi"}]}')
    assert got == 200, body


def test_an_anthropic_error_relayed_as_it_came_does_not_carry_the_key_back() -> None:
    """Anthropic in and out relays Anthropic's own error body intact, except a configured key
    it might quote (an Anthropic-compatible proxy that echoes credentials)."""
    from tests.fakes.launch import FakeServer

    key = "sk-ant-test-key-0123456789"
    with FakeServer("anthropic_server.py", key=key) as ant:
        env = {"ANTHROPIC_API_KEY": key, "TRIAGE_ANTHROPIC_BASE_URL": ant.url}
        with GatewayProcess(env) as gw:
            for status in (400, 401, 529):
                ant.script({"status": status, "message": f"x-api-key {key} cannot do this"})
                got, body, _ = post(gw, "/v1/messages", json.dumps({"model": "claude-haiku-4-5", "max_tokens": 8,
                                                                     "messages": [{"role": "user", "content": "x"}]}).encode(),
                                    {"anthropic-version": "2023-06-01"})  # fmt: skip
                assert got == status and body["type"] == "error"
                assert key not in json.dumps(body) and "[redacted]" in body["error"]["message"]
            rows, log = gw.ledger_rows(), gw.log()
    assert key not in json.dumps(rows) and key not in log
