"""`triage models discover`: what each configured provider really serves.

Only providers the user configured are contacted, each with the key the gateway would use:
OpenAI-compatible servers (OpenAI, Ollama, vLLM, OpenRouter, ...) at ``GET {base_url}/models``,
Anthropic at ``GET {root}/v1/models``, Gemini at ``GET {root}/v1beta/models``. Models the
catalog does not know are marked so they can be added in the config file's ``models``.
"""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
from typing import Any

from triage.providers.base import ProviderConfig


def models_request(p: ProviderConfig) -> urllib.request.Request:
    base = p.base_url.rstrip("/")
    headers = {"accept": "application/json", **dict(p.headers)}
    if p.kind == "anthropic":
        url = f"{base}/v1/models?limit=1000"
        headers["anthropic-version"] = "2023-06-01"
        if p.api_key:
            headers["x-api-key"] = p.api_key
    elif p.kind == "gemini":
        url = f"{base}/v1beta/models?pageSize=1000"
        if p.api_key:
            headers["x-goog-api-key"] = p.api_key
    else:
        url = f"{base}/models"
        if p.api_key:
            headers["authorization"] = f"Bearer {p.api_key}"
    return urllib.request.Request(url, headers=headers)


def model_ids(kind: str, body: Any) -> list[str]:
    if kind == "gemini":
        return sorted(m["name"].removeprefix("models/") for m in body.get("models", []) if isinstance(m, dict) and m.get("name"))
    data = body.get("data", body.get("models", [])) if isinstance(body, dict) else []
    return sorted(str(m.get("id") or m.get("name")) for m in data if isinstance(m, dict) and (m.get("id") or m.get("name")))


def discover(providers: dict[str, ProviderConfig], known: set[str], timeout: float = 10.0) -> list[dict[str, Any]]:
    out = []
    for name, p in providers.items():
        entry: dict[str, Any] = {"provider": name, "kind": p.kind, "base_url": p.base_url}
        try:
            with urllib.request.urlopen(models_request(p), timeout=timeout) as r:  # noqa: S310 - the user's configured provider
                ids = model_ids(p.kind, json.loads(r.read()))
            entry["models"] = [{"id": i, "in_catalog": i in known or f"{name}/{i}" in known} for i in ids]
        except urllib.error.HTTPError as e:
            entry["error"] = f"HTTP {e.code}"
        except (OSError, ValueError) as e:
            entry["error"] = f"{type(e).__name__}: {e}"
        out.append(entry)
    return out


def run_discover(settings: Any, catalog: Any, fmt: str) -> int:
    if not settings.providers:
        print("triage: no provider is configured; nothing to ask (" + ", ".join(settings.missing_keys) + ")", file=sys.stderr)
        return 1
    found = discover(dict(settings.providers), {m.upstream_name or m.name for m in catalog.models} | set(catalog.names()))
    if fmt == "json":
        print(json.dumps({"providers": found}, indent=2))
    else:
        for e in found:
            if "error" in e:
                print(f"{e['provider']} ({e['base_url']}): not reachable: {e['error']}")
                continue
            new = sum(1 for m in e["models"] if not m["in_catalog"])
            print(f"{e['provider']} ({e['base_url']}): {len(e['models'])} models, {new} not in the catalog")
            for m in e["models"]:
                print(f"  {m['id']}{'' if m['in_catalog'] else '  (new: add it under models: in the config file)'}")
    return 0 if all("error" not in e for e in found) else 1
