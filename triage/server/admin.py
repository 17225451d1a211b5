"""Read and control endpoints: health, models, route, stats, compare, config.

Thin handlers: each reads the gateway state or the ledger store and answers JSON.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import asdict, replace
from typing import Any
from urllib.parse import parse_qs

import yaml

from triage import __version__
from triage.catalog.model import TASK_TYPES
from triage.config.loader import ConfigError, _Problems, parse_policy, read_config_file
from triage.routing.decide import NoCandidateError, decide
from triage.routing.features import extract
from triage.server.asgi import Receive, Send, read_body, send_json
from triage.server.context import RequestContext
from triage.server.errors import GatewayError
from triage.server.state import Gateway
from triage.server.validate import parse_json_object, policy_override, quality_override, validate_chat


async def health(gw: Gateway, ctx: RequestContext, receive: Receive, send: Send) -> None:
    s = gw.settings
    breakers = gw.breakers.snapshot()
    body = {
        "status": "degraded" if breakers["providers"] else "ok",
        "ready": True,
        "version": __version__,
        "uptime_s": round(time.time() - gw.started_at, 1),
        "providers": sorted(s.providers),
        "missing_keys": list(s.missing_keys),
        "models": len(gw.reachable_models()),
        "circuits": breakers["circuits"],
        "provider_health": breakers["providers"],
    }
    await send_json(send, 200, body, ctx.extra)


def model_card(m: Any) -> dict[str, Any]:
    return {
        "id": m.name, "object": "model", "created": 0, "owned_by": m.provider,
        "pricing": {"input_per_mtok": m.input_per_mtok, "output_per_mtok": m.output_per_mtok, "cached_input_per_mtok": m.cached_input_per_mtok},
        "context_window": m.context_window, "capabilities": {"tools": m.tools, "vision": m.vision, "json_schema": m.json_schema, "reasoning": m.reasoning},
        "capability": dict(m.capability),
    }  # fmt: skip


async def models(gw: Gateway, ctx: RequestContext, receive: Receive, send: Send) -> None:
    data = [{"id": "auto", "object": "model", "created": 0, "owned_by": "triage"}]
    data.extend(model_card(m) for m in gw.reachable_models())
    data.extend({"id": alias, "object": "model", "created": 0, "owned_by": "triage", "alias_of": target} for alias, target in gw.settings.aliases.items())
    await send_json(send, 200, {"object": "list", "data": data}, ctx.extra)


def decision_json(d: Any) -> dict[str, Any]:
    f = d.features
    return {
        "selected_model": d.model,
        "provider": d.provider,
        "task_type": f.task_type,
        "difficulty": f.difficulty,
        "requirements": {"tools": f.needs_tools, "vision": f.needs_vision, "json": f.needs_json, "reasoning": f.needs_reasoning, "context_tokens": f.context_needed},
        "reasoning": d.reason,
        "quality_target": d.quality_target,
        "predicted_quality": round(d.chosen.predicted_quality, 4),
        "capability_score": round(d.chosen.capability, 4),
        "baseline_model": d.baseline_model,
        "baseline_predicted_quality": None if d.baseline_predicted_quality is None else round(d.baseline_predicted_quality, 4),
        "savings_percent": d.expected_savings_percent,
        "candidates": [{"model": c.model, "provider": c.provider, "expected_cost_usd": round(c.expected_cost, 8), "predicted_quality": round(c.predicted_quality, 4)} for c in d.candidates],
        "rejected": d.rejected,
    }  # fmt: skip


async def route(gw: Gateway, ctx: RequestContext, receive: Receive, send: Send) -> None:
    limits = gw.settings.limits
    body = parse_json_object(await read_body(receive, limits.max_body_bytes), limits)
    if "messages" not in body and isinstance(body.get("prompt"), str):
        body = {**body, "messages": [{"role": "user", "content": body["prompt"]}]}
    validate_chat(body, limits)
    s = gw.settings
    try:
        d = decide(extract(body), gw.catalog.models, policy_override(body, ctx.headers, s.policy, gw.resolve_model),
                   list(s.providers) or [m.provider for m in gw.catalog.models],
                   quality_target=quality_override(body, ctx.headers), estimator=gw.estimator)  # fmt: skip
    except NoCandidateError as e:
        raise GatewayError(400, f"no model can serve this request: {e.rejected}", code="no_eligible_model") from None
    out = decision_json(d)
    if not s.providers:
        out["note"] = "no provider is configured; decided over the whole catalog"
    await send_json(send, 200, out, ctx.extra)


async def openapi(gw: Gateway, ctx: RequestContext, receive: Receive, send: Send) -> None:
    from triage.server.openapi import document

    await send_json(send, 200, document(), ctx.extra)


PERIODS = {"day": 86400, "week": 7 * 86400, "month": 30 * 86400, "all": None}


async def stats(gw: Gateway, ctx: RequestContext, receive: Receive, send: Send, query: str = "") -> None:
    q = parse_qs(query)
    period = (q.get("period") or ["all"])[0]
    if period not in PERIODS:
        raise GatewayError(400, f"period must be one of {', '.join(PERIODS)}", param="period")
    span = PERIODS[period]
    since = time.time() - span if span else None
    await gw.writer.flush()
    store = gw.writer.store
    summary = await asyncio.to_thread(store.summary, since)
    by_model = await asyncio.to_thread(store.grouped, "model", since)
    by_task = await asyncio.to_thread(store.grouped, "task", since)
    body = {"period": period, "baseline": gw.settings.policy.baseline_model or "most capable configured model", **summary,
            "by_model": by_model, "by_task_type": by_task}  # fmt: skip
    await send_json(send, 200, body, ctx.extra)


async def compare(gw: Gateway, ctx: RequestContext, receive: Receive, send: Send, query: str = "") -> None:
    task = (parse_qs(query).get("task") or ["general"])[0]
    if task not in TASK_TYPES:
        raise GatewayError(400, f"task must be one of {', '.join(TASK_TYPES)}", param="task")
    rows = sorted(gw.catalog.models, key=lambda m: -m.capability_for(task))
    data = [{"model": m.name, "provider": m.provider, "capability": m.capability_for(task), "input_per_mtok": m.input_per_mtok,
             "output_per_mtok": m.output_per_mtok, "configured": m.provider in gw.settings.providers} for m in rows]  # fmt: skip
    await send_json(send, 200, {"task": task, "models": data}, ctx.extra)


def config_view(gw: Gateway) -> dict[str, Any]:
    s = gw.settings
    return {
        "host": s.host, "port": s.port, "home": str(s.home), "ledger": "postgres" if s.ledger_url.startswith("postgres") else s.ledger_url,
        "providers": {n: {"kind": p.kind, "base_url": p.base_url, "key": "set" if p.api_key else "unset", "client_keys": p.client_keys} for n, p in s.providers.items()},
        "missing_keys": list(s.missing_keys), "aliases": dict(s.aliases), "routing": asdict(s.policy),
        "store_prompts": s.store_prompts, "config_file": str(s.config_file) if s.config_file else None,
    }  # fmt: skip


async def get_config(gw: Gateway, ctx: RequestContext, receive: Receive, send: Send) -> None:
    await send_json(send, 200, config_view(gw), ctx.extra)


PATCHABLE = {"routing", "aliases"}


async def patch_config(gw: Gateway, ctx: RequestContext, receive: Receive, send: Send) -> None:
    limits = gw.settings.limits
    body = parse_json_object(await read_body(receive, limits.max_body_bytes), limits)
    await send_json(send, 200, await apply_config_patch(gw, body), ctx.extra)


async def apply_config_patch(gw: Gateway, body: dict[str, Any]) -> dict[str, Any]:
    """Validate a config patch, apply it (next request sees it), persist it; the new config view."""
    unknown = set(body) - PATCHABLE
    if unknown:
        raise GatewayError(
            403 if unknown & {"providers", "server", "storage"} else 400,
            f"only {', '.join(sorted(PATCHABLE))} can be changed at run time; {', '.join(sorted(unknown))} need the config file and a restart",
            code="not_patchable",
        )  # fmt: skip
    problems = _Problems()
    s = gw.settings
    policy = parse_policy(problems, body.get("routing", {}), s.policy)
    aliases = dict(s.aliases)
    if "aliases" in body:
        a = body["aliases"]
        if not isinstance(a, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in a.items()):
            problems.add("aliases", "expected a mapping of alias: model name")
        else:
            aliases.update(a)
    for alias, target in aliases.items():
        if gw.catalog.get(target) is None and "/" not in target:
            problems.add(f"aliases.{alias}", f"unknown model {target!r}")
    if policy.baseline_model and gw.catalog.get(policy.baseline_model) is None:
        problems.add("routing.baseline_model", f"unknown model {policy.baseline_model!r}")
    if problems.items:
        raise GatewayError(400, "invalid configuration: " + "; ".join(problems.items), code="invalid_config")
    new = replace(s, policy=policy, aliases=aliases)
    if s.config_file is not None:
        await asyncio.to_thread(persist, s.config_file, body)
    gw.apply(new)
    return config_view(gw)


def persist(path: Any, patch: dict[str, Any]) -> None:
    """Merge a PATCH into the YAML file so it survives a restart (written atomically)."""
    try:
        data = read_config_file(path)
    except ConfigError:
        data = {}
    for section, values in patch.items():
        merged = dict(data.get(section) or {})
        merged.update(values)
        data[section] = merged
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(yaml.safe_dump(data, sort_keys=False))
    tmp.replace(path)
