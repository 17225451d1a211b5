"""``seed_keywords``: a re-implementation of robot-resources-router's keyword routing, as a baseline.

Reproduced from robot-resources/packages ``lib/routing/task_detection.js`` + ``selector.js`` +
``router.js`` (MIT licence, Robot Resources Team), synchronous path (``routePrompt``):
- task type by keyword lists in priority order coding > creative > reasoning > analysis >
  simple_qa (word-boundary match for single words, substring for phrases), with its
  short-question shortcuts, context overrides, code-block and >5-lines rules; else "general";
- capable models: capability for that task type >= 0.70 (its ``CAPABILITY_THRESHOLD``), then
  >= 0.5, then all models; choose the cheapest by *input* price.
Not reproduced: the optional Gemini classifier call (needs a network call per request).
Capabilities: the tool ships hand-set scores per model "from arena.ai Elo"; for arbitrary pools
we derive them from the LMArena category rating of the pool model (coding -> coding, reasoning
-> hard_6, analysis -> expert, creative -> creative_writing, simple_qa/general -> full) with the
linear Elo->score map that best fits the tool's own scores of six models also rated in our arena
table (``ANCHORS``). Models without an arena rating get 0 (never "capable").
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from triage.routing.pool import PoolModel

TASK_PATTERNS: dict[str, tuple[str, ...]] = {
    "coding": (
        "write code", "write a function", "write a script", "write a program", "write python",
        "write javascript", "write typescript", "write java", "write in python",
        "write in javascript", "write in java", "python code", "javascript code",
        "typescript code", "fix the bug", "fix this bug", "debug this", "implement a",
        "implement the", "unit test", "integration test", "rest api", "api endpoint", "build a",
        "build an", "code", "function", "implement", "debug", "script", "program", "algorithm",
        "class", "method", "bug", "syntax", "compile", "refactor", "build", "python",
        "javascript", "typescript", "java", "rust", "go", "golang", "sql", "html", "css", "react",
        "vue", "angular", "nodejs", "django", "flask", "git", "docker", "kubernetes", "database",
        "regex", "websocket", "parse", "serialize", "deserialize",
    ),
    "reasoning": (
        "explain why", "tell me why", "reason through", "think through", "step by step",
        "analyze the logic", "evaluate the argument", "problem solving", "critical thinking",
        "assess the validity", "why", "explain", "reason", "deduce", "prove", "logic", "logical",
        "therefore", "premise", "conclusion", "implies", "derive", "infer", "reasoning",
        "puzzle", "riddle", "paradox", "dilemma",
    ),
    "analysis": (
        "pros and cons", "strengths and weaknesses", "compare and contrast", "analyze",
        "analyse", "examine", "evaluate", "assess", "review", "compare", "contrast", "breakdown",
        "dissect", "investigate", "research", "explore", "survey", "audit", "inspect",
        "scrutinize", "advantages", "disadvantages", "tradeoffs", "trade-offs", "swot",
        "metrics", "kpi", "benchmark", "trend", "insight",
    ),
    "simple_qa": (
        "what is", "what's", "who is", "who's", "where is", "where's", "when is", "when's",
        "how many", "how much", "how old", "how long", "what are", "who are", "where are",
        "when are", "give me", "tell me", "can you tell", "do you know", "true or false",
        "yes or no", "capital of", "population of", "price of", "cost of", "date of", "name of",
        "who invented", "who founded", "who created", "when was", "what does", "stand for",
        "does stand for", "define", "definition", "meaning", "translate", "convert",
        "calculate", "list", "weather", "temperature", "distance",
    ),
    "creative": (
        "write a story", "write a poem", "write an essay", "write a blog", "write a song",
        "write lyrics", "short story", "creative writing", "come up with", "think of ideas",
        "marketing copy", "write", "create", "generate", "compose", "draft", "story", "poem",
        "essay", "article", "blog", "content", "script", "dialogue", "narrative", "fiction",
        "novel", "brainstorm", "ideate", "imagine", "slogan", "tagline", "headline", "brand",
        "marketing", "advertisement", "campaign", "pitch", "proposal", "song", "lyrics", "haiku",
        "sonnet",
    ),
}
TASK_PRIORITY = ("coding", "creative", "reasoning", "analysis", "simple_qa")
_W = ("capital", "population", "color", "name", "country", "city", "president", "currency",
      "language", "flag")
CONTEXT_OVERRIDES = (
    ("why", "simple_qa", _W),
    ("why", "coding", ("error", "bug", "crash", "exception", "fail", "failed", "failing",
                       "broken", "not working", "doesn't work", "won't compile")),
    ("explain", "coding", ("code", "function", "async", "await", "class", "method", "algorithm",
                           "syntax", "compile", "runtime", "api", "endpoint")),
    ("write", "coding", ("function", "code", "script", "api", "program", "class", "method",
                         "algorithm", "parser", "query", "regex")),
    ("write", "creative", ("story", "poem", "essay", "article", "blog", "song", "lyrics",
                           "narrative", "fiction", "haiku", "sonnet")),
    ("create", "coding", ("function", "code", "script", "api", "program", "class", "method",
                          "algorithm", "microservice", "service", "endpoint", "database")),
    ("compare", "analysis", ("vs", "versus", "vs.", "compared to", "or", "better")),
    ("review", "analysis", ("quality", "efficiency", "performance", "pros", "cons", "strengths",
                            "weaknesses")),
    ("evaluate", "analysis", ("efficiency", "performance", "quality", "effectiveness", "pros",
                              "cons")),
)
DEFINITION_PREFIXES = (
    "what is ", "what's ", "what are ", "what does ", "what do ", "who is ", "who's ",
    "who are ", "who invented ", "who founded ", "who created ", "when is ", "when's ",
    "when was ", "when were ", "where is ", "where's ", "where are ",
)
FACTUAL_KEYWORDS = _W + ("temperature", "distance", "price", "cost", "date")
CAPABILITY_THRESHOLD = 0.70
FALLBACK_THRESHOLD = 0.5
TASK_TO_ARENA = {"coding": "coding", "reasoning": "hard_6", "analysis": "expert",
                 "creative": "creative_writing", "simple_qa": "full", "general": "full"}
# (arena full rating 2025-12-11, the tool's "overall" capability) for models in both tables
ANCHORS = ((1451.0, 0.81), (1433.8, 0.76), (1408.4, 0.71), (1402.4, 0.70), (1391.4, 0.65),
           (1375.2, 0.62))


def _match(keyword: str, text: str) -> bool:
    if " " in keyword:
        return keyword in text
    return re.search(r"\b" + re.escape(keyword) + r"\b", text) is not None


def detect_task_type(prompt: str) -> str:
    low = prompt.lower()
    words = prompt.split()
    if len(words) < 8 and any(low.startswith(p) for p in DEFINITION_PREFIXES):
        return "simple_qa"
    if "stand for" in low and len(words) < 10:
        return "simple_qa"
    task = next((t for t in TASK_PRIORITY if any(_match(k, low) for k in TASK_PATTERNS[t])), None)
    if task is None:
        return "general"
    for trigger, override, context in CONTEXT_OVERRIDES:
        if _match(trigger, low) and any(_match(c, low) for c in context):
            task = override
            break
    code_block = "```" in prompt
    inline = "`" in prompt and not code_block
    short_q = len(words) < 10 and "?" in prompt
    if short_q and not code_block and not inline and task == "reasoning":
        if any(_match(k, low) for k in FACTUAL_KEYWORDS):
            task = "simple_qa"
    if code_block and task != "coding":
        task = "coding"
    if len(prompt.strip().split("\n")) > 5 and task == "simple_qa":
        task = "general"
    return task


def elo_to_capability() -> tuple[float, float]:
    """Least-squares line through ``ANCHORS``: capability = a + b x rating."""
    n = len(ANCHORS)
    mx = sum(x for x, _ in ANCHORS) / n
    my = sum(y for _, y in ANCHORS) / n
    b = sum((x - mx) * (y - my) for x, y in ANCHORS) / sum((x - mx) ** 2 for x, _ in ANCHORS)
    return my - b * mx, b


def capabilities(
    models: Sequence[PoolModel], arena: Mapping[str, Mapping[str, float]]
) -> list[dict[str, float]]:
    a, b = elo_to_capability()
    out = []
    for m in models:
        r = arena.get(m.arena_name or "", {})
        caps = {}
        for task, cat in TASK_TO_ARENA.items():
            elo = r.get(cat, r.get("full"))
            caps[task] = a + b * elo if elo is not None else 0.0
        out.append(caps)
    return out


def route(prompt: str, models: Sequence[PoolModel], caps: Sequence[Mapping[str, float]]) -> int:
    """Index of the model the keyword router picks for ``prompt``."""
    task = detect_task_type(prompt)
    capable = [i for i, c in enumerate(caps) if c[task] >= CAPABILITY_THRESHOLD]
    if not capable:
        capable = [i for i, c in enumerate(caps) if c[task] >= FALLBACK_THRESHOLD]
    if not capable:
        capable = list(range(len(models)))
    return min(capable, key=lambda i: models[i].input_per_mtok)


def last_user_text(messages: list[dict]) -> str:
    for m in reversed(messages):
        if m.get("role") == "user" and isinstance(m.get("content"), str):
            return m["content"]
    return ""
