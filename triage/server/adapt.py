"""Per-model parameter adaptation, and stop sequences applied by the gateway.

Some models refuse parameters other models take (OpenAI's reasoning models refuse
``temperature``, ``top_p``, ``stop``, ``logprobs``…; they want ``max_completion_tokens``
instead of ``max_tokens``). The catalog lists each model's ``unsupported_params``; a routed
request must not fail because the router picked such a model, so those parameters are
dropped (and said so in ``routing_info``), and a ``stop`` the model cannot take is applied
by the gateway to the output instead. Pure functions and a per-request stream filter.
"""

from __future__ import annotations

from typing import Any

from triage.catalog.model import CatalogModel
from triage.providers.base import StreamTranslator, Usage


def adapt(body: dict[str, Any], entry: CatalogModel | None) -> tuple[dict[str, Any], tuple[str, ...], list[str]]:
    """(body for this model, stop sequences the gateway must apply, notes on what changed)."""
    if entry is None:
        return body, (), []
    unsupported = entry.unsupported_params
    if not unsupported or not any(k in body for k in unsupported):
        return _limit_stops(body, entry)
    out = dict(body)
    notes: list[str] = []
    stops: tuple[str, ...] = ()
    for k in unsupported:
        if k not in out:
            continue
        v = out.pop(k)
        if k == "max_tokens":
            out.setdefault("max_completion_tokens", v)
            notes.append(f"max_tokens sent as max_completion_tokens ({entry.name} requires it)")  # type: ignore[union-attr]
        elif k == "stop":
            stops = (v,) if isinstance(v, str) else tuple(s for s in (v or ()) if isinstance(s, str) and s)
            notes.append(f"stop applied by the gateway ({entry.name} does not accept it)")  # type: ignore[union-attr]
        else:
            notes.append(f"{k} dropped ({entry.name} does not accept it)")  # type: ignore[union-attr]
    return out, stops, notes


def _limit_stops(body: dict[str, Any], entry: CatalogModel) -> tuple[dict[str, Any], tuple[str, ...], list[str]]:
    """More stop sequences than the API takes: it gets the first ones, the gateway applies all."""
    limit, stop = entry.max_stop_sequences, body.get("stop")
    if not limit or not isinstance(stop, list) or len(stop) <= limit:
        return body, (), []
    stops = tuple(s for s in stop if isinstance(s, str) and s)
    return {**body, "stop": list(stops[:limit])}, stops, [f"{len(stops) - limit} stop sequences beyond {entry.name}'s {limit} applied by the gateway"]


def cut_at_stop(text: str, stops: tuple[str, ...]) -> tuple[str, bool]:
    best = -1
    for s in stops:
        i = text.find(s)
        if i >= 0 and (best < 0 or i < best):
            best = i
    return (text, False) if best < 0 else (text[:best], True)


def apply_stops(answer: dict[str, Any], stops: tuple[str, ...]) -> None:
    """Cut each choice's text at the first stop sequence, as the model would have stopped."""
    for choice in answer.get("choices") or ():
        msg = choice.get("message") or {}
        if isinstance(msg.get("content"), str):
            msg["content"], hit = cut_at_stop(msg["content"], stops)
            if hit:
                choice["finish_reason"] = "stop"


class StopFilter:
    """Wraps a stream translator: text after a stop sequence is withheld, and the stream
    ends its choice with ``finish_reason: "stop"``. A tail as long as the longest stop minus
    one is held back so a stop split across chunks is still caught."""

    def __init__(self, inner: StreamTranslator, stops: tuple[str, ...]) -> None:
        self.inner = inner
        self.stops = stops
        self.hold = max(len(s) for s in stops) - 1
        self.pending = ""
        self.stopped = False
        self.template: dict[str, Any] | None = None

    @property
    def usage(self) -> Usage:
        return self.inner.usage

    def _filter(self, chunks: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for c in chunks:
            choices = c.get("choices") or []
            if not choices:
                out.append(c)  # usage chunks pass
                continue
            if self.template is None:
                self.template = {k: v for k, v in c.items() if k not in ("choices", "usage")}
            delta = choices[0].get("delta") or {}
            if self.stopped:
                continue
            text = delta.get("content")
            if isinstance(text, str) and text:
                buf, hit = cut_at_stop(self.pending + text, self.stops)
                if hit:
                    self.stopped = True
                    delta["content"] = buf
                    choices[0]["finish_reason"] = "stop"
                    self.pending = ""
                    out.append(c)
                    continue
                keep = len(buf) - self.hold if self.hold > 0 else len(buf)
                delta["content"], self.pending = buf[:keep], buf[keep:]
            if choices[0].get("finish_reason") and self.pending:
                delta["content"] = (delta.get("content") or "") + self.pending
                self.pending = ""
            out.append(c)
        return out

    def feed(self, data: bytes) -> list[dict[str, Any]]:
        return self._filter(self.inner.feed(data))

    def finish(self) -> list[dict[str, Any]]:
        return self._filter(self.inner.finish())
