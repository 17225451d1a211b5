"""The fake Gemini server, checked with the official ``google-genai`` SDK pointed straight at it.

The SDK builds the requests (camelCase proto JSON, ``x-goog-api-key``) and parses the replies,
so the fake's wire format is the SDK's; raw requests then check what the fake refuses.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from google import genai
from google.genai import errors, types

from tests.fakes.launch import FakeServer

KEY = "gm-fake-key"
MODEL = "gemini-2.5-flash"


@pytest.fixture(scope="module")
def fake():
    with FakeServer("gemini_server.py", key=KEY) as server:
        yield server


@pytest.fixture()
def client(fake):
    fake.reset()
    return genai.Client(api_key=KEY, http_options={"base_url": fake.url, "retry_options": {"attempts": 1}})


def post_raw(fake, model, body, method="generateContent", key=KEY):
    req = urllib.request.Request(f"{fake.url}/v1beta/models/{model}:{method}", data=json.dumps(body).encode(),
                                 headers={"x-goog-api-key": key, "content-type": "application/json"})
    try:
        with urllib.request.urlopen(req) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_generate_content_records_request(client, fake):
    res = client.models.generate_content(model=MODEL, contents="hello there",
                                         config=types.GenerateContentConfig(system_instruction="Be brief.", max_output_tokens=50, temperature=0.2))
    assert res.text == "echo: hello there"
    assert res.candidates[0].finish_reason == types.FinishReason.STOP
    assert res.usage_metadata.candidates_token_count == 3
    (req,) = fake.requests()
    assert req["path"].endswith(f"/models/{MODEL}:generateContent") and req["headers"]["x-goog-api-key"] == KEY
    assert req["body"]["systemInstruction"]["parts"][0]["text"] == "Be brief."
    assert req["body"]["generationConfig"]["maxOutputTokens"] == 50


def test_stream_in_chunks_with_usage_at_end(client, fake):
    fake.script({"text": "alpha beta gamma", "chunks": 3, "usage": {"cachedContentTokenCount": 5}})
    chunks = list(client.models.generate_content_stream(model=MODEL, contents="go"))
    assert [c.text for c in chunks] == ["alpha ", "beta ", "gamma"]
    assert chunks[-1].candidates[0].finish_reason == types.FinishReason.STOP
    assert chunks[-1].usage_metadata.cached_content_token_count == 5
    assert fake.requests()[-1]["query"] == {"alt": "sse"}


def test_function_calling_round_trip_with_thought_signature(client, fake):
    fake.script({"parts": [{"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}},
                           {"functionCall": {"name": "get_weather", "args": {"city": "Rome"}}}]})
    tool = types.Tool(function_declarations=[types.FunctionDeclaration(
        name="get_weather", description="w", parameters=types.Schema(type="OBJECT", properties={"city": types.Schema(type="STRING")}))])
    cfg = types.GenerateContentConfig(tools=[tool], automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True))
    model = "gemini-3-flash-preview"
    res = client.models.generate_content(model=model, contents="weather?", config=cfg)
    calls = res.function_calls
    assert [c.args for c in calls] == [{"city": "Paris"}, {"city": "Rome"}]
    parts = res.candidates[0].content.parts
    assert parts[0].thought_signature and not parts[1].thought_signature
    history = [types.Content(role="user", parts=[types.Part(text="weather?")]), res.candidates[0].content,
               types.Content(role="user", parts=[types.Part.from_function_response(name="get_weather", response={"output": "sunny"}) for _ in calls])]
    assert client.models.generate_content(model=model, contents=history, config=cfg).text.startswith("echo:")
    # Replaying the call without its signature is refused by Gemini 3.
    unsigned = types.Content(role="model", parts=[types.Part(function_call=p.function_call) for p in parts])
    with pytest.raises(errors.ClientError, match="thought_signature"):
        client.models.generate_content(model=model, contents=[history[0], unsigned, history[2]], config=cfg)


def test_errors_in_gemini_shape(client, fake):
    fake.script({"status": 429, "message": "Resource exhausted", "retryDelay": "7s"})
    with pytest.raises(errors.ClientError) as e429:
        client.models.generate_content(model=MODEL, contents="x")
    assert e429.value.code == 429 and e429.value.status == "RESOURCE_EXHAUSTED"
    fake.script({"status": 503, "message": "The model is overloaded."})
    with pytest.raises(errors.ServerError) as e503:
        client.models.generate_content(model=MODEL, contents="x")
    assert e503.value.status == "UNAVAILABLE"
    bad = genai.Client(api_key="nope", http_options={"base_url": fake.url, "retry_options": {"attempts": 1}})
    with pytest.raises(errors.ClientError) as ekey:
        bad.models.generate_content(model=MODEL, contents="x")
    assert ekey.value.code == 400 and "API key not valid" in ekey.value.message


def test_safety_block_and_prompt_feedback(client, fake):
    fake.script({"text": "no", "finishReason": "SAFETY"}, {"blockReason": "SAFETY"})
    res = client.models.generate_content(model=MODEL, contents="x")
    assert res.candidates[0].finish_reason == types.FinishReason.SAFETY
    res = client.models.generate_content(model=MODEL, contents="x")
    assert res.prompt_feedback.block_reason == types.BlockedReason.SAFETY and not res.candidates


def user(text):
    return {"role": "user", "parts": [{"text": text}]}


CALL = {"role": "model", "parts": [{"functionCall": {"name": "f", "args": {}}}]}
RESULT = {"role": "user", "parts": [{"functionResponse": {"name": "f", "response": {"output": 1}}}]}


@pytest.mark.parametrize(
    "body, needle",
    [
        ({"contents": [user("x")], "temperatureX": 1}, 'Unknown name "temperatureX"'),
        ({"contents": [{"role": "system", "parts": [{"text": "s"}]}, user("x")]}, "valid role: user, model"),
        ({"contents": [user("x"), RESULT]}, "function response turn comes immediately after a function call turn"),
        ({"contents": [CALL, RESULT]}, "function call turn comes immediately after a user turn"),
        ({"contents": [user("x"), CALL, {"role": "user", "parts": RESULT["parts"] * 2}]}, "number of function response parts"),
        ({"contents": [user("x")], "tools": [{"functionDeclarations": [{"name": "f", "parameters": {"type": "object", "additionalProperties": False}}]}]}, 'Unknown name "additionalProperties"'),
        ({"contents": [{"role": "user", "parts": [{"text": ""}]}]}, "empty text parameter"),
        ({"contents": [user("x")], "generationConfig": {"responseSchema": {"type": "object"}}}, "response_mime_type must be"),
    ],
)
def test_rejects_what_the_api_rejects(fake, body, needle):
    status, err = post_raw(fake, MODEL, body)
    assert status == 400 and err["error"]["status"] == "INVALID_ARGUMENT"
    assert needle in err["error"]["message"]


def test_missing_key_is_permission_denied(fake):
    status, err = post_raw(fake, MODEL, {"contents": [user("x")]}, key="")
    assert status == 403 and err["error"]["status"] == "PERMISSION_DENIED"


def test_accepts_snake_case_and_tool_order(fake):
    body = {"contents": [user("x"), CALL, RESULT], "system_instruction": {"parts": [{"text": "s"}]},
            "tool_config": {"function_calling_config": {"mode": "ANY", "allowed_function_names": ["f"]}}}
    status, res = post_raw(fake, MODEL, body)
    assert status == 200 and res["candidates"][0]["content"]["role"] == "model"
