"""Usage is bookkeeping: a malformed token count from an upstream (a string, a dict, a negative
number, usage that is not an object) must not turn the answer it gave into a gateway error. Every
adapter reads counts through ``providers.base.tokens``; the end-to-end test runs a real gateway
against an upstream that sends such usage."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.fakes.raw_upstream import RawUpstream
from tests.gateway import GatewayProcess
from triage.providers.anthropic.response import to_usage as anthropic_usage
from triage.providers.base import Usage, tokens
from triage.providers.gemini.response import to_usage as gemini_usage
from triage.providers.openai.response import usage_from as openai_usage

BAD = ["abc", {"x": 1}, [3], -5, float("nan"), float("inf"), True, None, "", "-3", "1" * 60]


@pytest.mark.parametrize("value,expected", [(12, 12), (0, 0), (7.9, 7), ("42", 42), (10**19, 10**19)]
                         + [(v, 0) for v in BAD])
def test_tokens_reads_what_is_a_count_and_nothing_else(value: Any, expected: int) -> None:
    assert tokens(value) == expected


@pytest.mark.parametrize("bad", [*BAD, "notadict", 5])
def test_usage_that_is_not_an_object_or_has_no_counts_reads_as_none(bad: Any) -> None:
    assert openai_usage(bad) == anthropic_usage(bad) == gemini_usage(bad) == Usage()


@pytest.mark.parametrize("bad", BAD)
def test_a_malformed_count_reads_as_zero_and_the_others_are_kept(bad: Any) -> None:
    assert openai_usage({"prompt_tokens": bad, "completion_tokens": 3, "prompt_tokens_details": bad}) == Usage(output_tokens=3)
    assert anthropic_usage({"input_tokens": 10, "cache_read_input_tokens": bad, "output_tokens": bad,
                            "output_tokens_details": bad}) == Usage(input_tokens=10)
    assert gemini_usage({"promptTokenCount": 4, "thoughtsTokenCount": bad, "candidatesTokenCount": 2}) == Usage(
        input_tokens=4, output_tokens=2)


USAGES: list[Any] = [{"prompt_tokens": "abc", "completion_tokens": 1}, {"prompt_tokens": {"x": 1}}, "notadict",
                     {"prompt_tokens": -5, "completion_tokens": 2}]


def test_the_gateway_answers_whatever_the_usage_looks_like() -> None:
    up = RawUpstream()
    try:
        with GatewayProcess({"OPENAI_API_KEY": "k", "TRIAGE_OPENAI_BASE_URL": up.url}) as gw:
            body = json.dumps({"model": "gpt-5.4-mini", "messages": [{"role": "user", "content": "hi"}]}).encode()
            for usage in USAGES:
                up.next = json.dumps({"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-5.4-mini",
                                      "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}],
                                      "usage": usage}).encode()  # fmt: skip
                assert gw.post("/v1/chat/completions", body) == 200
            rows = gw.ledger_rows()
            assert [r["status"] for r in rows] == [200] * len(USAGES)
            assert [r["output_tokens"] for r in rows] == [1, 0, 0, 2] and all(r["input_tokens"] == 0 for r in rows)
            assert "Traceback" not in gw.log()
    finally:
        up.close()
