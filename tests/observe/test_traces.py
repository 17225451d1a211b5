"""OpenTelemetry traces: one span per request with the GenAI attributes, exported over OTLP/HTTP
to a collector on 127.0.0.1, child of the caller's traceparent; none without configuration."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator

import pytest

pytest.importorskip("opentelemetry.sdk", reason="the otel extra is not installed")
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest  # noqa: E402

from tests.fakes.launch import FakeServer  # noqa: E402
from tests.gateway import GatewayProcess  # noqa: E402
from triage.config.settings import Settings  # noqa: E402
from triage.server.app import create_app  # noqa: E402

KEY = "test-openai-key"  # what the fake OpenAI server accepts (tests/conftest.py)
PROMPT = "what is the capital of France? (a sentence only the prompt contains)"
PARENT_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


class Collector:
    """A minimal OTLP/HTTP traces receiver: keeps every exported request's raw body."""

    def __init__(self) -> None:
        bodies = self.bodies = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                bodies.append(self.rfile.read(int(self.headers["content-length"])))
                self.send_response(200)
                self.send_header("content-type", "application/x-protobuf")
                self.end_headers()

            def log_message(self, *a: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1/traces"

    def spans(self) -> list[Any]:
        out = []
        for body in self.bodies:
            req = ExportTraceServiceRequest()
            req.ParseFromString(body)
            for rs in req.resource_spans:
                for ss in rs.scope_spans:
                    out.extend((rs.resource, s) for s in ss.spans)
        return out


def attrs(span: Any) -> dict[str, Any]:
    out = {}
    for kv in span.attributes:
        v = kv.value
        out[kv.key] = getattr(v, v.WhichOneof("value"))
    return out


@pytest.fixture()
def collector() -> Iterator[Collector]:
    c = Collector()
    yield c
    c.server.shutdown()


def test_one_span_per_request_with_genai_attributes(openai_fake: FakeServer, fake: FakeServer, collector: Collector) -> None:
    env = {"OPENAI_API_KEY": KEY, "TRIAGE_OPENAI_BASE_URL": openai_fake.url + "/v1", "TRIAGE_OTLP_ENDPOINT": collector.url}
    gw = GatewayProcess(env)
    try:
        fake.script({"usage": {"prompt_tokens": 20, "completion_tokens": 7}})
        ok = json.dumps({"model": "auto", "messages": [{"role": "user", "content": PROMPT}]}).encode()
        assert gw.post("/v1/chat/completions", ok, {"traceparent": f"00-{PARENT_TRACE}-00f067aa0ba902b7-01"}) == 200
        assert gw.post("/v1/chat/completions", b'{"model": "auto", "messages": [') == 400
        rows = gw.ledger_rows()
    finally:
        assert gw.stop() == 0  # shutdown exports what is left
    spans = collector.spans()
    assert len(spans) == 2
    (resource, good), (_, bad) = sorted(spans, key=lambda rs: rs[1].start_time_unix_nano)
    row = next(r for r in rows if r["status"] == 200)
    a = attrs(good)
    assert good.trace_id.hex() == PARENT_TRACE and good.parent_span_id.hex() == "00f067aa0ba902b7"
    assert good.name == f"chat {row['answered_model']}" and good.kind == 2  # SERVER
    assert a["gen_ai.operation.name"] == "chat" and a["gen_ai.provider.name"] == "openai"
    assert a["gen_ai.request.model"] == "auto" and a["gen_ai.response.model"] == row["answered_model"]
    assert (a["gen_ai.usage.input_tokens"], a["gen_ai.usage.output_tokens"]) == (20, 7)
    assert a["triage.cost_usd"] == pytest.approx(row["cost_usd"]) and a["triage.request_id"] == row["request_id"]
    assert a["triage.savings_usd"] == pytest.approx(row["baseline_cost_usd"] - row["cost_usd"])
    assert (good.end_time_unix_nano - good.start_time_unix_nano) / 1e6 == pytest.approx(row["latency_ms"], abs=0.01)
    b = attrs(bad)
    assert b["http.response.status_code"] == 400 and b["error.type"] and "gen_ai.response.model" not in b
    assert len(bad.trace_id.hex()) == 32 and bad.trace_id.hex() != PARENT_TRACE  # a root span of its own
    assert {kv.key: kv.value.string_value for kv in resource.attributes}["service.name"] == "triage"
    raw = b"".join(collector.bodies)
    assert PROMPT.encode() not in raw and KEY.encode() not in raw  # no prompt text, no key


def test_no_tracer_without_an_endpoint(tmp_path: Any) -> None:
    app = create_app(Settings(home=tmp_path))
    assert app.gw.request_observers == []
