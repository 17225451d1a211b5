"""An upstream that answers 200 with a body of the wrong shape (a list, a string where an object is
due, stream events the same): the gateway answers the caller with a clear error in its own API's
shape (a 502 before any byte, an error event once streaming), records it, and never answers a
500 or cuts a stream mid-way. Both client surfaces, non-stream and stream."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import urllib.error
import urllib.request
from typing import Any, Iterator

import pytest

from tests.fakes.raw_upstream import RawUpstream
from tests.gateway import GatewayProcess

BODIES = [b"[]", b'{"choices": "x"}', b'{"choices": [5]}', b'{"choices": [{"message": "str"}]}',
          b'{"choices": [{"message": {"content": 5}}]}',
          b'{"choices": [{"message": {"role": "assistant", "content": "hi", "tool_calls": "x"}}]}']
EVENTS = [b"data: []\n\n", b'data: {"choices": "x"}\n\n', b'data: {"choices": [{"delta": "x"}]}\n\ndata: [DONE]\n\n',
          b'data: {"choices": [{"index": 0, "delta": {"content": "a"}}], "usage": "bad"}\n\ndata: [DONE]\n\n']
SURFACES = {
    "openai": ("/v1/chat/completions", {"model": "gpt-5.4-mini", "messages": [{"role": "user", "content": "hi"}]}),
    "anthropic": ("/v1/messages", {"model": "gpt-5.4-mini", "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]}),
}


@pytest.fixture(scope="module")
def setup() -> Iterator[tuple[RawUpstream, GatewayProcess]]:
    up = RawUpstream()
    with GatewayProcess({"OPENAI_API_KEY": "k", "TRIAGE_OPENAI_BASE_URL": up.url}) as gw:
        yield up, gw
    up.close()


def call(gw: GatewayProcess, path: str, body: dict[str, Any]) -> tuple[int, bytes]:
    req = urllib.request.Request(gw.url + path, data=json.dumps(body).encode(),
                                 headers={"content-type": "application/json", "anthropic-version": "2023-06-01"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read()  # a stream cut mid-way raises IncompleteRead here
    except urllib.error.HTTPError as e:
        return e.code, e.read()


@pytest.mark.parametrize("surface", SURFACES)
@pytest.mark.parametrize("data", BODIES)
def test_a_malformed_answer_is_a_502_in_the_callers_shape(setup: tuple[RawUpstream, GatewayProcess], surface: str, data: bytes) -> None:
    up, gw = setup
    up.next = data
    path, body = SURFACES[surface]
    status, out = call(gw, path, body)
    assert status == 502
    err = json.loads(out)
    assert (err["error"]["type"] == "upstream_error") if surface == "openai" else (err["type"] == "error")
    assert gw.ledger_rows()[-1]["status"] == 502
    assert "Traceback" not in gw.log()


def _ended_cleanly(surface: str, out: bytes) -> bool:
    """The stream's own end in the caller's format: Anthropic's error or message_stop event, or
    OpenAI's [DONE]."""
    if surface == "anthropic":
        return out.rstrip().endswith(b"}") and (b"event: error" in out or b"event: message_stop" in out)
    return out.endswith(b"data: [DONE]\n\n")


@pytest.mark.parametrize("surface", SURFACES)
@pytest.mark.parametrize("data", EVENTS)
def test_a_malformed_stream_event_ends_the_stream_cleanly(setup: tuple[RawUpstream, GatewayProcess], surface: str, data: bytes) -> None:
    up, gw = setup
    up.next = data
    path, body = SURFACES[surface]
    status, out = call(gw, path, {**body, "stream": True})
    assert status == 200 and _ended_cleanly(surface, out)
    assert "Traceback" not in gw.log()


NATIVE = {  # Anthropic- and Gemini-wire upstreams answering 200 with the wrong shape
    "claude-haiku-4-5": ([b"[]", b'{"type": "message", "content": "x"}', b'{"type": "message", "content": [5]}',
                          b'{"type": "message", "content": [{"type": "tool_use", "input": "x"}]}'],
                         [b"event: message_start\ndata: []\n\n",
                          b'event: message_start\ndata: {"type": "message_start", "message": "x"}\n\n',
                          b'event: content_block_delta\ndata: {"type": "content_block_delta", "delta": "x"}\n\n',
                          b'data: {"type": "content_block_start", "index": 0, "content_block": "x"}\n\n']),
    "gemini-2.5-flash": ([b"[]", b'{"candidates": "x"}', b'{"candidates": [{"content": "x"}]}',
                          b'{"candidates": [{"content": {"parts": [{"functionCall": "x"}]}}]}'],
                         [b"data: []\n\n", b'data: {"candidates": "x"}\n\n', b'data: {"candidates": [{"content": {"parts": [5]}}]}\n\n']),
}


@pytest.fixture(scope="module")
def native_setup() -> Iterator[tuple[RawUpstream, GatewayProcess]]:
    up = RawUpstream()
    base = up.url.removesuffix("/v1")
    env = {"ANTHROPIC_API_KEY": "k", "GEMINI_API_KEY": "k", "TRIAGE_ANTHROPIC_BASE_URL": base, "TRIAGE_GEMINI_BASE_URL": base}
    with GatewayProcess(env) as gw:
        yield up, gw
    up.close()


@pytest.mark.parametrize("surface", SURFACES)
@pytest.mark.parametrize("model,data", [(m, d) for m, (bodies, _) in NATIVE.items() for d in bodies])
def test_other_wire_formats_answered_in_the_wrong_shape(native_setup: tuple[RawUpstream, GatewayProcess], surface: str,
                                                         model: str, data: bytes) -> None:
    up, gw = native_setup
    up.next = data
    path, body = SURFACES[surface]
    status, out = call(gw, path, {**body, "model": model})
    # Anthropic in and out relays Anthropic's answer as it came (200); every translation is a 502
    assert status == (200 if (surface, model) == ("anthropic", "claude-haiku-4-5") else 502)
    assert "Traceback" not in gw.log()


@pytest.mark.parametrize("surface", SURFACES)
@pytest.mark.parametrize("model,data", [(m, d) for m, (_, events) in NATIVE.items() for d in events])
def test_other_wire_formats_streaming_the_wrong_shape(native_setup: tuple[RawUpstream, GatewayProcess], surface: str,
                                                      model: str, data: bytes) -> None:
    up, gw = native_setup
    up.next = data
    path, body = SURFACES[surface]
    status, _ = call(gw, path, {**body, "model": model, "stream": True})  # read to the end: no cut stream
    assert status == 200
    assert "Traceback" not in gw.log()


@contextlib.contextmanager
def cut_body_upstream() -> Iterator[str]:
    """An upstream that answers 200 promising 500 bytes of JSON, sends a few and closes."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)

    def serve() -> None:
        while True:
            try:
                c, _ = srv.accept()
            except OSError:
                return
            with c:
                data = b""
                while b"\r\n\r\n" not in data:
                    data += c.recv(65536)
                c.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 500\r\n\r\n"
                          b'{"id":"x","choices":[{"index":0')

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{srv.getsockname()[1]}"
    finally:
        srv.close()


def test_a_body_cut_after_a_200_status_line_is_a_502() -> None:
    """A 502 connection error, recorded: translated, and Anthropic in and out (relayed)."""
    with cut_body_upstream() as url:
        env = {"OPENAI_API_KEY": "k", "TRIAGE_OPENAI_BASE_URL": url + "/v1", "ANTHROPIC_API_KEY": "k",
               "TRIAGE_ANTHROPIC_BASE_URL": url}
        with GatewayProcess(env) as gw:
            for model in ("gpt-5.4-mini", "claude-haiku-4-5"):
                for surface, (path, body) in SURFACES.items():
                    status, out = call(gw, path, {**body, "model": model})
                    assert status == 502, (model, surface, out)
            assert [r["status"] for r in gw.ledger_rows()] == [502] * 4
            assert "Traceback" not in gw.log()


def test_with_model_auto_a_body_cut_after_a_200_falls_back_to_the_next_model() -> None:
    """Nothing has reached the client yet: the next candidate answers, and the attempts say why."""
    from tests.fakes.launch import FakeServer

    with cut_body_upstream() as url, FakeServer("anthropic_server.py", key="ant-key-0123456789") as ant:
        env = {"OPENAI_API_KEY": "k", "TRIAGE_OPENAI_BASE_URL": url + "/v1",
               "ANTHROPIC_API_KEY": "ant-key-0123456789", "TRIAGE_ANTHROPIC_BASE_URL": ant.url}
        with GatewayProcess(env) as gw:
            body = {"model": "auto", "messages": [{"role": "user", "content": "What is the capital of France?"}],
                    "triage": {"quality": 0.5}}  # fmt: skip
            status, out = call(gw, "/v1/chat/completions", body)
            assert status == 200, out
            info = json.loads(out)["routing_info"]
            assert info["provider"] == "anthropic"
            assert info["attempts"][0]["provider"] == "openai" and info["attempts"][0]["outcome"] == "connection_error"
            row = gw.ledger_rows()[-1]
            assert row["status"] == 200 and row["attempts"] >= 2


@pytest.mark.parametrize("surface", SURFACES)
def test_with_model_auto_a_200_that_is_not_an_answer_falls_back_to_the_next_model(surface: str) -> None:
    """Non-stream, nothing has reached the client yet: like a cut body, a body of the wrong shape
    sends the request on to the next candidate, and the attempts say why."""
    from tests.fakes.launch import FakeServer

    up = RawUpstream()
    up.next = b'{"choices": "x"}'
    try:
        with FakeServer("anthropic_server.py", key="ant-key-0123456789") as ant:
            env = {"OPENAI_API_KEY": "k", "TRIAGE_OPENAI_BASE_URL": up.url,
                   "ANTHROPIC_API_KEY": "ant-key-0123456789", "TRIAGE_ANTHROPIC_BASE_URL": ant.url}
            with GatewayProcess(env) as gw:
                path, body = SURFACES[surface]
                status, out = call(gw, path, {**body, "model": "auto", "triage": {"quality": 0.5},
                                              "messages": [{"role": "user", "content": "What is the capital of France?"}]})
                assert status == 200, out
                row = gw.ledger_rows()[-1]
                assert row["status"] == 200 and row["attempts"] >= 2 and row["provider"] == "anthropic"
                if surface == "openai":
                    first = json.loads(out)["routing_info"]["attempts"][0]
                    assert first["provider"] == "openai" and first["outcome"] == "server_error" and first["status"] == 502
                assert "Traceback" not in gw.log()
    finally:
        up.close()
