"""What a chat request asks for, read from its body: pure and cheap (tens of microseconds).

- ``task_type``: coding, reasoning, analysis, simple_qa, creative or general;
- ``difficulty`` in [0, 1]: how demanding the request looks;
- hard requirements a model must meet: tools, images, JSON mode, context length, reasoning.

Task words count only in context: "go to the park", "build a business plan" and "my class
schedule" are not coding, because a lone "go", "build" or "class" is not evidence of code;
"how many ounces are in a pound" is a lookup, not a word problem; "let me know" at the start
of a line is English, not a JavaScript declaration. Strong signals are code itself (fences,
declarations, calls, tracebacks) and unambiguous programming terms.

Speed: the text is lower-cased and split into words once; vocabulary is looked up in sets
and code/math marks are found with substring checks and two small regexes whose first
character is a literal class (so the regex engine can skip ahead). ``extract`` on a
300-character prompt takes a few tens of microseconds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

# --- evidence -------------------------------------------------------------------------------

_WORD = re.compile(r"[a-z0-9+#_']+")
_MATH_SYNTAX = re.compile(r"[0-9] ?[+*/^=<>] ?[0-9(]|[0-9] - [0-9]")  # 3x + 7 = 22, 3/2, 2^10 (not 2024-05-01)
_POWER = re.compile(r"[a-z)]\^[0-9]")  # x^2
_DIGIT = re.compile(r"[0-9]")
# "What is 17*23?", "calculate (3 + 4) / 2": an arithmetic expression and at most a verb before it.
_ARITHMETIC = re.compile(r"\s*(?:(?:what(?: is|'s)|calculate|compute|evaluate)\s+)?[0-9(][0-9\s.,+\-*/x×÷^()%=]*\??\s*", re.I)
_SIZE = re.compile(r"([0-9][0-9,]{2,})[- ]?(?:lines?|loc|files|pages|words|rows|documents)\b")

# Marks of source code, found by substring checks (case-sensitive, on the original text).
_CODE_MARKS = ("=>", ");", "){", "};", "()", "==", "!=", "&&", "||", "</", "/>")
# First word of a line -> what else the line must contain to be a declaration, not English
# ("let me know", "import duties on wine", "class starts at 9" are not code).
_DECLARATIONS = {
    "def": "(", "fn": "(", "func": "(", "function": "(", "class": "", "import": "", "from": " import ",
    "const": "=", "let": "=", "var": "=", "#include": "", "package": "", "public": "", "private": "",
    "SELECT": " FROM ", "INSERT": " INTO ", "UPDATE": " SET ", "CREATE": " TABLE ",
}  # fmt: skip
_MODIFIER_NEXT = frozenset("class static void int final string boolean async fun interface enum abstract".split())

# Unambiguous programming words: one of them is enough.
_CODE_STRONG = frozenset(
    "python javascript typescript golang rust kotlin php sql regex regexp bash dockerfile kubernetes "
    "django flask fastapi numpy pandas debug debugging stacktrace segfault "
    "refactor refactoring algorithm recursion recursive hashmap codebase compile compiler compiling "
    "mutex goroutine goroutines async await deadlock unittest pytest npm pip api json yaml html css "
    "javascript's c++ c# java struct enum pointer pointers "
    "git github gitlab rebase docker typeerror valueerror nullpointerexception undefined "
    "frontend backend microservice microservices monolith".split()
)
# Programming words that are also everyday English ("the function of the liver", "potato bugs",
# "the film's runtime", "lambda sensor"): code only next to other evidence of code, or in a
# programming phrase ("a function that ...", ``_CODE_PHRASES``).
_CODE_AMBIGUOUS = frozenset("function functions bug bugs syntax runtime lambda closure".split())
# Words that hint at code only next to other evidence ("class", "build", "go" alone are not code).
_CODE_WEAK = frozenset(
    "code coding program programming script method variable exception query endpoint "
    "repository repo test tests implement implementation class build go library framework server "
    "database schema thread threads memory leak error module service handler".split()
)
_CODE_PHRASES = frozenset(
    ["race condition", "linked list", "binary tree", "data structure", "time complexity", "stack trace",
     "unit test", "unit tests", "pull request", "merge conflict", "null pointer", "memory leak", "shell script",
     "type error", "syntax error", "runtime error", "thread safe", "big o", "in go", "hash map", "type hints",
     "function that", "function which", "function to", "function called", "function named", "function returns",
     "function takes", "function signature", "lambda function", "lambda expression", "fix bug", "fix bugs", "this bug"]
)  # fmt: skip
_REASONING_WORDS = frozenset(
    "prove proof theorem lemma derive derivation solve equation equations integral derivative probability "
    "calculate compute riddle deduce deduction combinatorics permutation permutations modulo prime primes "
    "puzzle logic arithmetic algebra geometry inequality integer integers".split()
)
# Count only next to other evidence of math ("optimize my morning routine" is not a math problem).
_REASONING_WEAK = frozenset("optimize optimise minimize minimise maximize maximise".split())
_REASONING_PHRASES = frozenset(["step by", "if and", "many ways"])
# A quantity question over numbers given in the prompt is a word problem
# ("how much does the ball cost", "at what time does the train catch up"), while
# "how many ounces are in a pound" (no numbers given) is a lookup.
_QUANTITY_PHRASES = frozenset(["how many", "how much", "how long", "how far", "how fast", "what time", "how old"])
_ANALYSIS_WORDS = frozenset(
    "analyze analyse analysis compare comparison contrast evaluate assess critique review tradeoffs "
    "tradeoff implications strategy strategic recommend recommendation recommendations summarize "
    "summarise summary report market financial forecast investigate".split()
)
_ANALYSIS_PHRASES = frozenset(["pros and", "root cause", "explain why", "in depth", "trade offs", "business plan", "due diligence"])
_CREATIVE_NOUNS = frozenset(
    "story stories poem poems haiku song lyrics novel screenplay limerick sonnet fiction joke jokes tale verse "
    "slogan slogans tagline taglines toast speech eulogy vows ballad fable parody monologue chapter".split()
)
_CREATIVE_WORDS = frozenset("creative creatively imagine brainstorm".split())
_WRITE_VERBS = frozenset("write compose draft create make tell give invent".split())
_SIMPLE_STARTS = frozenset(
    "what what's who who's whom whose when when's where where's which is are was were does do did define "
    "translate how how's".split()
)
# A short question asking for help, advice or ideas is a general request, not a factual lookup.
_ADVICE_WORDS = frozenset("should tips ideas advice suggest suggestions help".split())
_ADVICE_PHRASES = frozenset(["how can", "how should", "can you", "could you", "would you", "any ideas"])
_HARD_WORDS = frozenset(
    "distributed consensus concurrent concurrency lockfree exploit vulnerability vulnerabilities "
    "cryptography cryptographic theorem optimize optimise performance scalability scalable "
    "architecture architect rigorous rigorously complex production migration migrate legacy "
    "entire research olympiad competition graduate phd deadlock atomic atomics unreliable".split()
)
_HARD_PHRASES = frozenset(
    ["race condition", "memory model", "memory ordering", "system design", "design a", "edge cases", "edge case",
     "whole codebase", "entire codebase", "step by", "multi step", "state of", "formally verify",
     "lock free", "leader election", "network partitions", "network partition", "material risk", "every material"]
)  # fmt: skip
_EASY_WORDS = frozenset("simple quick quickly brief briefly short just only tldr eli5".split())
_EASY_PHRASES = frozenset(["one word", "one sentence", "one line"])

_PHRASES = (
    _CODE_PHRASES | _REASONING_PHRASES | _QUANTITY_PHRASES | _ANALYSIS_PHRASES | _ADVICE_PHRASES | _HARD_PHRASES | _EASY_PHRASES
)
_PHRASE_HEADS = frozenset(p.split()[0] for p in _PHRASES)

# Output tokens expected for a typical answer, by task type (before a request's max_tokens cap).
EXPECTED_OUTPUT = {"coding": 700, "reasoning": 600, "analysis": 600, "simple_qa": 80, "creative": 500, "general": 300}

_MAX_CHARS = 6000


def _is_declaration(line: str) -> bool:
    """Whether a line starts like source code ("def f(", "let x =", "SELECT a FROM"), not English."""
    s = line.lstrip()
    head, _, rest = s.partition(" ")
    need = _DECLARATIONS.get(head)
    if need is None or not rest:
        return head == "#include"
    if head == "import":  # "import os", "import numpy as np", not "import duties on French wine?"
        return len(rest.split()) <= 3 and s[-1:] not in ".?!"
    if head == "class":  # "class Foo(Base):", "class Foo {", not "class starts at 9"
        return s.endswith((":", "{")) or "(" in rest
    if head == "package":  # "package main", "package com.acme;"
        return len(rest.split()) == 1 and (s.endswith(";") or rest.islower())
    if head in ("public", "private"):
        return rest.split(None, 1)[0].lower() in _MODIFIER_NEXT
    return need in rest if need else True


def _code_marks(text: str) -> int:
    """How much the text looks like source code: fences, tracebacks, declarations, calls, operators."""
    n = 0
    if "```" in text:
        n += 2
    if "Traceback (most" in text:
        n += 2
    n += sum(1 for m in _CODE_MARKS if m in text)
    if "\n" in text:
        n += sum(1 for line in text.split("\n") if line and _is_declaration(line))
    elif _is_declaration(text):
        n += 1
    if "(" in text:  # calls like console.log( or parse_config(
        for piece in text.split("(")[:-1]:
            tail = piece[-40:].rsplit(None, 1)[-1] if piece and not piece[-1].isspace() else ""
            if ("." in tail or "_" in tail) and tail[-1:].isalnum() and tail.replace(".", "").replace("_", "").isalnum():
                n += 1
    return n


@dataclass(frozen=True, slots=True)
class _Scan:
    """One pass over a prompt, shared by the task classifier and the difficulty estimate."""

    text: str
    words: list[str]
    ws: frozenset[str]
    bigrams: frozenset[str]
    numbers: int  # words that start with a digit


def _scan(text: str) -> _Scan:
    text = text[:_MAX_CHARS]
    words = _WORD.findall(text.lower().replace("-", " "))
    heads = _PHRASE_HEADS
    bigrams = frozenset(f"{a} {b}" for a, b in zip(words, words[1:]) if a in heads)
    numbers = sum(1 for w in words if w[0].isdigit()) if _DIGIT.search(text) else 0
    return _Scan(text, words, frozenset(words), bigrams, numbers)


def _classify(s: _Scan) -> tuple[str, list[str]]:
    text, words, ws, bigrams = s.text, s.words, s.ws, s.bigrams
    syntax = _code_marks(text)
    strong = (ws & _CODE_STRONG) | (bigrams & _CODE_PHRASES)
    weak = ws & _CODE_WEAK
    ambiguous = ws & _CODE_AMBIGUOUS
    if ambiguous and (strong or weak or syntax):
        strong |= ambiguous
    math = 0
    if s.numbers:
        lowered = text.lower() if "^" in text else ""
        math = len(_MATH_SYNTAX.findall(text)) + (len(_POWER.findall(lowered)) if lowered else 0)
    if "\\frac" in text or "\\sum" in text or "\\int" in text or "sqrt" in text:
        math += 1
    reasoning = len(ws & _REASONING_WORDS) + len(bigrams & _REASONING_PHRASES) + math
    if s.numbers and bigrams & _QUANTITY_PHRASES:
        reasoning += 1
    if reasoning and ws & _REASONING_WEAK:
        reasoning += 1
    analysis = len(ws & _ANALYSIS_WORDS) + len(bigrams & _ANALYSIS_PHRASES)
    creative = 0
    if ws & _CREATIVE_NOUNS:
        # "write a poem", "tagline ideas", "a limerick about cats", but not "... every story about the farm"
        # quoted at the end of an unrelated request.
        if ws & _WRITE_VERBS or "ideas" in ws or ("about" in ws and not _CREATIVE_NOUNS.isdisjoint(words[:6])):
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
        if best == "coding":
            evidence = f"code evidence ({', '.join(sorted(strong)[:3]) or f'{syntax} syntax marks'})"
        elif best == "reasoning":
            evidence = f"{reasoning} math/logic cues"
        elif best == "analysis":
            evidence = f"{analysis} analysis cues"
        else:
            evidence = "a creative-writing request"
        return best, [evidence]
    if words and len(words) <= 30 and not (ws & _ADVICE_WORDS or bigrams & _ADVICE_PHRASES):
        if words[0] in _SIMPLE_STARTS or text.rstrip().endswith("?"):
            return "simple_qa", ["a short factual question"]
    return "general", ["no strong task signal"]


def classify(text: str) -> tuple[str, list[str]]:
    """Task type of a prompt and the evidence for it."""
    return _classify(_scan(text))


def _difficulty(s: _Scan, task_type: str, input_tokens: int) -> tuple[float, list[str]]:
    text, ws, bigrams = s.text, s.ws, s.bigrams
    hard = (ws & _HARD_WORDS) | (bigrams & _HARD_PHRASES)
    easy = len(ws & _EASY_WORDS) + len(bigrams & _EASY_PHRASES)
    d = {"simple_qa": 0.1, "general": 0.25, "creative": 0.3, "analysis": 0.4, "coding": 0.4, "reasoning": 0.45}[task_type]
    why: list[str] = []
    if task_type == "reasoning" and len(text) <= 80 and _ARITHMETIC.fullmatch(text):
        return 0.1, ["plain arithmetic"]
    d += 0.12 * min(len(hard), 4)
    if hard:
        why.append(f"hard cues: {', '.join(sorted(hard)[:3])}")
    if s.numbers:
        size = _SIZE.search(text.lower())
        if size:
            n = int(size.group(1).replace(",", "") or 0)
            if n >= 500:
                d += 0.2 if n >= 2000 else 0.1
                why.append(f"large scope ({size.group(0)})")
    if input_tokens > 4000:
        d += 0.1
        why.append("long input")
    if "\n" in text:
        constraints = text.count("\n- ") + text.count("\n* ")
        constraints += sum(1 for line in text.split("\n")[1:] if line[:1].isdigit() and line.partition(" ")[0].rstrip(".)").isdigit())
        if constraints >= 4:
            d += 0.08
            why.append(f"{constraints} listed requirements")
    d -= 0.08 * min(easy, 2)
    return max(0.0, min(1.0, d)), why


def difficulty_of(text: str, task_type: str, input_tokens: int) -> tuple[float, list[str]]:
    return _difficulty(_scan(text), task_type, input_tokens)


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
    max_output_tokens: int | None = None  # the request's own cap (max_tokens / max_completion_tokens)
    # The request's messages, for estimators that read the text itself (the learned router).
    messages: Sequence[Any] = field(default=(), compare=False, repr=False)

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


def extract(body: dict[str, Any]) -> RequestFeatures:
    """Features of an OpenAI-shaped chat request body."""
    messages = body.get("messages") or []
    user, other, image = _texts(messages)
    # The latest user turn says what is asked now; earlier turns only add context.
    focus = user[-1] if user else (other[-1] if other else "")
    all_chars = sum(map(len, user)) + sum(map(len, other))
    input_tokens = estimate_tokens(all_chars)
    scan = _scan(focus)
    task_type, evidence = _classify(scan)
    if task_type in ("general", "simple_qa") and len(user) > 1:
        # A follow-up ("and now in Rust?") keeps the conversation's task.
        earlier, _ = classify("\n".join(user[:-1])[-4000:])
        if earlier not in ("general", "simple_qa"):
            task_type, evidence = earlier, [f"follow-up in a {earlier} conversation"]
    difficulty, why = _difficulty(scan, task_type, input_tokens)

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
    else:
        cap = None
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
        max_output_tokens=cap,
        messages=messages if isinstance(messages, list) else (),
    )
