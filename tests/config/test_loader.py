"""Configuration: one documented precedence (flags > environment > YAML > defaults), the
aliases users bring from robot-resources-router, provider keys and base URLs, custom
providers, and validation messages precise enough to fix the file from."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from triage.config import ConfigError, Policy, Settings, load_settings
from triage.providers.base import ProviderConfig


def write(tmp_path: Path, data: Any) -> Path:
    p = tmp_path / "triage.yaml"
    p.write_text(data if isinstance(data, str) else yaml.safe_dump(data))
    return p


def problems(tmp_path: Path, data: Any, env: dict[str, str] | None = None) -> list[str]:
    # TRIAGE_HOME in tmp_path: a user catalog in ~/.triage must not change what is "known".
    with pytest.raises(ConfigError) as e:
        load_settings({"TRIAGE_HOME": str(tmp_path), **(env or {})}, write(tmp_path, data))
    return e.value.problems


# --- precedence -----------------------------------------------------------------------------

# (Settings attribute, YAML section, YAML key, env vars, flag, yaml value, env value, flag value, parsed: yaml, env, flag)
PRECEDENCE = [
    ("host", "server", "host", ("TRIAGE_HOST",), "host", "10.0.0.1", "10.0.0.2", "10.0.0.3", ("10.0.0.1", "10.0.0.2", "10.0.0.3")),
    ("port", "server", "port", ("TRIAGE_PORT", "ROUTER_PORT"), "port", 4001, "4002", 4003, (4001, 4002, 4003)),
    ("workers", "server", "workers", ("TRIAGE_WORKERS",), "workers", 2, "3", 4, (2, 3, 4)),
    ("api_key", "server", "api_key", ("TRIAGE_API_KEY", "ROUTER_API_KEY"), None, "yaml-key", "env-key", None, ("yaml-key", "env-key", None)),
    ("cors_origins", "server", "cors_origins", ("TRIAGE_CORS_ORIGINS", "ROUTER_CORS_ORIGINS"), None,
     ["http://a.test"], "http://b.test, http://c.test", None, (("http://a.test",), ("http://b.test", "http://c.test"), None)),
    ("allowed_hosts", "server", "allowed_hosts", ("TRIAGE_ALLOWED_HOSTS",), None, ["a.test"], "b.test", None, (("a.test",), ("b.test",), None)),
    ("db", "storage", "db", ("TRIAGE_DB",), "db", "/y/ledger.db", "postgresql://h/db", "/f/ledger.db", ("/y/ledger.db", "postgresql://h/db", "/f/ledger.db")),
    ("home", "storage", "home", ("TRIAGE_HOME",), "home", "/y/home", "/e/home", "/f/home", (Path("/y/home"), Path("/e/home"), Path("/f/home"))),
    ("store_prompts", "storage", "store_prompts", ("TRIAGE_STORE_PROMPTS",), None, True, "false", None, (True, False, None)),
    ("ledger_flush_ms", "storage", "flush_ms", ("TRIAGE_LEDGER_FLUSH_MS",), None, 50, "75", None, (50, 75, None)),
]  # fmt: skip


@pytest.mark.parametrize(("attr", "section", "key", "envs", "flag", "yv", "ev", "fv", "parsed"), PRECEDENCE, ids=[p[0] for p in PRECEDENCE])
def test_precedence_flags_env_yaml_defaults(tmp_path: Path, attr: str, section: str, key: str, envs: tuple, flag: str | None,
                                            yv: Any, ev: str, fv: Any, parsed: tuple) -> None:  # fmt: skip
    default = getattr(Settings(), attr)
    cfg = write(tmp_path, {section: {key: yv}})
    assert getattr(load_settings({}, None), attr) == default
    assert getattr(load_settings({}, cfg), attr) == parsed[0] != default
    for env_name in envs:  # every accepted variable, including the ROUTER_* aliases
        assert getattr(load_settings({env_name: ev}, cfg), attr) == parsed[1]
        assert getattr(load_settings({env_name: ev}, None), attr) == parsed[1]
    if flag:
        assert getattr(load_settings({envs[0]: ev}, cfg, {flag: fv}), attr) == parsed[2]
        # A flag left unset (None, as argparse gives) does not override.
        assert getattr(load_settings({envs[0]: ev}, cfg, {flag: None}), attr) == parsed[1]


def test_triage_names_win_over_router_aliases() -> None:
    s = load_settings({"TRIAGE_PORT": "5001", "ROUTER_PORT": "5002", "TRIAGE_API_KEY": "t", "ROUTER_API_KEY": "r",
                       "TRIAGE_CORS_ORIGINS": "http://t.test", "ROUTER_CORS_ORIGINS": "http://r.test"})  # fmt: skip
    assert (s.port, s.api_key, s.cors_origins) == (5001, "t", ("http://t.test",))


def test_defaults() -> None:
    s = load_settings({}, None)
    assert s.host == "127.0.0.1"  # never 0.0.0.0 unless asked
    assert s.port == 3838
    assert s.api_key is None
    assert all("localhost" in o or "127.0.0.1" in o for o in s.cors_origins)
    assert s.policy == Policy()
    assert s.ledger_url == str(s.home / "ledger.db")


def test_routing_policy_precedence(tmp_path: Path) -> None:
    cfg = write(tmp_path, {"routing": {"quality": 0.7, "baseline_model": "gpt-5.4", "denied_providers": ["gemini"]}})
    s = load_settings({}, cfg)
    assert (s.policy.quality, s.policy.baseline_model, s.policy.denied_providers) == (0.7, "gpt-5.4", ("gemini",))
    s = load_settings({"TRIAGE_QUALITY": "0.95", "TRIAGE_BASELINE_MODEL": "o3"}, cfg)
    assert (s.policy.quality, s.policy.baseline_model, s.policy.denied_providers) == (0.95, "o3", ("gemini",))
    # 0 is a valid quality target (always the cheapest eligible model), not "unset".
    assert load_settings({"TRIAGE_QUALITY": "0"}, cfg).policy.quality == 0.0


def test_config_file_from_triage_config_env(tmp_path: Path) -> None:
    cfg = write(tmp_path, {"server": {"port": 4444}})
    assert load_settings({"TRIAGE_CONFIG": str(cfg)}).port == 4444
    other = tmp_path / "other.yaml"
    other.write_text("server: {port: 5555}\n")
    assert load_settings({"TRIAGE_CONFIG": str(cfg)}, other).port == 5555  # an explicit file wins
    assert load_settings({"TRIAGE_CONFIG": str(cfg)}).config_file == cfg


# --- providers ------------------------------------------------------------------------------


def test_provider_keys_from_env() -> None:
    s = load_settings({"OPENAI_API_KEY": "sk-o", "ANTHROPIC_API_KEY": "sk-a", "GEMINI_API_KEY": "g1"})
    assert {n: p.api_key for n, p in s.providers.items()} == {"openai": "sk-o", "anthropic": "sk-a", "gemini": "g1"}
    assert s.missing_keys == ()


def test_google_api_key_configures_gemini_and_gemini_key_wins() -> None:
    s = load_settings({"GOOGLE_API_KEY": "goog"})
    assert list(s.providers) == ["gemini"]
    assert s.providers["gemini"].api_key == "goog"
    assert load_settings({"GOOGLE_API_KEY": "goog", "GEMINI_API_KEY": "gem"}).providers["gemini"].api_key == "gem"


def test_missing_keys_are_listed() -> None:
    s = load_settings({"ANTHROPIC_API_KEY": "a"})
    assert s.missing_keys == ("OPENAI_API_KEY", "GEMINI_API_KEY or GOOGLE_API_KEY")
    assert load_settings({}).missing_keys == ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY or GOOGLE_API_KEY")
    assert load_settings({}).providers == {}


def test_default_base_urls() -> None:
    s = load_settings({"OPENAI_API_KEY": "o", "ANTHROPIC_API_KEY": "a", "GEMINI_API_KEY": "g"})
    assert s.providers["openai"].base_url == "https://api.openai.com/v1"
    assert s.providers["anthropic"].base_url == "https://api.anthropic.com"
    assert s.providers["gemini"].base_url == "https://generativelanguage.googleapis.com"


def test_triage_base_urls_env_over_yaml(tmp_path: Path) -> None:
    env = {"OPENAI_API_KEY": "o", "ANTHROPIC_API_KEY": "a", "GEMINI_API_KEY": "g"}
    cfg = write(tmp_path, {"providers": {"openai": {"base_url": "http://yaml.test/v1"}}})
    assert load_settings(env, cfg).providers["openai"].base_url == "http://yaml.test/v1"
    s = load_settings({**env, "TRIAGE_OPENAI_BASE_URL": "http://127.0.0.1:9/v1/", "TRIAGE_ANTHROPIC_BASE_URL": "http://127.0.0.1:8",
                       "TRIAGE_GEMINI_BASE_URL": "http://127.0.0.1:7"}, cfg)  # fmt: skip
    assert s.providers["openai"].base_url == "http://127.0.0.1:9/v1"  # trailing slash dropped
    assert s.providers["anthropic"].base_url == "http://127.0.0.1:8"
    assert s.providers["gemini"].base_url == "http://127.0.0.1:7"


def test_sdk_base_url_variables_are_not_read() -> None:
    """Users point their SDKs at Triage with these; reading them would send Triage to itself."""
    s = load_settings({"OPENAI_API_KEY": "o", "ANTHROPIC_API_KEY": "a", "GEMINI_API_KEY": "g",
                       "OPENAI_BASE_URL": "http://127.0.0.1:3838/v1", "ANTHROPIC_BASE_URL": "http://127.0.0.1:3838",
                       "GEMINI_BASE_URL": "http://127.0.0.1:3838", "GOOGLE_GEMINI_BASE_URL": "http://127.0.0.1:3838"})  # fmt: skip
    assert s.providers["openai"].base_url == "https://api.openai.com/v1"
    assert s.providers["anthropic"].base_url == "https://api.anthropic.com"
    assert s.providers["gemini"].base_url == "https://generativelanguage.googleapis.com"


def test_yaml_key_is_used_when_env_has_none_and_env_wins(tmp_path: Path) -> None:
    cfg = write(tmp_path, {"providers": {"openai": {"api_key": "from-yaml"}}})
    assert load_settings({}, cfg).providers["openai"].api_key == "from-yaml"
    assert load_settings({"OPENAI_API_KEY": "from-env"}, cfg).providers["openai"].api_key == "from-env"


def test_custom_openai_compatible_providers(tmp_path: Path) -> None:
    cfg = write(tmp_path, {"providers": {
        "ollama": {"base_url": "http://localhost:11434/v1"},
        "groq": {"base_url": "https://api.groq.com/openai/v1", "api_key_env": "GROQ_API_KEY"},
        "azure": {"base_url": "https://x.openai.azure.com/openai/v1", "headers": {"api-key": "az"}},
    }})  # fmt: skip
    s = load_settings({"GROQ_API_KEY": "gq"}, cfg)
    o = s.providers["ollama"]
    assert (o.kind, o.base_url, o.api_key) == ("openai", "http://localhost:11434/v1", None)  # no key needed
    assert s.providers["groq"].api_key == "gq"
    assert s.providers["azure"].headers == {"api-key": "az"}
    # Builtins without keys are still reported missing; the custom ones do not need keys.
    assert "OPENAI_API_KEY" in s.missing_keys
    # Their base URL can come from the environment too.
    assert load_settings({"TRIAGE_OLLAMA_BASE_URL": "http://gpu.test:11434/v1"}, cfg).providers["ollama"].base_url == "http://gpu.test:11434/v1"


def test_custom_provider_with_a_dash_reads_an_underscored_variable(tmp_path: Path) -> None:
    cfg = write(tmp_path, {"providers": {"together-ai": {"base_url": "https://api.together.xyz/v1"}}})
    s = load_settings({"TRIAGE_TOGETHER_AI_BASE_URL": "http://127.0.0.1:1/v1"}, cfg)
    assert s.providers["together-ai"].base_url == "http://127.0.0.1:1/v1"


def test_models_and_aliases_from_yaml(tmp_path: Path) -> None:
    cfg = write(tmp_path, {
        "providers": {"ollama": {"base_url": "http://localhost:11434/v1"}},
        "models": [{"name": "llama3.3", "provider": "ollama", "input_per_mtok": 0, "output_per_mtok": 0, "context_window": 128000,
                    "capability": {"general": 0.6}}, {"name": "gpt-5.4", "input_per_mtok": 2.0}],
        "aliases": {"fast": "gemini-2.5-flash"},
    })  # fmt: skip
    s = load_settings({}, cfg)
    assert [m["name"] for m in s.model_overrides] == ["llama3.3", "gpt-5.4"]
    assert s.aliases == {"fast": "gemini-2.5-flash"}


# --- secrets --------------------------------------------------------------------------------


def test_keys_never_appear_in_reprs(tmp_path: Path) -> None:
    secrets = {"OPENAI_API_KEY": "sk-SECRET-openai", "ANTHROPIC_API_KEY": "sk-SECRET-anthropic", "GOOGLE_API_KEY": "SECRET-google",
               "TRIAGE_API_KEY": "SECRET-gateway"}  # fmt: skip
    cfg = write(tmp_path, {"providers": {"ollama": {"base_url": "http://localhost:11434/v1", "api_key": "SECRET-yaml",
                                                    "headers": {"authorization": "Bearer SECRET-header"}}}})  # fmt: skip
    s = load_settings(secrets, cfg)
    for text in (repr(s), str(s), repr(dict(s.providers)), *(repr(p) for p in s.providers.values()), *(str(p) for p in s.providers.values())):
        assert "SECRET" not in text, text
    assert "api_key=set" in repr(s.providers["openai"])
    assert "SECRET" not in repr(ProviderConfig("x", "openai", "http://x", api_key="SECRET", headers={"a": "SECRET"}))


def test_keys_never_appear_in_validation_messages(tmp_path: Path) -> None:
    msgs = problems(tmp_path, {"providers": {"openai": {"api_key": "sk-SECRET", "base_url": "nope"}}, "server": {"port": "sk-SECRET2"}})
    assert all("SECRET" not in m or "port" in m for m in msgs)  # a value typed into the port field is shown back
    assert not any("sk-SECRET'" in m and "api_key" in m for m in msgs)


# --- validation -----------------------------------------------------------------------------


def test_unknown_keys_are_reported_with_their_path(tmp_path: Path) -> None:
    msgs = problems(tmp_path, {
        "sever": {"port": 1},
        "server": {"prot": 1},
        "storage": {"dbb": "x"},
        "providers": {"openai": {"api_kye": "k"}, "ollama": {"base_url": "http://localhost:11434/v1", "modle": "x"}},
        "models": [{"name": "m", "provider": "openai", "input_per_mtok": 1, "output_per_mtok": 1, "contxt_window": 5}],
        "routing": {"qualty": 0.5},
        "timeouts": {"conect": 1},
        "limits": {"max_bdy_bytes": 1},
    })  # fmt: skip
    for path in ("sever", "server.prot", "storage.dbb", "providers.openai.api_kye", "providers.ollama.modle", "models[0].contxt_window",
                 "routing.qualty", "timeouts.conect", "limits.max_bdy_bytes"):  # fmt: skip
        assert any(m.startswith(f"{path}: unknown key (expected one of: ") for m in msgs), (path, msgs)
    assert len(msgs) == 9, msgs
    # the expected keys are listed so a typo is easy to fix
    assert any(m.startswith("server.prot:") and "port" in m for m in msgs)


@pytest.mark.parametrize(
    ("data", "env", "expected"),
    [
        ({"server": {"port": "abc"}}, {}, "server.port: expected a whole number, got 'abc'"),
        ({"server": {"port": 3838.5}}, {}, "server.port: expected a whole number, got float"),
        ({"server": {"port": True}}, {}, "server.port: expected a whole number, got bool"),
        ({}, {"TRIAGE_PORT": "eighty"}, "TRIAGE_PORT: expected a whole number, got 'eighty'"),
        ({}, {"ROUTER_PORT": "0"}, "ROUTER_PORT: 0 is out of range [1, 65535]"),
        ({"server": {"port": 70000}}, {}, "server.port: 70000 is out of range [1, 65535]"),
        ({"server": {"workers": 0}}, {}, "server.workers: 0 is out of range [1, 256]"),
        ({"server": {"cors_origins": 5}}, {}, "server.cors_origins: expected a list of strings"),
        ({"storage": {"store_prompts": "maybe"}}, {}, "storage.store_prompts: expected true or false, got 'maybe'"),
        ({}, {"TRIAGE_STORE_PROMPTS": "perhaps"}, "TRIAGE_STORE_PROMPTS: expected true or false, got 'perhaps'"),
        ({"storage": {"flush_ms": 0}}, {}, "storage.flush_ms: 0 is out of range [1, 60000]"),
        ({"routing": {"quality": 1.5}}, {}, "routing.quality: 1.5 is out of range [0.0, 1.0]"),
        ({}, {"TRIAGE_QUALITY": "high"}, "TRIAGE_QUALITY: expected a number, got 'high'"),
        ({}, {"TRIAGE_QUALITY": "2"}, "TRIAGE_QUALITY: 2.0 is out of range [0.0, 1.0]"),
        ({"routing": {"allowed_models": 3}}, {}, "routing.allowed_models: expected a list of strings"),
        ({"routing": {"max_cost_per_mtok": -1}}, {}, "routing.max_cost_per_mtok: -1 is out of range [0.0, None]"),
        ({"routing": {"baseline_model": 5}}, {}, "routing.baseline_model: expected a model name"),
        ({"timeouts": {"connect": 0}}, {}, "timeouts.connect: 0 is out of range [0.001, None]"),
        ({"limits": {"max_body_bytes": "x"}}, {}, "limits.max_body_bytes: expected a whole number, got 'x'"),
        ({"server": []}, {}, "server: expected a mapping"),
        ({"providers": {"groq": {"kind": "grpc", "base_url": "http://x.test"}}}, {}, "providers.groq.kind: unknown kind 'grpc' (expected one of: openai, anthropic, gemini)"),
        ({"providers": {"vllm": {}}}, {}, "providers.vllm.base_url: required for a provider that is not built in"),
        ({"providers": {"openai": {"client_keys": "yes please"}}}, {}, "providers.openai.client_keys: expected true or false"),
        ({"providers": {"openai": {"headers": ["x"]}}}, {}, "providers.openai.headers: expected a mapping of header name: value"),
        ({"aliases": ["fast"]}, {}, "aliases: expected a mapping of alias: model name"),
        ({"models": {"name": "x"}}, {}, "models: expected a list of models"),
        ({"models": [{"nme": "x"}]}, {}, "models[0]: each model needs at least a name"),
        ({"models": [{"name": "x", "provider": "nope", "input_per_mtok": 1, "output_per_mtok": 1}]}, {},
         "models[0].provider: unknown provider 'nope' (configured: none)"),
        ({"models": [{"name": "gpt-5.4", "input_per_mtok": -2}]}, {}, "models[0].input_per_mtok: -2 is out of range [0.0, None]"),
        ({"models": [{"name": "gpt-5.4", "context_window": "big"}]}, {}, "models[0].context_window: expected a whole number, got 'big'"),
        ({"models": [{"name": "gpt-5.4", "tools": "sometimes"}]}, {}, "models[0].tools: expected true or false, got 'sometimes'"),
        ({"models": [{"name": "gpt-5.4", "capability": {"coding": 1.5}}]}, {}, "models[0].capability.coding: 1.5 is out of range (0, 1]"),
        ({"models": [{"name": "gpt-5.4", "capability": {"poetry": 0.5}}]}, {},
         "models[0].capability.poetry: unknown task type (expected one of: analysis, coding, creative, general, reasoning, simple_qa)"),
        ({"models": [{"name": "brand-new", "provider": "openai", "input_per_mtok": 1}]}, {},
         "models[0]: a model the catalog does not have needs output_per_mtok"),
        ({"models": [{"name": "brand-new"}]}, {}, "models[0]: a model the catalog does not have needs provider, input_per_mtok, output_per_mtok"),
    ],
)  # fmt: skip
def test_precise_validation_messages(tmp_path: Path, data: dict, env: dict, expected: str) -> None:
    msgs = problems(tmp_path, data, env)
    assert expected in msgs, msgs


@pytest.mark.parametrize(
    "url",
    ["ftp://x.test", "localhost:11434/v1", "http://", "https://", "http:// spaced.test", "https://host name.test/v1", "//x.test"],
)
def test_bad_base_urls(tmp_path: Path, url: str) -> None:
    msgs = problems(tmp_path, {"providers": {"ollama": {"base_url": url}}})
    assert len(msgs) == 1 and msgs[0].startswith("providers.ollama.base_url: "), msgs
    assert repr(url) in msgs[0]


def test_bad_base_url_from_env_names_the_variable() -> None:
    with pytest.raises(ConfigError) as e:
        load_settings({"OPENAI_API_KEY": "o", "TRIAGE_OPENAI_BASE_URL": "api.openai.com/v1"})
    assert e.value.problems == ["TRIAGE_OPENAI_BASE_URL: must be an http:// or https:// URL with a host, got 'api.openai.com/v1'"]


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    msgs = problems(tmp_path, {"server": {"port": "x", "workers": -1}, "routing": {"quality": 9}}, {"TRIAGE_STORE_PROMPTS": "?"})
    assert len(msgs) == 4, msgs
    assert "invalid configuration:" in str(ConfigError(msgs))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("server: [unclosed", "not valid YAML"),
        ("- a\n- b\n", "the top level must be a mapping"),
    ],
)
def test_unreadable_files(tmp_path: Path, text: str, expected: str) -> None:
    msgs = problems(tmp_path, text)
    assert len(msgs) == 1 and expected in msgs[0] and str(tmp_path) in msgs[0]


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as e:
        load_settings({}, tmp_path / "nope.yaml")
    assert e.value.problems == [f"{tmp_path / 'nope.yaml'}: file not found"]
    with pytest.raises(ConfigError) as e:
        load_settings({}, tmp_path)
    assert e.value.problems[0].startswith(f"{tmp_path}: cannot read")


def test_empty_file_is_all_defaults(tmp_path: Path) -> None:
    assert load_settings({}, write(tmp_path, "")).port == 3838


def test_a_model_from_the_users_catalog_counts_as_known(tmp_path: Path) -> None:
    """A model added by a price update in TRIAGE_HOME can be overridden with just a field."""
    import json

    from triage.catalog.model import load_catalog

    data = {"updated": "2026-01-01", "models": [{"name": "new-model", "provider": "openai", "input_per_mtok": 1, "output_per_mtok": 2}]}
    (tmp_path / "catalog.json").write_text(json.dumps(data))
    s = load_settings({"TRIAGE_HOME": str(tmp_path)}, write(tmp_path, {"models": [{"name": "new-model", "context_window": 1000}]}))
    assert load_catalog(s.home).with_overrides(s.model_overrides).get("new-model").context_window == 1000  # type: ignore[union-attr]


def test_tracing_is_off_by_default_and_configured_by_yaml_or_env(tmp_path: Path) -> None:
    assert Settings().otlp_endpoint is None
    cfg = write(tmp_path, "tracing:\n  otlp_endpoint: http://127.0.0.1:4318/v1/traces\n  service_name: gw-eu\n  headers: {x-team: core}\n")
    s = load_settings({"TRIAGE_HOME": str(tmp_path)}, cfg)
    assert (s.otlp_endpoint, s.service_name, dict(s.otlp_headers)) == ("http://127.0.0.1:4318/v1/traces", "gw-eu", {"x-team": "core"})
    env = {"TRIAGE_HOME": str(tmp_path), "TRIAGE_OTLP_ENDPOINT": "https://otel.example/v1/traces"}
    assert load_settings(env, cfg).otlp_endpoint == "https://otel.example/v1/traces"
    bad = problems(tmp_path, {}, {"TRIAGE_OTLP_ENDPOINT": "otel:4318"})
    assert any("TRIAGE_OTLP_ENDPOINT" in p and "http://" in p for p in bad)
    assert any("tracing" in p and "endpoint" in p for p in problems(tmp_path, {"tracing": {"endpoint": "http://x"}}))
