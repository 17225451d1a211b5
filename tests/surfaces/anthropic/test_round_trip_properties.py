"""Property tests: a conversation translated to another API and back keeps every message, tool
call, tool result and image, in order (OpenAI -> Anthropic -> OpenAI, Anthropic -> OpenAI ->
Anthropic, OpenAI -> Gemini and Gemini's answer -> OpenAI)."""

from __future__ import annotations

import json
import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from triage.providers.anthropic.request import build_body as to_anthropic
from triage.providers.gemini import ADAPTER as GEMINI
from triage.providers.gemini.request import build_body as to_gemini
from triage.surfaces.anthropic.request import to_internal_request

SETTINGS = settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
text = st.text(alphabet=string.ascii_letters + string.digits + " .,!?é", min_size=1, max_size=30).filter(lambda s: s.strip())
b64 = st.binary(min_size=1, max_size=12).map(lambda b: __import__("base64").b64encode(b).decode())
image = st.tuples(st.sampled_from(["image/png", "image/jpeg", "image/webp"]), b64)
args = st.dictionaries(st.sampled_from(["city", "n", "flag"]), st.one_of(text, st.integers(-5, 5), st.booleans()), max_size=3)


@st.composite
def conversations(draw):
    msgs = []
    if draw(st.booleans()):
        msgs.append({"role": "system", "content": draw(text)})
    for turn in range(draw(st.integers(1, 4))):
        parts = [{"type": "text", "text": draw(text)}] + [{"type": "image_url", "image_url": {"url": f"data:{m};base64,{d}"}} for m, d in draw(st.lists(image, max_size=2))]
        msgs.append({"role": "user", "content": parts})
        calls = [{"id": f"call_{turn}_{i}", "type": "function", "function": {"name": draw(st.sampled_from(["get_weather", "lookup"])), "arguments": json.dumps(draw(args))}}
                 for i in range(draw(st.integers(0, 2)))]
        assistant = {"role": "assistant", "content": draw(st.one_of(st.none(), text)) if calls else draw(text)}
        if calls:
            assistant["tool_calls"] = calls
        msgs.append(assistant)
        for c in calls:
            msgs.append({"role": "tool", "tool_call_id": c["id"], "content": draw(text)})
        if calls:
            msgs.append({"role": "assistant", "content": draw(text)})
    return msgs


def inventory(messages):
    """Everything that must survive, in order: texts by role, calls, results, images."""
    out = []
    for m in messages:
        c = m.get("content")
        if m["role"] == "tool":
            out.append(("tool", "result", m["tool_call_id"], c))
            continue
        for p in ([{"type": "text", "text": c}] if isinstance(c, str) else c or []):
            if p["type"] == "text":
                out.append((m["role"], "text", p["text"]))
            elif p["type"] == "image_url":
                out.append((m["role"], "image", p["image_url"]["url"]))
        for call in m.get("tool_calls") or []:
            out.append(("assistant", "call", call["id"], call["function"]["name"], json.loads(call["function"]["arguments"])))
    return out


@SETTINGS
@given(conversations())
def test_openai_to_anthropic_and_back_keeps_everything(msgs):
    anth = to_anthropic({"messages": msgs}, "claude-sonnet-4-6", stream=False)
    back = to_internal_request({"model": "m", "max_tokens": 10, "system": anth.get("system"), "messages": anth["messages"]})
    assert inventory(back["messages"]) == inventory(msgs)


@SETTINGS
@given(conversations())
def test_anthropic_to_openai_and_back_is_stable(msgs):
    anth = to_anthropic({"messages": msgs}, "claude-sonnet-4-6", stream=False)
    again = to_anthropic(to_internal_request({"model": "m", "max_tokens": 10, **{k: anth[k] for k in ("system", "messages") if k in anth}}),
                         "claude-sonnet-4-6", stream=False)
    assert again["messages"] == anth["messages"] and again.get("system") == anth.get("system")


@SETTINGS
@given(conversations(), st.sampled_from(["gemini-2.5-flash", "gemini-3-pro-preview"]))
def test_openai_to_gemini_keeps_everything(msgs, model):
    body = to_gemini({"messages": msgs}, model)
    got = [("system", "text", p["text"]) for p in (body.get("systemInstruction") or {}).get("parts", [])]
    names = {}
    for content in body["contents"]:
        for p in content["parts"]:
            role = {"user": "user", "model": "assistant"}[content["role"]]
            if "text" in p:
                got.append((role, "text", p["text"]))
            elif "inlineData" in p:
                got.append((role, "image", f"data:{p['inlineData']['mimeType']};base64,{p['inlineData']['data']}"))
            elif "functionCall" in p:
                got.append(("assistant", "call", p["functionCall"]["name"], p["functionCall"]["args"]))
            elif "functionResponse" in p:
                got.append(("tool", "result", p["functionResponse"]["name"], p["functionResponse"]["response"]["output"]))
    for m in msgs:
        for call in m.get("tool_calls") or []:
            names[call["id"]] = call["function"]["name"]
    # Gemini has no call ids: a call is its name and arguments, a result names its function.
    want = []
    for item in inventory(msgs):
        if item[1] == "call":
            want.append(("assistant", "call", item[3], item[4]))
        elif item[1] == "result":
            want.append(("tool", "result", names[item[2]], item[3]))
        else:
            want.append(item)
    assert got == want


@SETTINGS
@given(st.lists(st.tuples(st.sampled_from(["f", "g"]), args), min_size=1, max_size=4), st.text(string.ascii_letters, min_size=1, max_size=8))
def test_gemini_answer_to_openai_keeps_calls_with_unique_stable_ids(calls, rid):
    data = {"responseId": rid, "candidates": [{"finishReason": "STOP", "content": {"role": "model", "parts": [{"functionCall": {"name": n, "args": a}} for n, a in calls]}}]}
    out, _ = GEMINI.chat_response(json.dumps(data).encode(), "g")
    got = out["choices"][0]["message"]["tool_calls"]
    assert [(c["function"]["name"], json.loads(c["function"]["arguments"])) for c in got] == calls
    assert len({c["id"] for c in got}) == len(calls)
    assert [c["id"] for c in GEMINI.chat_response(json.dumps(data).encode(), "g")[0]["choices"][0]["message"]["tool_calls"]] == [c["id"] for c in got]
