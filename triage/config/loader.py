"""Build ``Settings`` from defaults, a YAML file, the environment and flags, strictly.

Every problem is collected with its exact location (``routing.quality``, ``TRIAGE_PORT``)
and raised together as ``ConfigError``; unknown keys are errors, not silently ignored.
"""

from __future__ import annotations

import os
from dataclasses import replace
from urllib.parse import urlsplit
from pathlib import Path
from typing import Any, Mapping

import yaml

from triage.config.settings import BUILTIN_PROVIDERS, Limits, Policy, Settings, Timeouts
from triage.providers.base import ProviderConfig

ADAPTER_KINDS = ("openai", "anthropic", "gemini")

TOP_KEYS = {"server", "storage", "providers", "models", "aliases", "fallbacks", "routing", "timeouts", "limits", "tracing"}
SERVER_KEYS = {"host", "port", "workers", "api_key", "cors_origins", "allowed_hosts"}
STORAGE_KEYS = {"db", "home", "store_prompts", "flush_ms"}
TRACING_KEYS = {"otlp_endpoint", "service_name", "headers"}
PROVIDER_KEYS = {"kind", "base_url", "api_key", "api_key_env", "headers", "client_keys"}
ROUTING_KEYS = set(Policy.__dataclass_fields__)
MODEL_KEYS = {
    "name", "provider", "input_per_mtok", "output_per_mtok", "cached_input_per_mtok", "cache_write_per_mtok",
    "context_window", "max_output_tokens", "tools", "vision", "json_schema", "reasoning",
    "reasoning_output_factor", "arena_name", "capability", "upstream_name", "unsupported_params", "max_stop_sequences",
}  # fmt: skip


ROUTERS = ("hybrid", "capability", "learned")


class ConfigError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid configuration:\n  " + "\n  ".join(problems))
        self.problems = problems


class _Problems:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, where: str, what: str) -> None:
        self.items.append(f"{where}: {what}")

    def unknown(self, where: str, got: Mapping[str, Any], allowed: set[str]) -> None:
        for k in got:
            if k not in allowed:
                self.add(f"{where}.{k}" if where else str(k), f"unknown key (expected one of: {', '.join(sorted(allowed))})")


def read_config_file(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except FileNotFoundError:
        raise ConfigError([f"{path}: file not found"]) from None
    except (OSError, UnicodeDecodeError) as e:  # a directory, no permission, not text
        raise ConfigError([f"{path}: cannot read ({getattr(e, 'strerror', None) or e})"]) from None
    except yaml.YAMLError as e:
        raise ConfigError([f"{path}: not valid YAML: {e}"]) from None
    if not isinstance(data, dict):
        raise ConfigError([f"{path}: the top level must be a mapping"])
    return data


def _num(p: _Problems, where: str, v: Any, kind: type, lo: float | None = None, hi: float | None = None) -> Any:
    if isinstance(v, bool) or not isinstance(v, (int, float) if kind is float else int):
        if isinstance(v, str):
            try:
                v = kind(v)
            except ValueError:
                p.add(where, f"expected a {'number' if kind is float else 'whole number'}, got {v!r}")
                return None
        else:
            p.add(where, f"expected a {'number' if kind is float else 'whole number'}, got {type(v).__name__}")
            return None
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        p.add(where, f"{v} is out of range [{lo}, {hi}]")
        return None
    return kind(v)


def _strs(p: _Problems, where: str, v: Any) -> tuple[str, ...] | None:
    if isinstance(v, str):
        return tuple(s.strip() for s in v.split(",") if s.strip())
    if isinstance(v, list) and all(isinstance(s, str) for s in v):
        return tuple(v)
    p.add(where, "expected a list of strings")
    return None


def _bool(p: _Problems, where: str, v: Any) -> bool | None:
    if isinstance(v, bool):
        return v
    if isinstance(v, str) and v.lower() in ("1", "true", "yes", "on", "0", "false", "no", "off"):
        return v.lower() in ("1", "true", "yes", "on")
    p.add(where, f"expected true or false, got {v!r}")
    return None


def parse_policy(p: _Problems, raw: Mapping[str, Any], base: Policy, where: str = "routing") -> Policy:
    if not isinstance(raw, Mapping):
        p.add(where, "expected a mapping")
        return base
    p.unknown(where, raw, ROUTING_KEYS)
    changes: dict[str, Any] = {}
    for k, v in raw.items():
        at = f"{where}.{k}"
        if k == "quality":
            changes[k] = _num(p, at, v, float, 0.0, 1.0)
        elif k == "max_cost_per_mtok":
            changes[k] = None if v is None else _num(p, at, v, float, 0.0)
        elif k == "router":
            if v not in ROUTERS:
                p.add(at, f"unknown router {v!r} (expected one of: {', '.join(ROUTERS)})")
            else:
                changes[k] = v
        elif k == "baseline_model":
            if v is not None and not isinstance(v, str):
                p.add(at, "expected a model name")
            else:
                changes[k] = v
        elif k in ROUTING_KEYS:
            changes[k] = _strs(p, at, v)
    return replace(base, **{k: v for k, v in changes.items() if v is not None or k in ("max_cost_per_mtok", "baseline_model")})


def _section(p: _Problems, data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    v = data.get(key, {})
    if v is None:
        return {}
    if not isinstance(v, Mapping):
        p.add(key, "expected a mapping")
        return {}
    return v


def load_settings(
    env: Mapping[str, str] | None = None,
    config_file: Path | None = None,
    flags: Mapping[str, Any] | None = None,
) -> Settings:
    """Defaults < YAML file < environment < flags. Raises ``ConfigError`` listing every problem."""
    env = os.environ if env is None else env
    flags = {k: v for k, v in (flags or {}).items() if v is not None}
    p = _Problems()

    if config_file is None and env.get("TRIAGE_CONFIG"):
        config_file = Path(env["TRIAGE_CONFIG"])
    data: dict[str, Any] = read_config_file(config_file) if config_file else {}
    p.unknown("", data, TOP_KEYS)

    server = _section(p, data, "server")
    storage = _section(p, data, "storage")
    p.unknown("server", server, SERVER_KEYS)
    p.unknown("storage", storage, STORAGE_KEYS)
    tracing = _section(p, data, "tracing")
    p.unknown("tracing", tracing, TRACING_KEYS)

    s: dict[str, Any] = {}

    def pick(name: str, file_val: Any, env_names: tuple[str, ...], flag: str | None = None) -> tuple[Any, str] | None:
        if flag and flag in flags:
            return flags[flag], f"--{flag.replace('_', '-')}"
        for e in env_names:
            if env.get(e):
                return env[e], e
        if file_val is not None:
            return file_val, name
        return None

    if (v := pick("server.host", server.get("host"), ("TRIAGE_HOST",), "host")) is not None:
        s["host"] = str(v[0])
    if (v := pick("server.port", server.get("port"), ("TRIAGE_PORT", "ROUTER_PORT"), "port")) is not None:
        s["port"] = _num(p, v[1], v[0], int, 1, 65535)
    if (v := pick("server.workers", server.get("workers"), ("TRIAGE_WORKERS",), "workers")) is not None:
        s["workers"] = _num(p, v[1], v[0], int, 1, 256)
    if (v := pick("server.api_key", server.get("api_key"), ("TRIAGE_API_KEY", "ROUTER_API_KEY"))) is not None:
        s["api_key"] = str(v[0])
    if (v := pick("server.cors_origins", server.get("cors_origins"), ("TRIAGE_CORS_ORIGINS", "ROUTER_CORS_ORIGINS"))) is not None:
        s["cors_origins"] = _strs(p, v[1], v[0])
    if (v := pick("server.allowed_hosts", server.get("allowed_hosts"), ("TRIAGE_ALLOWED_HOSTS",))) is not None:
        s["allowed_hosts"] = _strs(p, v[1], v[0])
    if (v := pick("storage.home", storage.get("home"), ("TRIAGE_HOME",), "home")) is not None:
        s["home"] = Path(str(v[0])).expanduser()
    if (v := pick("storage.db", storage.get("db"), ("TRIAGE_DB",), "db")) is not None:
        s["db"] = str(v[0])
    if (v := pick("storage.store_prompts", storage.get("store_prompts"), ("TRIAGE_STORE_PROMPTS",))) is not None:
        s["store_prompts"] = _bool(p, v[1], v[0])
    if (v := pick("storage.flush_ms", storage.get("flush_ms"), ("TRIAGE_LEDGER_FLUSH_MS",))) is not None:
        s["ledger_flush_ms"] = _num(p, v[1], v[0], int, 1, 60_000)

    if (v := pick("tracing.otlp_endpoint", tracing.get("otlp_endpoint"), ("TRIAGE_OTLP_ENDPOINT",))) is not None:
        url = str(v[0])
        if not url.startswith(("http://", "https://")):
            p.add(v[1], f"an OTLP/HTTP traces URL (http:// or https://, e.g. http://127.0.0.1:4318/v1/traces), got {url!r}")
        s["otlp_endpoint"] = url
    if (v := pick("tracing.service_name", tracing.get("service_name"), ("TRIAGE_SERVICE_NAME",))) is not None:
        s["service_name"] = str(v[0])
    if tracing.get("headers") is not None:
        h = tracing["headers"]
        if not isinstance(h, dict) or not all(isinstance(k, str) and isinstance(x, str) for k, x in h.items()):
            p.add("tracing.headers", "a mapping of header names to strings")
        else:
            s["otlp_headers"] = dict(h)

    providers, missing = _parse_providers(p, data.get("providers") or {}, env)
    s["providers"] = providers
    s["missing_keys"] = tuple(missing)

    models = data.get("models") or []
    if not isinstance(models, list):
        p.add("models", "expected a list of models")
        models = []
    known_models = _catalog_names(s.get("home", Settings().home)) if models else None
    for i, m in enumerate(models):
        at = f"models[{i}]"
        if not isinstance(m, Mapping) or not isinstance(m.get("name"), str):
            p.add(at, "each model needs at least a name")
            continue
        p.unknown(at, m, MODEL_KEYS)
        if "provider" in m and m["provider"] not in providers and m["provider"] not in BUILTIN_PROVIDERS:
            p.add(f"{at}.provider", f"unknown provider {m['provider']!r} (configured: {', '.join(providers) or 'none'})")
        _check_model(p, at, m, known_models)
    s["model_overrides"] = tuple(models)

    aliases = data.get("aliases") or {}
    if not isinstance(aliases, Mapping) or not all(isinstance(k, str) and isinstance(v, str) for k, v in aliases.items()):
        p.add("aliases", "expected a mapping of alias: model name")
        aliases = {}
    s["aliases"] = dict(aliases)

    fallbacks = data.get("fallbacks") or {}
    chains: dict[str, tuple[str, ...]] = {}
    if not isinstance(fallbacks, Mapping):
        p.add("fallbacks", "expected a mapping of model (or task:<type>): [models to try next]")
    else:
        for k, v in fallbacks.items():
            chain = _strs(p, f"fallbacks.{k}", v)
            if chain is not None:
                chains[str(k)] = chain
    s["fallbacks"] = chains

    policy = parse_policy(p, _section(p, data, "routing"), Policy())
    if env.get("TRIAGE_QUALITY"):
        quality = _num(p, "TRIAGE_QUALITY", env["TRIAGE_QUALITY"], float, 0.0, 1.0)
        if quality is not None:  # 0.0 is a valid target, not "unset"
            policy = replace(policy, quality=quality)
    if env.get("TRIAGE_BASELINE_MODEL"):
        policy = replace(policy, baseline_model=env["TRIAGE_BASELINE_MODEL"])
    s["policy"] = policy

    s["timeouts"] = _parse_dataclass(p, "timeouts", _section(p, data, "timeouts"), Timeouts(), float)
    s["limits"] = _parse_dataclass(p, "limits", _section(p, data, "limits"), Limits(), int)

    if p.items:
        raise ConfigError(p.items)
    s["config_file"] = config_file
    return Settings(**{k: v for k, v in s.items() if v is not None})


def _catalog_names(home: Path) -> set[str] | None:
    """Models the catalog already has (None if it cannot be read: then nothing is required)."""
    from triage.catalog.model import load_catalog

    try:
        return set(load_catalog(home).names())
    except Exception:  # noqa: BLE001 - a broken user catalog is reported where it is loaded
        return None


def _check_model(p: _Problems, at: str, m: Mapping[str, Any], known: set[str] | None) -> None:
    """Types and ranges of one ``models[i]`` entry; a new model needs a provider and prices."""
    from triage.catalog.model import TASK_TYPES

    for k in ("input_per_mtok", "output_per_mtok", "cached_input_per_mtok", "cache_write_per_mtok", "reasoning_output_factor"):
        if m.get(k) is not None:
            _num(p, f"{at}.{k}", m[k], float, 0.0)
    for k in ("context_window", "max_output_tokens"):
        if m.get(k) is not None:
            _num(p, f"{at}.{k}", m[k], int, 1)
    for k in ("tools", "vision", "json_schema", "reasoning"):
        if k in m:
            _bool(p, f"{at}.{k}", m[k])
    for k in ("provider", "arena_name", "upstream_name"):
        if m.get(k) is not None and not isinstance(m[k], str):
            p.add(f"{at}.{k}", f"expected a string, got {type(m[k]).__name__}")
    cap = m.get("capability")
    if cap is not None:
        if not isinstance(cap, Mapping):
            p.add(f"{at}.capability", "expected a mapping of task type: score in (0, 1]")
        else:
            for task, score in cap.items():
                if task not in TASK_TYPES:
                    p.add(f"{at}.capability.{task}", f"unknown task type (expected one of: {', '.join(sorted(TASK_TYPES))})")
                elif isinstance(score, bool) or not isinstance(score, (int, float)):
                    p.add(f"{at}.capability.{task}", f"expected a number, got {type(score).__name__}")
                elif not 0 < score <= 1:
                    p.add(f"{at}.capability.{task}", f"{score} is out of range (0, 1]")
    if known is not None and m["name"] not in known:
        need = [k for k in ("provider", "input_per_mtok", "output_per_mtok") if m.get(k) is None]
        if need:
            p.add(at, f"a model the catalog does not have needs {', '.join(need)}")


def _url_ok(url: str) -> bool:
    if any(c.isspace() for c in url):
        return False
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _parse_dataclass(p: _Problems, where: str, raw: Mapping[str, Any], base: Any, kind: type) -> Any:
    allowed = set(type(base).__dataclass_fields__)
    p.unknown(where, raw, allowed)
    changes = {}
    for k, v in raw.items():
        if k in allowed:
            n = _num(p, f"{where}.{k}", v, kind, 0.001 if kind is float else 1)
            if n is not None:
                changes[k] = n
    return replace(base, **changes)


def _parse_providers(p: _Problems, raw: Any, env: Mapping[str, str]) -> tuple[dict[str, ProviderConfig], list[str]]:
    if not isinstance(raw, Mapping):
        p.add("providers", "expected a mapping of provider name: settings")
        raw = {}
    out: dict[str, ProviderConfig] = {}
    missing: list[str] = []
    names = list(BUILTIN_PROVIDERS) + [n for n in raw if n not in BUILTIN_PROVIDERS]
    for name in names:
        conf = raw.get(name) or {}
        at = f"providers.{name}"
        if not isinstance(conf, Mapping):
            p.add(at, "expected a mapping")
            continue
        p.unknown(at, conf, PROVIDER_KEYS)
        builtin = BUILTIN_PROVIDERS.get(name)
        kind = conf.get("kind") or (builtin[0] if builtin else "openai")
        if kind not in ADAPTER_KINDS:
            p.add(f"{at}.kind", f"unknown kind {kind!r} (expected one of: {', '.join(ADAPTER_KINDS)})")
            continue
        env_var = f"TRIAGE_{name.upper().replace('-', '_').replace('.', '_')}_BASE_URL"
        env_url = env.get(env_var)
        base_url = env_url or conf.get("base_url") or (builtin[1] if builtin else None)
        if not base_url:
            p.add(f"{at}.base_url", "required for a provider that is not built in")
            continue
        if not isinstance(base_url, str) or not _url_ok(base_url):
            p.add(env_var if env_url else f"{at}.base_url", f"must be an http:// or https:// URL with a host, got {base_url!r}")
            continue
        key_vars = ((conf["api_key_env"],) if conf.get("api_key_env") else ()) + (builtin[2] if builtin else ())
        key = next((env[v] for v in key_vars if env.get(v)), None) or conf.get("api_key")
        client_keys = conf.get("client_keys", False)
        if not isinstance(client_keys, bool):
            p.add(f"{at}.client_keys", "expected true or false")
            client_keys = False
        headers = conf.get("headers") or {}
        if not isinstance(headers, Mapping) or not all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items()):
            p.add(f"{at}.headers", "expected a mapping of header name: value")
            headers = {}
        if builtin and not key and not client_keys:
            missing.append(" or ".join(builtin[2]))
            continue
        out[name] = ProviderConfig(
            name=name, kind=kind, base_url=str(base_url).rstrip("/"), api_key=key, headers=dict(headers), client_keys=client_keys
        )
    return out, missing
