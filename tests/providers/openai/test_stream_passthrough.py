"""The OpenAI stream translator's pass-through: content events forwarded as bytes, the rest parsed."""

from __future__ import annotations

import orjson
import pytest

from triage.providers.base import UpstreamError
from triage.providers.openai.stream import OpenAIStreamTranslator


def ev(obj: dict) -> bytes:
    return b"data: " + orjson.dumps(obj) + b"\n\n"


BASE = {"id": "c1", "object": "chat.completion.chunk", "created": 7, "model": "m"}
FIRST = {**BASE, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}], "usage": None}
WORD = {**BASE, "choices": [{"index": 0, "delta": {"content": 'say "error" and "usage"'}, "finish_reason": None}], "usage": None}
USAGE = {**BASE, "choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}}
STREAM = ev(FIRST) + ev(WORD) + b": keep-alive\n\n" + ev(WORD) + ev(USAGE) + b"data: [DONE]\n\n"


def run(pieces: list[bytes], keep_usage: bool) -> tuple[list, OpenAIStreamTranslator]:
    t = OpenAIStreamTranslator()
    out: list = []
    for p in pieces:
        out.extend(t.feed_passthrough(p, keep_usage))
    out.extend(t.finish())
    return out, t


@pytest.mark.parametrize("keep_usage", [True, False])
def test_content_events_are_bytes_and_only_first_usage_and_done_are_parsed(keep_usage: bool) -> None:
    out, t = run([STREAM], keep_usage)
    assert out[0] == FIRST  # parsed: the gateway learns id, created and model from it
    word = ev(WORD) if keep_usage else ev({k: v for k, v in WORD.items() if k != "usage"})
    assert out[1:3] == [word, word]  # the upstream's bytes (a trailing "usage":null cut unless kept)
    assert out[3] == USAGE and len(out) == 4
    assert t.done and t.usage.input_tokens == 3 and t.usage.output_tokens == 2


def test_split_at_every_byte_boundary_gives_the_same_events() -> None:
    whole, _ = run([STREAM], True)
    for cut in range(1, len(STREAM)):
        out, t = run([STREAM[:cut], STREAM[cut:]], True)
        assert out == whole, cut
        assert t.usage.output_tokens == 2


def test_crlf_framed_events_pass_reframed_and_named_events_go_through_the_parser() -> None:
    crlf = (ev(FIRST) + ev(WORD)).replace(b"\n\n", b"\r\n\r\n")
    assert run([crlf], True)[0] == [FIRST, ev(WORD)]
    named = ev(FIRST) + b"event: x\ndata: " + orjson.dumps(WORD) + b"\n\n"
    assert run([named], True)[0] == [FIRST, WORD]


def test_an_error_event_raises_even_after_the_first_event() -> None:
    t = OpenAIStreamTranslator()
    t.feed_passthrough(ev(FIRST), True)
    with pytest.raises(UpstreamError):
        t.feed_passthrough(ev({"error": {"message": "boom"}}), True)


def test_cr_framed_events_split_anywhere_lose_nothing() -> None:
    """SSE allows CR alone as a line end: such a stream used to yield its first event only."""
    cr = STREAM.replace(b"\n", b"\r")
    want = [c if isinstance(c, dict) else orjson.loads(c[6:]) for c in run([STREAM], True)[0]]
    for cut in range(1, len(cr)):
        out, t = run([cr[:cut], cr[cut:]], True)
        got = [c if isinstance(c, dict) else orjson.loads(c[6:].strip()) for c in out]
        assert got == want, cut
        assert t.done and t.usage.output_tokens == 2
