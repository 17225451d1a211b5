"""The MCP server (official ``mcp`` SDK): the gateway's stats, config and routing as tools.

Tools: ``get_stats``, ``compare_models``, ``get_config``, ``set_config``, ``explain_route``,
``recent_requests``. One tool set over two backends:

- ``GatewayBackend``: inside the gateway process, for streamable HTTP at ``/mcp``
  (``triage.observe.mcp_http``); the client already passed the gateway's API key check.
- ``RemoteBackend``: for ``triage mcp`` (stdio), a client of a running gateway's HTTP API,
  so ``set_config`` changes the gateway that serves traffic (PATCH /v1/config, validated
  there). When the gateway has an API key, ``set_config`` needs it (``admin_key`` or
  ``TRIAGE_API_KEY``) and is refused without it.
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Protocol

from mcp.server.fastmcp import FastMCP
from mcp.server.fastmcp.exceptions import ToolError
from mcp.server.transport_security import TransportSecuritySettings

from triage.catalog.model import TASK_TYPES

INSTRUCTIONS = (
    "Triage is an LLM routing gateway: it sends each request to the cheapest model that can do it well and "
    "records what was spent and saved against a baseline model. Use get_stats for spend and savings, "
    "explain_route to see which model a prompt would go to (no model is called), set_config to change routing."
)


class Backend(Protocol):
    async def stats(self, period: str, by: str | None) -> dict[str, Any]: ...
    async def compare(self, task_type: str) -> dict[str, Any]: ...
    async def get_config(self) -> dict[str, Any]: ...
    async def set_config(self, patch: dict[str, Any], admin_key: str | None) -> dict[str, Any]: ...
    async def explain(self, prompt: str, quality: float | None) -> dict[str, Any]: ...
    async def recent(self, limit: int, model: str | None) -> dict[str, Any]: ...


class GatewayBackend:
    """Reads and changes the gateway this process runs."""

    def __init__(self, gw: Any) -> None:
        self.gw = gw

    async def _read(self, fn: Any, *args: Any) -> Any:
        from triage.observe.views import BadQuery

        await self.gw.writer.flush()
        try:
            return await asyncio.to_thread(fn, *args)
        except BadQuery as e:
            raise ToolError(str(e)) from None

    async def stats(self, period: str, by: str | None) -> dict[str, Any]:
        from triage.observe import views

        return await self._read(views.stats, self.gw.settings, self.gw.catalog, self.gw.writer.store, period, by)

    async def compare(self, task_type: str) -> dict[str, Any]:
        gw = self.gw
        rows = sorted(gw.catalog.models, key=lambda m: -m.capability_for(task_type))
        return {"task": task_type, "models": [{"model": m.name, "provider": m.provider, "capability": m.capability_for(task_type),
                "input_per_mtok": m.input_per_mtok, "output_per_mtok": m.output_per_mtok, "configured": m.provider in gw.settings.providers} for m in rows]}  # fmt: skip

    async def get_config(self) -> dict[str, Any]:
        from triage.server.admin import config_view

        return config_view(self.gw)

    async def set_config(self, patch: dict[str, Any], admin_key: str | None) -> dict[str, Any]:
        from triage.server.admin import apply_config_patch
        from triage.server.errors import GatewayError

        try:
            return await apply_config_patch(self.gw, patch)
        except GatewayError as e:
            raise ToolError(e.message) from None

    async def explain(self, prompt: str, quality: float | None) -> dict[str, Any]:
        from triage.routing.decide import NoCandidateError, decide
        from triage.routing.features import extract
        from triage.server.admin import decision_json

        s = self.gw.settings
        providers = list(s.providers) or [m.provider for m in self.gw.catalog.models]
        try:
            d = decide(extract({"messages": [{"role": "user", "content": prompt}]}), self.gw.catalog.models, s.policy, providers,
                       quality_target=quality, estimator=self.gw.estimator)  # fmt: skip
        except NoCandidateError as e:
            raise ToolError(f"no model can serve this request: {e.rejected}") from None
        return decision_json(d)

    async def recent(self, limit: int, model: str | None) -> dict[str, Any]:
        from triage.observe import views

        q = {"limit": [str(limit)], **({"model": [model]} if model else {})}
        return await self._read(views.recent, self.gw.settings, self.gw.writer.store, q)


class RemoteBackend:
    """Talks to a running gateway over HTTP (for the stdio server)."""

    def __init__(self, url: str, api_key: str | None, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout

    def _call(self, method: str, path: str, body: Any = None, key: str | None = None) -> Any:
        key = key or self.api_key
        headers = {"accept": "application/json", **({"authorization": f"Bearer {key}"} if key else {})}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["content-type"] = "application/json"
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as r:  # noqa: S310 - the user's own gateway
                return json.loads(r.read())
        except urllib.error.HTTPError as e:
            try:
                msg = json.loads(e.read())["error"]["message"]
            except Exception:
                msg = f"HTTP {e.code}"
            if e.code == 401:
                raise ToolError(f"refused: the gateway at {self.url} has an API key; pass admin_key or set TRIAGE_API_KEY ({msg})") from None
            raise ToolError(msg) from None
        except OSError as e:
            raise ToolError(f"the gateway at {self.url} is not reachable ({type(e).__name__}); start it with `triage start`") from None

    async def _do(self, method: str, path: str, body: Any = None, key: str | None = None) -> Any:
        return await asyncio.to_thread(self._call, method, path, body, key)

    async def stats(self, period: str, by: str | None) -> dict[str, Any]:
        return await self._do("GET", "/v1/stats/by?" + urllib.parse.urlencode({"period": period, **({"by": by} if by else {})}))

    async def compare(self, task_type: str) -> dict[str, Any]:
        return await self._do("GET", "/v1/models/compare?" + urllib.parse.urlencode({"task": task_type}))

    async def get_config(self) -> dict[str, Any]:
        return await self._do("GET", "/v1/config")

    async def set_config(self, patch: dict[str, Any], admin_key: str | None) -> dict[str, Any]:
        return await self._do("PATCH", "/v1/config", patch, key=admin_key)

    async def explain(self, prompt: str, quality: float | None) -> dict[str, Any]:
        return await self._do("POST", "/v1/route", {"prompt": prompt, **({"triage": {"quality": quality}} if quality is not None else {})})

    async def recent(self, limit: int, model: str | None) -> dict[str, Any]:
        return await self._do("GET", "/v1/requests/recent?" + urllib.parse.urlencode({"limit": limit, **({"model": model} if model else {})}))


def build_server(backend: Backend, **kwargs: Any) -> FastMCP:
    # The gateway's own Host/Origin checks and API key guard /mcp; the SDK's would refuse allowed hosts.
    mcp = FastMCP("triage", instructions=INSTRUCTIONS, transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
                  log_level="WARNING", **kwargs)  # fmt: skip

    @mcp.tool()
    async def get_stats(period: str = "week", group_by: str | None = None) -> dict[str, Any]:
        """Requests, tokens, spend, baseline cost and savings for a period (day, week, month, all), optionally grouped by model, provider, task, key or surface."""
        return await backend.stats(period, group_by)

    @mcp.tool()
    async def compare_models(task_type: str = "general") -> dict[str, Any]:
        """Catalog models ranked by capability for a task type (coding, reasoning, analysis, simple_qa, creative, general), with prices per 1M tokens."""
        if task_type not in TASK_TYPES:
            raise ToolError(f"task_type must be one of {', '.join(TASK_TYPES)}")
        return await backend.compare(task_type)

    @mcp.tool()
    async def get_config() -> dict[str, Any]:
        """The gateway's running configuration (provider keys are never shown, only whether they are set)."""
        return await backend.get_config()

    @mcp.tool()
    async def set_config(routing: dict[str, Any] | None = None, aliases: dict[str, str] | None = None, admin_key: str | None = None) -> dict[str, Any]:
        """Change routing (quality, baseline_model, allowed/denied models and providers, max_cost_per_mtok) or aliases.
        Validated; takes effect on the next request and is saved to the config file when one is in use.
        When the gateway has an API key, it is required (admin_key, or the key this server was started with)."""
        patch: dict[str, Any] = {}
        if routing is not None:
            patch["routing"] = routing
        if aliases is not None:
            patch["aliases"] = aliases
        if not patch:
            raise ToolError("nothing to change: pass routing and/or aliases")
        return await backend.set_config(patch, admin_key)

    @mcp.tool()
    async def explain_route(prompt: str, quality: float | None = None) -> dict[str, Any]:
        """The routing decision for a prompt and why (no model is called): chosen model, task type, difficulty, candidates, expected savings."""
        if quality is not None and not 0 < quality <= 1:
            raise ToolError("quality must be in (0, 1]")
        return await backend.explain(prompt, quality)

    @mcp.tool()
    async def recent_requests(limit: int = 20, model: str | None = None) -> dict[str, Any]:
        """The most recent requests with their routing explanation, tokens, cost and savings (never prompt text unless stored by choice)."""
        if not 1 <= limit <= 200:
            raise ToolError("limit must be between 1 and 200")
        return await backend.recent(limit, model)

    return mcp


def run_stdio(url: str, api_key: str | None) -> None:
    """``triage mcp``: serve the tools on stdin/stdout for the gateway at ``url``."""
    build_server(RemoteBackend(url, api_key)).run("stdio")
