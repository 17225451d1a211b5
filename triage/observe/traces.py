"""OpenTelemetry traces of finished requests, following the GenAI semantic conventions.

Off unless ``tracing.otlp_endpoint`` (or ``TRIAGE_OTLP_ENDPOINT``) names an OTLP/HTTP traces
URL: Triage makes no network call the user did not configure. Needs the ``otel`` extra
(``pip install 'triage[otel]'``); without it the gateway says so at start and serves on.

One span per ledgered request, built from its ledger row once the request is finished (so
the hot path pays nothing while it runs): kind SERVER, named ``chat <model>``, timed from
arrival to the last byte, child of the caller's ``traceparent`` when one was sent. Attributes
are the GenAI ones (``gen_ai.operation.name``, ``gen_ai.provider.name``,
``gen_ai.request.model``, ``gen_ai.response.model``, ``gen_ai.usage.input_tokens`` /
``output_tokens``, ``error.type``) plus Triage's routing and money (``triage.*``). Prompt and
answer text are never put in a span; provider keys never reach this module. Spans leave in
batches from the SDK's own thread; shutdown flushes them.
"""

from __future__ import annotations

import asyncio
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from triage.server.app import TriageApp
    from triage.server.context import RequestContext

# gen_ai.provider.name values of the conventions for the built-in providers
PROVIDER_NAMES = {"openai": "openai", "anthropic": "anthropic", "gemini": "gcp.gemini"}
OPERATION = {"openai": "chat", "anthropic": "chat", "gemini": "chat", "route": "route"}


class RequestTracer:
    def __init__(self, endpoint: str, headers: dict[str, str], service_name: str, instance_id: str) -> None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
        from opentelemetry.trace import SpanKind, Status, StatusCode
        from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

        self.provider = TracerProvider(resource=Resource.create({"service.name": service_name, "service.instance.id": instance_id}))
        self.provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint, headers=headers or None, timeout=5)))
        self.tracer = self.provider.get_tracer("triage")
        self.propagator = TraceContextTextMapPropagator()
        self.kind, self.status, self.error = SpanKind.SERVER, Status, StatusCode.ERROR

    def observe(self, ctx: "RequestContext") -> None:
        """A request observer: must not raise or block (it runs on the request's task)."""
        try:
            self._span(ctx)
        except Exception:  # pragma: no cover - tracing must never break a request
            pass

    def _span(self, ctx: "RequestContext") -> None:
        rec = ctx.rec
        start = int(rec.ts * 1e9)
        end = start + int((rec.latency_ms or 0.0) * 1e6)
        parent = self.propagator.extract(ctx.headers) if "traceparent" in ctx.headers else None
        model = rec.answered_model or rec.chosen_model or rec.requested_model
        operation = OPERATION.get(rec.surface, rec.surface)
        attrs: dict[str, Any] = {
            "gen_ai.operation.name": operation,
            "http.response.status_code": rec.status,
            "triage.request_id": rec.request_id,
            "triage.surface": rec.surface,
            "triage.attempts": rec.attempts,
            "triage.stream": rec.stream,
        }
        optional = {
            "gen_ai.provider.name": PROVIDER_NAMES.get(rec.provider or "", rec.provider),
            "gen_ai.request.model": rec.requested_model,
            "gen_ai.response.model": rec.answered_model,
            "error.type": rec.error_class,
            "triage.chosen_model": rec.chosen_model,
            "triage.task_type": rec.task_type,
            "triage.reason": rec.reason,
            "triage.baseline_model": rec.baseline_model,
            "triage.ttfb_ms": rec.ttfb_ms,
            "triage.api_key_id": rec.api_key_id,
        }
        attrs.update({k: v for k, v in optional.items() if v is not None})
        if rec.answered_model:
            attrs.update({
                "gen_ai.usage.input_tokens": rec.input_tokens,
                "gen_ai.usage.output_tokens": rec.output_tokens,
                "triage.cost_usd": rec.cost_usd,
                "triage.baseline_cost_usd": rec.baseline_cost_usd,
                "triage.savings_usd": max(0.0, rec.baseline_cost_usd - rec.cost_usd),
            })  # fmt: skip
        span = self.tracer.start_span(f"{operation} {model}" if model else operation, context=parent, kind=self.kind,
                                      attributes=attrs, start_time=start)
        if rec.status >= 500 or rec.status == 0:
            span.set_status(self.status(self.error, rec.error_class))
        span.end(end_time=end)

    async def close(self) -> None:
        await asyncio.to_thread(self.provider.shutdown)  # exports what is left (bounded by the exporter's timeout)


def mount(app: "TriageApp") -> None:
    s = app.gw.settings
    if not s.otlp_endpoint:
        return
    try:
        tracer = RequestTracer(s.otlp_endpoint, dict(s.otlp_headers), s.service_name, app.gw.instance_id)
    except ImportError:
        print("triage: tracing.otlp_endpoint is set but OpenTelemetry is not installed: pip install 'triage[otel]'", file=sys.stderr)
        return
    app.gw.request_observers.append(tracer.observe)
    app.gw.on_close.append(tracer.close)
