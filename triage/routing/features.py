"""What a chat request asks for, read from its body: pure and cheap (tens of microseconds).

- ``task_type``: coding, reasoning, analysis, simple_qa, creative or general;
- ``difficulty`` in [0, 1]: how demanding the request looks;
- hard requirements a model must meet: tools, images, JSON mode, context length, reasoning.

Task words count only in context: "go to the park", "build a business plan" and "my class
schedule" are not coding, because a lone "go", "build" or "class" is not evidence of code.
Strong signals are code itself (fences, syntax, tracebacks) and unambiguous programming terms.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable

# --- evidence -------------------------------------------------------------------------------
# Words are looked up in sets (one pass over the text), which is ~10x faster than the same
# vocabulary as case-insensitive regex alternations.

_WORD = re.compile(r"[a-z0-9+#_']+")
_CODE_SYNTAX = re.compile(
    r"```|^\s*(?:def|class|import|from|fn|func|public|private|const|let|var|#include|package|SELECT|INSERT|UPDATE)\s+\w"
    r"|\)\s*[{:;]\s*$|=>|\};?\s*$|Traceback \(most|\w\.\w+\(|\w_\w+\(",
    re.M,
)
_MATH_SYNTAX = re.compile(r"\d\s*[-+*/^=]\s*\d|\\frac|\\sum|\\int|\bx\^2|sqrt")

# Unambiguous programming words: one of them is enough.
_CODE_STRONG = frozenset(
    "python javascript typescript golang rust kotlin php sql regex regexp bash dockerfile kubernetes "
    "django flask fastapi numpy pandas function functions debug debugging bug bugs stacktrace segfault "
    "refactor refactoring algorithm recursion recursive hashmap codebase compile compiler compiling "
    "mutex goroutine goroutines async await deadlock unittest pytest npm pip api json yaml html css "
    "javascript's c++ c# java lambda closure struct enum pointer pointers runtime syntax".split()
)
# Words that hint at code only next to other evidence ("class", "build", "go" alone are not code).
_CODE_WEAK = frozenset(
    "code coding program programming script method variable exception query endpoint frontend backend "
    "repository repo git test tests implement implementation class build go library framework server "
    "database schema thread threads memory leak error".split()
)
_CODE_PHRASES = frozenset(
    ["race condition", "linked list", "binary tree", "data structure", "time complexity", "stack trace",
     "unit test", "pull request", "merge conflict", "null pointer", "memory leak", "shell script",
     "type error", "syntax error", "runtime error", "thread safe", "big o"]
)
_REASONING_WORDS = frozenset(
    "prove proof theorem lemma derive derivation solve equation equations integral derivative probability "
    "calculate compute riddle deduce combinatorics permutation permutations modulo prime primes "
    "optimize optimise minimize minimise maximize maximise puzzle logic arithmetic algebra geometry".split()
)
_REASONING_PHRASES = frozenset(["how many", "step by", "if and"])
_ANALYSIS_WORDS = frozenset(
    "analyze analyse analysis compare comparison contrast evaluate assess critique review tradeoffs "
    "tradeoff implications strategy strategic recommend recommendation recommendations summarize "
    "summarise summary report market financial forecast investigate plan".split()
)
_ANALYSIS_PHRASES = frozenset(["pros and", "root cause", "explain why", "in depth", "trade offs", "business plan"])
_CREATIVE_NOUNS = frozenset(
    "story poem haiku song lyrics novel screenplay limerick sonnet fiction joke tale verse slogan tagline".split()
)
_CREATIVE_WORDS = frozenset("creative creatively imagine brainstorm".split())
_WRITE_VERBS = frozenset("write compose draft create make tell".split())
_SIMPLE_STARTS = frozenset("what who when where which is are does do can define translate how".split())
_HARD_WORDS = frozenset(
    "distributed consensus concurrent concurrency lockfree exploit vulnerability vulnerabilities "
    "cryptography cryptographic prove proof theorem optimize optimise performance scalability scalable "
    "architecture architect tradeoffs rigorous rigorously complex production migration migrate legacy "
    "entire research olympiad competition graduate phd deadlock".split()
)
_HARD_PHRASES = frozenset(
    ["race condition", "memory model", "system design", "design a", "edge cases", "edge case",
     "whole codebase", "entire codebase", "step by", "multi step", "state of", "formally verify"]
)
_EASY_WORDS = frozenset("simple quick quickly brief briefly short just only tldr eli5".split())
_EASY_PHRASES = frozenset(["one word", "one sentence", "one line"])
_SIZE = re.compile(r"\b(\d{1,3}(?:,\d{3})+|\d{3,})[- ]?(?:lines?|loc|files|pages|words|rows)\b", re.I)

# Output tokens expected for a typical answer, by task type (before a request's max_tokens cap).
EXPECTED_OUTPUT = {"coding": 700, "reasoning": 600, "analysis": 600, "simple_qa": 80, "creative": 500, "general": 300}


@dataclass(frozen=True, slots=True)
class RequestFeatures:
    task_type: str
    difficulty: float
    input_tokens: int
    expected_output_tokens: int
    needs_tools: bool = False
    needs_vision: bool = False
    needs_json: bool = False
    needs_reasoning: bool = False
    signals: tuple[str, ...] = ()  # human-readable evidence, for explanations

    @property
    def context_needed(self) -> int:
        return self.input_tokens + self.expected_output_tokens


def _texts(messages: Iterable[Any]) -> tuple[list[str], list[str], bool]:
    """(user texts, other texts, has image) from OpenAI messages of any content shape."""
    user: list[str] = []
    other: list[str] = []
    image = False
    for m in messages:
        if not isinstance(m, dict):
            continue
        content = m.get("content")
        bucket = user if m.get("role") == "user" else other
        if isinstance(content, str):
            bucket.append(content)
        elif isinstance(content, list):
            for part in content:
                if not isinstance(part, dict):
                    continue
                t = part.get("type")
                if t == "text" and isinstance(part.get("text"), str):
                    bucket.append(part["text"])
                elif t in ("image_url", "image", "input_image"):
                    image = True
        for call in m.get("tool_calls") or ():
            if isinstance(call, dict):
                fn = call.get("function") or {}
                other.append(str(fn.get("arguments", "")))
    return user, other, image


def estimate_tokens(chars: int) -> int:
    return chars // 4 + 1


def _words(text: str) -> tuple[list[str], set[str], set[str]]:
    words = _WORD.findall(text.lower().replace("-", " "))
    return words, set(words), {f"{a} {b}" for a, b in zip(words, words[1:])}


def classify(text: str) -> tuple[str, list[str]]:
    """Task type of a prompt and the evidence for it."""
    text = text[:6000]
    words, ws, bigrams = _words(text)
    syntax = len(_CODE_SYNTAX.findall(text))
    strong = (ws & _CODE_STRONG) | (bigrams & _CODE_PHRASES)
    weak = ws & _CODE_WEAK
    reasoning = len(ws & _REASONING_WORDS) + len(bigrams & _REASONING_PHRASES) + len(_MATH_SYNTAX.findall(text))
    analysis = len(ws & _ANALYSIS_WORDS) + len(bigrams & _ANALYSIS_PHRASES)
    creative = 0
    if ws & _CREATIVE_NOUNS and (ws & _WRITE_VERBS or "about" in ws):
        creative = 2
    creative += len(ws & _CREATIVE_WORDS)
    coding = 2.0 * min(syntax, 3) + 1.5 * min(len(strong), 3)
    if coding:  # weak words count only once there is real evidence of code
        coding += 0.5 * min(len(weak), 4)
    scores = {
        "coding": coding,
        "reasoning": 1.2 * min(reasoning, 4),
        "analysis": 1.0 * min(analysis, 4),
        "creative": 1.5 * min(creative, 3),
    }
    best = max(scores, key=scores.__getitem__)
    if scores[best] >= 1.0:
        evidence = {
            "coding": f"code evidence ({', '.join(sorted(strong)[:3]) or f'{syntax} syntax marks'})",
            "reasoning": f"{reasoning} math/logic cues",
            "analysis": f"{analysis} analysis cues",
            "creative": "a creative-writing request",
        }[best]
        return best, [evidence]
    if len(words) <= 30 and words and (words[0] in _SIMPLE_STARTS or text.rstrip().endswith("?")):
        return "simple_qa", ["a short factual question"]
    return "general", ["no strong task signal"]


def difficulty_of(text: str, task_type: str, input_tokens: int) -> tuple[float, list[str]]:
    text = text[:6000]
    _, ws, bigrams = _words(text)
    hard = (ws & _HARD_WORDS) | (bigrams & _HARD_PHRASES)
    easy = len(ws & _EASY_WORDS) + len(bigrams & _EASY_PHRASES)
    size = _SIZE.search(text)
    d = {"simple_qa": 0.1, "general": 0.25, "creative": 0.3, "analysis": 0.4, "coding": 0.4, "reasoning": 0.45}[task_type]
    d += 0.12 * min(len(hard), 4)
    why: list[str] = []
    if hard:
        why.append(f"hard cues: {', '.join(sorted(hard)[:3])}")
    if size:
        n = int(size.group(1).replace(",", ""))
        if n >= 500:
            d += 0.2 if n >= 2000 else 0.1
            why.append(f"large scope ({size.group(0)})")
    if input_tokens > 4000:
        d += 0.1
        why.append("long input")
    constraints = text.count("\n- ") + text.count("\n* ") + len(re.findall(r"\n\d+[.)] ", text))
    if constraints >= 4:
        d += 0.08
        why.append(f"{constraints} listed requirements")
    d -= 0.08 * min(easy, 2)
    return max(0.0, min(1.0, d)), why


def extract(body: dict[str, Any]) -> RequestFeatures:
    """Features of an OpenAI-shaped chat request body."""
    messages = body.get("messages") or []
    user, other, image = _texts(messages)
    # The latest user turn says what is asked now; earlier turns only add context.
    focus = user[-1] if user else (other[-1] if other else "")
    all_chars = sum(len(t) for t in user) + sum(len(t) for t in other)
    input_tokens = estimate_tokens(all_chars)
    task_type, evidence = classify(focus)
    if task_type in ("general", "simple_qa") and len(user) > 1:
        # A follow-up ("and now in Rust?") keeps the conversation's task.
        earlier, ev = classify("\n".join(user[:-1])[-4000:])
        if earlier not in ("general", "simple_qa"):
            task_type, evidence = earlier, [f"follow-up in a {earlier} conversation"]
    difficulty, why = difficulty_of(focus, task_type, input_tokens)

    tools = body.get("tools") or body.get("functions")
    needs_tools = bool(tools) and body.get("tool_choice") != "none"
    rf = body.get("response_format")
    needs_json = isinstance(rf, dict) and rf.get("type") in ("json_object", "json_schema")
    needs_reasoning = bool(body.get("reasoning_effort")) or bool(body.get("thinking"))

    expected = EXPECTED_OUTPUT[task_type]
    expected = int(expected * (1 + difficulty))
    cap = body.get("max_completion_tokens") or body.get("max_tokens")
    if isinstance(cap, int) and not isinstance(cap, bool) and cap > 0:
        expected = min(expected, cap)
    return RequestFeatures(
        task_type=task_type,
        difficulty=round(difficulty, 3),
        input_tokens=input_tokens,
        expected_output_tokens=expected,
        needs_tools=needs_tools,
        needs_vision=image,
        needs_json=needs_json,
        needs_reasoning=needs_reasoning,
        signals=tuple(evidence + why),
    )
