"""The MCP server with the SDK's own client: stdio (`triage mcp`) and streamable HTTP (`/mcp`)."""

from __future__ import annotations

import asyncio
import json
import sys
import urllib.error
import urllib.request
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator

import httpx
import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client

from tests.gateway import ROOT, GatewayProcess, clean_env
from tests.observe.seed import WEEK, seed

TOOLS = {"get_stats", "compare_models", "get_config", "set_config", "explain_route", "recent_requests"}
ADMIN = "gw-admin-key"
PROMPT = "what is the capital of France?"


def route(gw: GatewayProcess, key: str | None = None) -> dict[str, Any]:
    req = urllib.request.Request(gw.url + "/v1/route", data=json.dumps({"prompt": PROMPT}).encode(),
                                 headers={"content-type": "application/json", **({"authorization": f"Bearer {key}"} if key else {})})  # fmt: skip
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


@asynccontextmanager
async def stdio_session(gw: GatewayProcess, env: dict[str, str] | None = None) -> AsyncIterator[ClientSession]:
    params = StdioServerParameters(command=sys.executable, args=["-m", "triage", "mcp", "--url", gw.url],
                                   env={**clean_env(), "TRIAGE_HOME": str(gw.home), **(env or {})}, cwd=str(ROOT))  # fmt: skip
    async with stdio_client(params) as (r, w), ClientSession(r, w) as s:
        await s.initialize()
        yield s


@asynccontextmanager
async def http_session(gw: GatewayProcess, key: str | None = None) -> AsyncIterator[ClientSession]:
    headers = {"authorization": f"Bearer {key}"} if key else None
    async with httpx.AsyncClient(headers=headers, timeout=30) as client:
        async with streamable_http_client(gw.url + "/mcp", http_client=client) as (r, w, _), ClientSession(r, w) as s:
            await s.initialize()
            yield s


def data(result: Any) -> dict[str, Any]:
    assert not result.isError, result.content
    return json.loads(result.content[0].text)


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory):
    home = tmp_path_factory.mktemp("mcp-home")
    seed(home)
    # A configured provider (never called: these tests only route, read and configure).
    with GatewayProcess({"OPENAI_API_KEY": "k", "TRIAGE_OPENAI_BASE_URL": "http://127.0.0.1:9/v1"}, home=home) as g:
        yield g


async def exercise(s: ClientSession, gw: GatewayProcess, pin: str) -> None:
    tools = await s.list_tools()
    assert {t.name for t in tools.tools} == TOOLS
    stats = data(await s.call_tool("get_stats", {"period": "week", "group_by": "provider"}))
    # The seeded rows (a refused config change adds an error row without a provider or cost).
    assert stats["totals"]["cost_usd"] == WEEK["cost_usd"] and stats["totals"]["saved_usd"] == WEEK["saved_usd"]
    groups = {g["key"]: (g["requests"], g["cost_usd"]) for g in stats["groups"] if g["key"]}
    assert groups == {"openai": (5, 0.023), "anthropic": (1, 0.004)}
    cmp = data(await s.call_tool("compare_models", {"task_type": "coding"}))
    caps = [m["capability"] for m in cmp["models"]]
    assert caps == sorted(caps, reverse=True) and len(caps) >= 11
    bad = await s.call_tool("compare_models", {"task_type": "juggling"})
    assert bad.isError
    cfg = data(await s.call_tool("get_config", {}))
    assert "openai" in cfg["providers"] and cfg["providers"]["openai"]["key"] == "set"
    recent = data(await s.call_tool("recent_requests", {"limit": 2, "model": "gpt-5.4-mini"}))
    assert [r["request_id"] for r in recent["requests"]] == ["req_seed_0", "req_seed_1"]
    assert all("prompt" not in r for r in recent["requests"])

    data(await s.call_tool("set_config", {"routing": {"allowed_models": []}}))
    before = data(await s.call_tool("explain_route", {"prompt": PROMPT}))
    assert before["selected_model"] != pin and before["task_type"]
    changed = data(await s.call_tool("set_config", {"routing": {"allowed_models": [pin]}}))
    assert changed["routing"]["allowed_models"] == [pin]
    assert route(gw, ADMIN if gw_has_key(gw) else None)["selected_model"] == pin  # the gateway's next decision
    assert data(await s.call_tool("explain_route", {"prompt": PROMPT}))["selected_model"] == pin
    invalid = await s.call_tool("set_config", {"routing": {"quality": 7}})
    assert invalid.isError and "quality" in invalid.content[0].text
    data(await s.call_tool("set_config", {"routing": {"allowed_models": []}}))
    assert route(gw, ADMIN if gw_has_key(gw) else None)["selected_model"] == before["selected_model"]


def gw_has_key(gw: GatewayProcess) -> bool:
    return getattr(gw, "admin_key", None) is not None


def test_stdio_transport(gw: GatewayProcess) -> None:
    async def main() -> None:
        async with stdio_session(gw) as s:
            await exercise(s, gw, "gpt-5.4")

    asyncio.run(main())


def test_streamable_http_transport(gw: GatewayProcess) -> None:
    async def main() -> None:
        async with http_session(gw) as s:
            await exercise(s, gw, "o4-mini")

    asyncio.run(main())


def test_admin_key_is_required_when_set(tmp_path: Path) -> None:
    env = {"OPENAI_API_KEY": "k", "TRIAGE_OPENAI_BASE_URL": "http://127.0.0.1:9/v1", "TRIAGE_API_KEY": ADMIN}
    seed(tmp_path)
    with GatewayProcess(env, home=tmp_path) as g:
        g.admin_key = ADMIN  # type: ignore[attr-defined]
        with pytest.raises(urllib.error.HTTPError) as e:  # HTTP /mcp is behind the gateway's key
            urllib.request.urlopen(urllib.request.Request(g.url + "/mcp", data=b"{}", headers={"content-type": "application/json"}), timeout=5)
        assert e.value.code == 401

        async def main() -> None:
            async with stdio_session(g) as s:  # started without the key: reads work only with it, set_config is refused
                refused = await s.call_tool("set_config", {"routing": {"allowed_models": ["gpt-5.4"]}})
                assert refused.isError and "refused" in refused.content[0].text
                ok = data(await s.call_tool("set_config", {"routing": {"allowed_models": ["gpt-5.4"]}, "admin_key": ADMIN}))
                assert ok["routing"]["allowed_models"] == ["gpt-5.4"]
            assert route(g, ADMIN)["selected_model"] == "gpt-5.4"
            async with http_session(g, ADMIN) as s:
                await exercise(s, g, "o4-mini")

        asyncio.run(main())
