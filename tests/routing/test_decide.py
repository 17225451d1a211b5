"""The routing decision: hard requirements, expected total cost, policy, quality target,
baseline, the explanation, and the error when nothing can serve a request."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from triage.catalog.model import CatalogModel, load_catalog
from triage.config.settings import Policy
from triage.routing.decide import NoCandidateError, decide, expected_cost, pick_baseline
from triage.routing.features import RequestFeatures, extract

CAPS = ("coding", "reasoning", "analysis", "simple_qa", "creative", "general")


def model(name: str, provider: str = "openai", inp: float = 1.0, out: float = 2.0, cap: float = 0.8, **kw: object) -> CatalogModel:
    return CatalogModel(name=name, provider=provider, input_per_mtok=inp, output_per_mtok=out, capability={t: cap for t in CAPS}, **kw)  # type: ignore[arg-type]


def feats(task: str = "general", difficulty: float = 0.3, inp: int = 100, out: int = 300, **kw: object) -> RequestFeatures:
    return RequestFeatures(task_type=task, difficulty=difficulty, input_tokens=inp, expected_output_tokens=out, signals=("test",), **kw)  # type: ignore[arg-type]


ALL = ("openai", "anthropic", "gemini")


# --- hard requirements ----------------------------------------------------------------------

REQUIREMENTS = [
    ("needs_tools", {"tools": False}, "no tool calling"),
    ("needs_vision", {"vision": False}, "no image input"),
    ("needs_json", {"json_schema": False}, "no JSON mode"),
    ("needs_reasoning", {"reasoning": False}, "no reasoning mode"),
]


@pytest.mark.parametrize(("need", "lacking", "why"), REQUIREMENTS)
def test_a_model_missing_a_hard_requirement_is_never_chosen(need: str, lacking: dict, why: str) -> None:
    full = {"tools": True, "vision": True, "json_schema": True, "reasoning": True}
    cheap = model("cheap", inp=0.1, out=0.2, **{**full, **lacking})
    dear = model("dear", inp=5, out=20, **full)
    # Without the requirement the cheap one wins ...
    assert decide(feats(), [cheap, dear], Policy(), ALL).model == "cheap"
    # ... with it, it is rejected with its reason.
    d = decide(feats(**{need: True}), [cheap, dear], Policy(), ALL)
    assert d.model == "dear"
    assert d.rejected["cheap"] == why


def test_context_length_filter() -> None:
    small = model("small", inp=0.1, out=0.2, context_window=8_000)
    big = model("big", inp=1, out=2, context_window=1_000_000)
    f = feats(inp=10_000, out=500)
    d = decide(f, [small, big], Policy(), ALL)
    assert d.model == "big"
    assert d.rejected["small"] == "context window 8000 < 10500 tokens needed"
    # Exactly at the limit still fits.
    assert decide(feats(inp=7_500, out=500), [small, big], Policy(), ALL).model == "small"


def test_a_model_that_cannot_write_the_asked_max_tokens_is_not_chosen() -> None:
    short = model("short", inp=0.1, out=0.2, max_output_tokens=8_192)
    long = model("long", inp=1, out=2, max_output_tokens=64_000)
    body = {"messages": [{"role": "user", "content": "Write the whole report."}], "max_tokens": 20_000}
    d = decide(extract(body), [short, long], Policy(), ALL)
    assert d.model == "long"
    assert d.rejected["short"] == "max output 8192 < the 20000 tokens asked"
    for cap in ({"max_completion_tokens": 8_192}, {}):  # at the limit, or no cap: the cheap one
        assert decide(extract({**body, "max_tokens": None, **cap}), [short, long], Policy(), ALL).model == "short"


def test_context_needed_comes_from_the_whole_conversation() -> None:
    long_history = [{"role": "user", "content": "x " * 40_000}, {"role": "assistant", "content": "ok"}, {"role": "user", "content": "and?"}]
    f = extract({"messages": long_history})
    assert f.input_tokens > 20_000
    small = model("small", inp=0.1, out=0.2, context_window=16_000)
    big = model("big", context_window=200_000)
    assert decide(f, [small, big], Policy(), ALL).model == "big"


def test_requirements_are_read_from_the_body() -> None:
    body = {
        "messages": [{"role": "user", "content": [{"type": "text", "text": "what is this?"}, {"type": "image_url", "image_url": {"url": "data:,"}}]}],
        "tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}],
        "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {}}},
        "reasoning_effort": "high",
    }
    f = extract(body)
    assert (f.needs_vision, f.needs_tools, f.needs_json, f.needs_reasoning) == (True, True, True, True)
    f = extract({**body, "tool_choice": "none", "response_format": {"type": "text"}, "reasoning_effort": None})
    assert (f.needs_tools, f.needs_json, f.needs_reasoning) == (False, False, False)


def test_unconfigured_provider_is_filtered() -> None:
    d = decide(feats(), [model("a", "anthropic", inp=0.1, out=0.1), model("o", "openai")], Policy(), ("openai",))
    assert d.model == "o"
    assert d.rejected["a"] == "provider anthropic is not configured"


# --- expected total cost --------------------------------------------------------------------


def test_choice_is_by_expected_total_cost_not_input_price() -> None:
    # Cheap input, dear output vs the reverse: for a 100-token prompt and a 600-token answer
    # the input price alone would pick "cheap-in", which costs more in total.
    cheap_in = model("cheap-in", inp=0.10, out=10.0)
    cheap_out = model("cheap-out", inp=1.00, out=2.0)
    f = feats(inp=100, out=600)
    assert expected_cost(cheap_in, f) == pytest.approx((100 * 0.10 + 600 * 10.0) / 1e6)
    assert expected_cost(cheap_out, f) < expected_cost(cheap_in, f)
    d = decide(f, [cheap_in, cheap_out], Policy(), ALL)
    assert d.model == "cheap-out"
    assert [c.model for c in d.candidates] == ["cheap-out", "cheap-in"]  # cheapest first
    # A long document with a one-word answer flips it.
    assert decide(feats(inp=100_000, out=5), [cheap_in, cheap_out], Policy(), ALL).model == "cheap-in"


def test_hidden_reasoning_tokens_count_in_the_cost() -> None:
    thinker = model("thinker", inp=1.0, out=2.0, reasoning=True, reasoning_output_factor=3.0)
    plain = model("plain", inp=1.0, out=5.0)
    f = feats(inp=100, out=1000)
    assert expected_cost(thinker, f) == pytest.approx((100 * 1.0 + 3000 * 2.0) / 1e6)
    assert decide(f, [thinker, plain], Policy(), ALL).model == "plain"


# --- policy ---------------------------------------------------------------------------------

POOL = [
    model("o-cheap", "openai", inp=0.1, out=0.4),
    model("o-dear", "openai", inp=2, out=8),
    model("a-mid", "anthropic", inp=1, out=5),
    model("g-cheap", "gemini", inp=0.2, out=0.5),
]


@pytest.mark.parametrize(
    ("policy", "chosen", "rejected"),
    [
        (Policy(), "o-cheap", {}),
        (Policy(allowed_models=("a-mid", "o-dear")), "a-mid", {"o-cheap": "not in the allowed models", "g-cheap": "not in the allowed models"}),
        (Policy(denied_models=("o-cheap",)), "g-cheap", {"o-cheap": "denied by policy"}),
        (Policy(allowed_providers=("anthropic",)), "a-mid", {"o-cheap": "provider not allowed by policy", "g-cheap": "provider not allowed by policy"}),
        (Policy(denied_providers=("openai",)), "g-cheap", {"o-cheap": "provider denied by policy", "o-dear": "provider denied by policy"}),
    ],
)
def test_policy_allow_and_deny(policy: Policy, chosen: str, rejected: dict) -> None:
    d = decide(feats(), POOL, policy, ALL)
    assert d.model == chosen
    for name, why in rejected.items():
        assert d.rejected[name] == why
    assert all(c.model not in rejected for c in d.candidates)


def test_max_cost_per_mtok_is_a_ceiling_on_output_price() -> None:
    # Make the dear models the only ones reaching the bar, then cap the price.
    pool = [model("weak", inp=0.1, out=0.4, cap=0.3), model("mid", inp=1.0, out=5.0, cap=0.9), model("top", inp=5.0, out=25.0, cap=0.95)]
    f = feats(difficulty=0.6)
    assert decide(f, pool, Policy(), ALL).model == "mid"
    d = decide(f, pool, Policy(max_cost_per_mtok=4.0), ALL)
    assert d.model == "weak"  # the only one left, however weak
    assert d.rejected["mid"] == "costs $5.0/1M output tokens, above the $4.0 ceiling"
    assert "top" in d.rejected
    assert decide(f, pool, Policy(max_cost_per_mtok=5.0), ALL).model == "mid"  # the ceiling is inclusive


# --- quality target -------------------------------------------------------------------------

PROMPTS = [
    "What is the capital of Australia?",
    "Write a haiku about autumn rain.",
    "Write a Python function that merges two sorted lists.",
    "Prove that every planar graph is 5-colorable, giving a rigorous step-by-step argument.",
    "Find the race condition in this 5000-line codebase.",
    "Compare PostgreSQL and MongoDB for a product catalog.",
]


@pytest.mark.parametrize("prompt", PROMPTS)
def test_a_higher_quality_target_never_picks_a_cheaper_model(prompt: str) -> None:
    catalog = load_catalog(None)
    f = extract({"messages": [{"role": "user", "content": prompt}]})
    costs = []
    for target in [0.0, 0.3, 0.5, 0.7, 0.8, 0.85, 0.9, 0.95, 0.98, 1.0]:
        d = decide(f, catalog.models, Policy(), ALL, quality_target=target)
        assert d.quality_target == target
        costs.append(d.chosen.expected_cost)
    assert costs == sorted(costs), costs
    assert costs[-1] > costs[0], "the knob changed nothing on this prompt"


def test_quality_target_defaults_to_the_policy() -> None:
    catalog = load_catalog(None)
    f = extract({"messages": [{"role": "user", "content": "Write a Python function that merges two sorted lists."}]})
    low = decide(f, catalog.models, Policy(quality=0.3), ALL)
    high = decide(f, catalog.models, Policy(quality=1.0), ALL)
    assert low.quality_target == 0.3 and high.quality_target == 1.0
    assert low.chosen.expected_cost < high.chosen.expected_cost
    # target 1.0: only the best predicted model(s) pass
    assert high.chosen.predicted_quality == max(c.predicted_quality for c in high.candidates)


# --- baseline -------------------------------------------------------------------------------


def test_baseline_is_the_policys_model_when_set() -> None:
    d = decide(feats(), POOL, Policy(baseline_model="a-mid"), ALL)
    assert d.baseline_model == "a-mid"
    assert d.baseline_expected_cost == pytest.approx(expected_cost(POOL[2], feats()))
    assert d.expected_savings_percent == pytest.approx(round(100 * (1 - d.chosen.expected_cost / d.baseline_expected_cost), 1))


def test_default_baseline_is_the_most_capable_configured_model() -> None:
    pool = [model("a", "openai", cap=0.7), model("b", "anthropic", cap=0.95), model("c", "gemini", cap=0.9)]
    assert pick_baseline(pool, Policy(), ALL).name == "b"  # type: ignore[union-attr]
    assert pick_baseline(pool, Policy(), ("openai", "gemini")).name == "c"  # type: ignore[union-attr]
    assert pick_baseline(pool, Policy(), ()) is None
    # Shipped catalog, everything configured: the strongest model.
    assert pick_baseline(load_catalog(None).models, Policy(), ALL).name == "claude-opus-4-6"  # type: ignore[union-attr]


def test_savings_are_never_negative() -> None:
    # The baseline is cheaper than anything that passes the bar.
    pool = [model("cheapest", inp=0.01, out=0.01, cap=0.2), model("strong", inp=5, out=25, cap=0.95)]
    d = decide(feats(difficulty=0.7), pool, Policy(baseline_model="cheapest"), ALL)
    assert d.model == "strong"
    assert d.expected_savings_percent == 0.0


# --- explanation ----------------------------------------------------------------------------


def test_the_explanation_is_one_sentence_naming_the_choice() -> None:
    catalog = load_catalog(None)
    body = {"messages": [{"role": "user", "content": "Write a Python function that merges two sorted lists."}], "tools": [{"type": "function", "function": {"name": "f"}}]}
    d = decide(extract(body), catalog.models, Policy(), ALL)
    r = d.reason
    assert r.endswith(".")
    # One sentence: no sentence break inside (decimals like 0.90 or $0.0012 are not breaks).
    assert not re.search(r"[.!?]\s+[A-Z]", r[:-1]), r
    assert "\n" not in r
    assert r.startswith("coding request")
    assert d.model in r and "needing tools" in r and d.baseline_model in r  # type: ignore[operator]
    assert f"${d.chosen.expected_cost:.6f}" in r


# --- no candidate ---------------------------------------------------------------------------


def test_no_candidate_error_gives_every_models_reason() -> None:
    pool = [model("o", "openai", vision=False), model("a", "anthropic", vision=True), model("g", "gemini", vision=True)]
    with pytest.raises(NoCandidateError) as e:
        decide(feats(needs_vision=True), pool, Policy(denied_providers=("gemini",)), ("openai", "gemini"))
    assert e.value.rejected == {
        "o": "no image input",
        "a": "provider anthropic is not configured",
        "g": "provider denied by policy",
    }
    assert "no configured model" in str(e.value)


def test_no_candidate_when_everything_is_excluded() -> None:
    with pytest.raises(NoCandidateError) as e:
        decide(feats(), POOL[:2], Policy(), ALL, exclude=frozenset({"o-cheap", "o-dear"}))
    assert e.value.rejected == {"o-cheap": "excluded for this request", "o-dear": "excluded for this request"}


def test_below_the_bar_is_explained_in_rejected() -> None:
    pool = [model("weak", inp=0.1, out=0.1, cap=0.3), model("strong", cap=0.95)]
    d = decide(feats(difficulty=0.6), pool, Policy(), ALL)
    assert d.model == "strong"
    assert d.rejected["weak"].startswith("predicted quality 0.")
    assert "below the bar" in d.rejected["weak"]


def test_capability_falls_back_to_general_for_a_missing_task() -> None:
    m = replace(model("m"), capability={"general": 0.6})
    assert m.capability_for("coding") == 0.6
    assert replace(m, capability={}).capability_for("coding") == 0.5


@pytest.mark.parametrize("target", [1.5, -0.1, float("nan")])
def test_a_quality_target_outside_0_1_is_an_error_not_a_crash(target: float) -> None:
    with pytest.raises(ValueError, match="quality target must be in"):
        decide(feats(), POOL, Policy(), ALL, quality_target=target)


def test_config_cache_is_reused_per_configuration_and_gives_the_same_decision():
    from dataclasses import replace as _replace

    from triage.catalog.model import load_catalog as _load
    from triage.config.settings import Policy as _Policy
    from triage.routing.decide import ConfigCache
    from triage.routing.decide import decide as _decide
    from triage.routing.features import extract as _extract

    models = _load().models
    policy = _Policy()
    f = _extract({"messages": [{"role": "user", "content": "What is the capital of Peru?"}]})
    cache = ConfigCache()
    first = cache.get(models, policy, ["openai"])
    assert cache.get(models, policy, ["openai"]) is first
    denied = _replace(policy, denied_models=("gpt-5.4-nano",))
    assert cache.get(models, denied, ["openai"]) is not first
    for p in (policy, denied):
        assert _decide(f, models, p, ["openai"], cache=cache) == _decide(f, models, p, ["openai"])
    assert _decide(f, models, denied, ["openai"], cache=cache).model != "gpt-5.4-nano"


@pytest.mark.parametrize("q", ["What is 2+2?", "what's 17*23?", "Calculate (3 + 4) / 2", "2^10 = ?"])
def test_plain_arithmetic_is_easy_and_goes_to_the_cheapest_model(q: str) -> None:
    f = extract({"messages": [{"role": "user", "content": q}]})
    assert (f.task_type, f.difficulty) == ("reasoning", 0.1) and "plain arithmetic" in f.signals
    assert decide(f, load_catalog().models, Policy(), ("openai",)).model == "gpt-5.4-nano"


@pytest.mark.parametrize("q", ["Solve x^2-5x+6=0", "What is 2+2? Explain why addition is commutative.",
                               "Prove that there are infinitely many primes."])
def test_math_that_is_more_than_arithmetic_keeps_its_difficulty(q: str) -> None:
    f = extract({"messages": [{"role": "user", "content": q}]})
    assert f.task_type == "reasoning" and f.difficulty >= 0.45 and "plain arithmetic" not in f.signals
