"""The translation matrix through the real gateway process and real fake upstreams.

client SDK {openai, anthropic} x upstream {OpenAI, Anthropic, Gemini} x {stream, non-stream}
x {plain, system, multi_turn, tools (two parallel calls, then their results), image, json,
stop}: 84 cases. Each asserts what the client SDK sees (content, tool names and parsed
arguments, ids, finish reason, usage) and what the fake upstream received. Anthropic client
x Anthropic upstream is the native pass-through (named Claude model), by design.
"""

from __future__ import annotations

import json
import statistics
import time
from typing import Any

import anthropic
import openai
import pytest

from tests.fakes.launch import FakeServer
from tests.gateway import GatewayProcess

KEYS = {"openai": "sk-fake-openai", "anthropic": "sk-ant-fake", "gemini": "AIza-fake"}
MODELS = {"openai": "gpt-5.4-mini", "anthropic": "claude-sonnet-4-6", "gemini": "gemini-2.5-flash"}
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
# Every upstream reports the same tokens in its own terms: 11 prompt (3 of them cache reads), 7 out.
USAGE = {"openai": {"prompt_tokens": 11, "completion_tokens": 7, "cached_tokens": 3},
         "anthropic": {"input_tokens": 8, "cache_read_input_tokens": 3, "cache_creation_input_tokens": 0, "output_tokens": 7},
         "gemini": {"promptTokenCount": 11, "candidatesTokenCount": 7, "cachedContentTokenCount": 3, "totalTokenCount": 18}}
CALLS = [("get_weather", {"city": "Paris"}), ("get_weather", {"city": "Rome"})]
TOOL = {"name": "get_weather", "description": "Weather for a city",
        "schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"], "additionalProperties": False}}
SCENARIOS = ["plain", "system", "multi_turn", "tools", "image", "json", "stop"]


@pytest.fixture(scope="module")
def env():
    fakes = {k: FakeServer(f"{k}_server.py", key=KEYS[k]) for k in KEYS}
    try:
        cfg = {"OPENAI_API_KEY": KEYS["openai"], "TRIAGE_OPENAI_BASE_URL": fakes["openai"].url + "/v1",
               "ANTHROPIC_API_KEY": KEYS["anthropic"], "TRIAGE_ANTHROPIC_BASE_URL": fakes["anthropic"].url,
               "GEMINI_API_KEY": KEYS["gemini"], "TRIAGE_GEMINI_BASE_URL": fakes["gemini"].url}
        with GatewayProcess(cfg) as gw:
            clients = {"openai": openai.OpenAI(api_key="client-key", base_url=gw.url + "/v1", max_retries=0),
                       "anthropic": anthropic.Anthropic(api_key="client-key", base_url=gw.url, max_retries=0)}
            yield fakes, clients, gw
    finally:
        for f in fakes.values():
            f.stop()


def script(up: str, fake: FakeServer, text: str | None = None, calls: list | None = None) -> None:
    calls = calls or []
    if up == "openai":
        s: dict[str, Any] = {"tool_calls": [{"name": n, "arguments": a} for n, a in calls], "usage": USAGE[up]}
        if text is not None:
            s["text"] = text
    elif up == "anthropic":
        content = ([{"type": "text", "text": text}] if text else []) + [{"type": "tool_use", "name": n, "input": a} for n, a in calls]
        s = {"content": content, "usage": USAGE[up]} if content else {"usage": USAGE[up]}
    else:
        parts = ([{"text": text}] if text else []) + [{"functionCall": {"name": n, "args": a}} for n, a in calls]
        s = {"parts": parts, "usage": USAGE[up]} if parts else {"usage": USAGE[up]}
    fake.reset()
    fake.script(s)


# ----------------------------------------------------------------------------- client calls
def call_openai(c: openai.OpenAI, stream: bool, **kw: Any) -> dict[str, Any]:
    """(text, tool calls, finish, usage, deltas) as the OpenAI SDK hands them over."""
    if not stream:
        r = c.chat.completions.create(**kw)
        ch = r.choices[0]
        calls = [(t.id, t.function.name, json.loads(t.function.arguments)) for t in ch.message.tool_calls or []]
        u = r.usage
        return {"text": ch.message.content or "", "calls": calls, "finish": ch.finish_reason, "deltas": 1,
                "usage": (u.prompt_tokens, u.prompt_tokens_details.cached_tokens, u.completion_tokens)}
    text, deltas, calls, finish, usage = "", 0, {}, None, None
    for chunk in c.chat.completions.create(stream=True, stream_options={"include_usage": True}, **kw):
        if chunk.usage:
            usage = (chunk.usage.prompt_tokens, chunk.usage.prompt_tokens_details.cached_tokens, chunk.usage.completion_tokens)
        for ch in chunk.choices:
            if ch.delta.content:
                text, deltas = text + ch.delta.content, deltas + 1
            for t in ch.delta.tool_calls or []:
                slot = calls.setdefault(t.index, ["", "", ""])
                slot[0] = t.id or slot[0]
                slot[1] = (t.function.name or slot[1]) if t.function else slot[1]
                slot[2] += (t.function.arguments or "") if t.function else ""
            finish = ch.finish_reason or finish
    out_calls = [(i, n, json.loads(a)) for _, (i, n, a) in sorted(calls.items())]
    return {"text": text, "calls": out_calls, "finish": finish, "usage": usage, "deltas": deltas}


def call_anthropic(c: anthropic.Anthropic, stream: bool, **kw: Any) -> dict[str, Any]:
    deltas = 1
    if stream:
        with c.messages.stream(**kw) as s:
            deltas = sum(1 for _ in s.text_stream)
            m = s.get_final_message()
    else:
        m = c.messages.create(**kw)
    text = "".join(b.text for b in m.content if b.type == "text")
    calls = [(b.id, b.name, b.input) for b in m.content if b.type == "tool_use"]
    u = m.usage
    total_in = u.input_tokens + (u.cache_read_input_tokens or 0) + (u.cache_creation_input_tokens or 0)
    return {"text": text, "calls": calls, "finish": m.stop_reason, "usage": (total_in, u.cache_read_input_tokens, u.output_tokens),
            "deltas": deltas, "msg": m}


FINISH = {"openai": {"stop": "stop", "tools": "tool_calls"}, "anthropic": {"stop": "end_turn", "tools": "tool_use"}}


def ask(client_kind: str, clients: dict, up: str, stream: bool, messages: list, system: str | None = None, **extra: Any) -> dict:
    model = MODELS[up]
    if client_kind == "openai":
        msgs = ([{"role": "system", "content": system}] if system else []) + messages
        return call_openai(clients["openai"], stream, model=model, messages=msgs, **extra)
    kw: dict[str, Any] = {"model": model, "max_tokens": 256, "messages": messages, **extra}
    if system:
        kw["system"] = system
    return call_anthropic(clients["anthropic"], stream, **kw)


def upstream_text(up: str, body: dict) -> list[tuple[str, str]]:
    """(role, text) of every turn the upstream received, in its own vocabulary."""
    if up == "gemini":
        return [(c["role"], "".join(p.get("text", "") for p in c["parts"])) for c in body["contents"]]
    out = []
    for m in body["messages"]:
        c = m.get("content")
        out.append((m["role"], c if isinstance(c, str) else "".join(p.get("text", "") for p in c or [] if isinstance(p, dict))))
    return out


# ----------------------------------------------------------------------------- the matrix
@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("up", ["openai", "anthropic", "gemini"])
@pytest.mark.parametrize("client_kind", ["openai", "anthropic"])
def test_matrix(env, client_kind: str, up: str, stream: bool, scenario: str) -> None:
    fakes, clients, _ = env
    fake = fakes[up]
    finish = FINISH[client_kind]
    user = lambda t: {"role": "user", "content": t}  # noqa: E731
    if scenario in ("plain", "system"):
        script(up, fake, "Bonjour from the upstream")
        res = ask(client_kind, clients, up, stream, [user("hello there")], system="Answer in French." if scenario == "system" else None)
        assert res["text"] == "Bonjour from the upstream" and res["finish"] == finish["stop"]
        if stream:
            assert res["deltas"] >= 2  # streamed piece by piece, not buffered into one chunk
        body = fake.last_body()
        turns = upstream_text(up, body)
        assert turns[-1] == ("user", "hello there")
        if scenario == "system":
            got = {"openai": lambda: turns[0], "anthropic": lambda: ("system", body["system"] if isinstance(body["system"], str) else body["system"][0]["text"]),
                   "gemini": lambda: ("system", body["systemInstruction"]["parts"][0]["text"])}[up]()
            assert got == ("system", "Answer in French.")
    elif scenario == "multi_turn":
        script(up, fake, "third answer")
        msgs = [user("first question"), {"role": "assistant", "content": "first answer"}, user("second question")]
        res = ask(client_kind, clients, up, stream, msgs)
        assert res["text"] == "third answer"
        model_role = "model" if up == "gemini" else "assistant"
        assert upstream_text(up, fake.last_body()) == [("user", "first question"), (model_role, "first answer"), ("user", "second question")]
    elif scenario == "tools":
        run_tools(client_kind, clients, up, fake, stream)
        return
    elif scenario == "image":
        script(up, fake, "a red pixel")
        if client_kind == "openai":
            content = [{"type": "text", "text": "what is this?"}, {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}}]
        else:
            content = [{"type": "text", "text": "what is this?"}, {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}}]
        res = ask(client_kind, clients, up, stream, [user(content)])
        assert res["text"] == "a red pixel"
        assert received_image(up, fake.last_body()) == ("image/png", PNG)
    elif scenario == "json":
        script(up, fake, '{"answer": 42}')
        if client_kind == "openai":
            res = ask(client_kind, clients, up, stream, [user("json please")], response_format={"type": "json_object"})
        else:
            fmt = {"format": {"type": "json_schema", "schema": {"type": "object", "properties": {"answer": {"type": "integer"}}, "required": ["answer"], "additionalProperties": False}}}
            res = ask(client_kind, clients, up, stream, [user("json please")], output_config=fmt)
        assert json.loads(res["text"]) == {"answer": 42}
        body = fake.last_body()
        if up == "openai":
            assert body["response_format"]["type"] in ("json_object", "json_schema")
        elif up == "gemini":
            assert body["generationConfig"]["responseMimeType"] == "application/json"
        else:
            assert "output_config" in body or "JSON" in json.dumps(body.get("system"))
    elif scenario == "stop":
        script(up, fake, "alpha beta STOP gamma")
        extra = {"stop": ["STOP"]} if client_kind == "openai" else {"stop_sequences": ["STOP"]}
        res = ask(client_kind, clients, up, stream, [user("count")], **extra)
        assert res["text"] == "alpha beta "
        body = fake.last_body()
        sent = body.get("stop") or body.get("stop_sequences") or body.get("generationConfig", {}).get("stopSequences")
        if up == "openai":
            # gpt-5.4-mini refuses `stop` (catalog: unsupported_params): the gateway applies it to the output.
            assert sent is None
        else:
            assert sent == ["STOP"]
        # Only Anthropic names the stop sequence that ended a reply; OpenAI and Gemini say "stop".
        expected = "stop_sequence" if (client_kind == "anthropic" and up == "anthropic") else finish["stop"]
        assert res["finish"] == expected
    assert res["usage"] == (11, 3, 7)


def received_image(up: str, body: dict) -> tuple[str, str]:
    if up == "gemini":
        d = body["contents"][-1]["parts"][-1]["inlineData"]
        return d["mimeType"], d["data"]
    last = body["messages"][-1]["content"][-1]
    if up == "openai":
        mime, data = last["image_url"]["url"][5:].split(";base64,")
        return mime, data
    return last["source"]["media_type"], last["source"]["data"]


def run_tools(client_kind: str, clients: dict, up: str, fake: FakeServer, stream: bool) -> None:
    finish = FINISH[client_kind]
    if client_kind == "openai":
        tools = [{"type": "function", "function": {"name": TOOL["name"], "description": TOOL["description"], "parameters": TOOL["schema"]}}]
        extra: dict[str, Any] = {"tools": tools}
    else:
        extra = {"tools": [{"name": TOOL["name"], "description": TOOL["description"], "input_schema": TOOL["schema"]}]}
    q = {"role": "user", "content": "weather in Paris and Rome?"}
    script(up, fake, None, CALLS)
    res = ask(client_kind, clients, up, stream, [q], **extra)
    assert res["finish"] == finish["tools"] and res["usage"] == (11, 3, 7)
    assert [(n, a) for _, n, a in res["calls"]] == CALLS
    ids = [i for i, _, _ in res["calls"]]
    assert len(set(ids)) == 2 and all(ids)
    first = fake.last_body()
    if up == "gemini":
        assert first["tools"][0]["functionDeclarations"][0]["parameters"]["properties"] == {"city": {"type": "STRING"}}
    # Second turn: both results go back under the ids the client saw.
    script(up, fake, "Paris sunny, Rome rainy")
    results = {"Paris": "sunny", "Rome": "rainy"}
    if client_kind == "openai":
        history = [q, {"role": "assistant", "content": None, "tool_calls": [
            {"id": i, "type": "function", "function": {"name": n, "arguments": json.dumps(a)}} for i, n, a in res["calls"]]}]
        history += [{"role": "tool", "tool_call_id": i, "content": results[a["city"]]} for i, _, a in res["calls"]]
    else:
        history = [q, {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in res["msg"].content]},
                   {"role": "user", "content": [{"type": "tool_result", "tool_use_id": i, "content": results[a["city"]]} for i, _, a in res["calls"]]}]
    res2 = ask(client_kind, clients, up, stream, history, **extra)
    assert res2["text"] == "Paris sunny, Rome rainy" and res2["finish"] == finish["stop"]
    body = fake.last_body()
    if up == "openai":
        sent = [(m["tool_call_id"], m["content"]) for m in body["messages"] if m["role"] == "tool"]
        assert sent == [(ids[0], "sunny"), (ids[1], "rainy")]
        assert [c["id"] for c in body["messages"][1]["tool_calls"]] == ids
    elif up == "anthropic":
        results_sent = [(b["tool_use_id"], b["content"]) for b in body["messages"][2]["content"]]
        assert results_sent == [(ids[0], "sunny"), (ids[1], "rainy")]
        assert [b["id"] for b in body["messages"][1]["content"] if b["type"] == "tool_use"] == ids
    else:
        responses = [p["functionResponse"] for p in body["contents"][2]["parts"]]
        assert responses == [{"name": "get_weather", "response": {"output": "sunny"}}, {"name": "get_weather", "response": {"output": "rainy"}}]
        assert [p["functionCall"]["args"] for p in body["contents"][1]["parts"]] == [{"city": "Paris"}, {"city": "Rome"}]


def test_native_pass_through_keeps_body_and_headers_and_never_sends_client_key(env) -> None:
    fakes, clients, _ = env
    fake = fakes["anthropic"]
    script("anthropic", fake, "native")
    c = anthropic.Anthropic(api_key="client-key", base_url=clients["anthropic"].base_url, max_retries=0,
                            default_headers={"anthropic-beta": "fine-grained-tool-streaming-2025-05-14"})
    c.messages.create(model=MODELS["anthropic"], max_tokens=33, messages=[{"role": "user", "content": "hi"}], metadata={"user_id": "u1"})
    req = fake.requests()[-1]
    assert req["body"] == {"model": MODELS["anthropic"], "max_tokens": 33, "messages": [{"role": "user", "content": "hi"}], "metadata": {"user_id": "u1"}}
    assert req["headers"]["anthropic-beta"] == "fine-grained-tool-streaming-2025-05-14"
    assert req["headers"]["anthropic-version"] == c.default_headers["anthropic-version"]
    assert req["headers"]["x-api-key"] == KEYS["anthropic"] and "client-key" not in json.dumps(req["headers"])


def test_ttft_translated_vs_native(env) -> None:
    """Added time to first token of a translated stream (OpenAI client, Anthropic upstream)
    versus the native pass-through (Anthropic client), measured in the same run."""
    fakes, clients, _ = env
    fake = fakes["anthropic"]

    def first_token(fn) -> float:
        fake.reset()
        fake.script({"text": "one two three", "chunks": 3})
        t0 = time.perf_counter()
        fn()
        return time.perf_counter() - t0

    def translated() -> None:
        for ch in clients["openai"].chat.completions.create(model=MODELS["anthropic"], stream=True, messages=[{"role": "user", "content": "x"}]):
            if ch.choices and ch.choices[0].delta.content:
                return

    def native() -> None:
        with clients["anthropic"].messages.stream(model=MODELS["anthropic"], max_tokens=20, messages=[{"role": "user", "content": "x"}]) as s:
            next(iter(s.text_stream))

    t_tr = statistics.median(first_token(translated) for _ in range(15))
    t_na = statistics.median(first_token(native) for _ in range(15))
    print(f"\nTTFT median over 15: translated {t_tr * 1000:.2f} ms, native {t_na * 1000:.2f} ms, added {(t_tr - t_na) * 1000:.2f} ms")
    assert t_tr - t_na < 0.05
