"""Cheap prompt features shared by the router at run time and by its training.

Owns the exact definition of what the router reads from a request: the text it looks at
(every message's text, the last user turn weighted again, long texts cut to their head and
tail), the tokens (lower-case words, numbers as shape tokens, math/code symbols) and a few
dense shape features (length, digits, answer options, code, turns...). Pure Python; the
cost is bounded by ``MAX_CHARS`` so a decision stays well under a millisecond.
"""

from __future__ import annotations

import math
import re

MAX_CHARS = 3000  # head and tail kept from longer texts
_TOKEN = re.compile(r"[a-z]+|\d+|[=+*/^<>∫∑√π%$\\{}()\[\]#`|~_-]")
_OPTION = re.compile(r"(?m)^\s*\(?([A-J])[.):]\s")
_DIGIT = re.compile(r"[0-9]")
_UPPER = re.compile(r"[A-Z]")
_MATHSYM = re.compile(r"[=+*/^<>∫∑√π\\]")
_CODE = re.compile(r"```|\bdef |\bclass |;\s*$|\{\s*$|\breturn\b|#include|=>|\bimport ", re.M)

DENSE_NAMES = (
    "log_chars",
    "log_words",
    "log_lines",
    "digit_frac",
    "upper_frac",
    "nonascii_frac",
    "mathsym_frac",
    "n_options",
    "has_code",
    "log_turns",
    "has_system",
    "question_marks",
    "mean_word_len",
)


def message_text(messages: list[dict]) -> tuple[str, str, int, bool]:
    """-> (all text, last user text, number of turns, has system prompt)."""
    parts: list[str] = []
    last_user = ""
    turns = 0
    has_system = False
    for m in messages:
        c = m.get("content")
        if isinstance(c, list):
            c = " ".join(
                p.get("text", "") for p in c if isinstance(p, dict) and isinstance(p.get("text"), str)
            )
        if not isinstance(c, str):
            continue
        role = m.get("role")
        if role == "system":
            has_system = True
        elif role == "user":
            turns += 1
            last_user = c
        parts.append(c)
    return "\n".join(parts), last_user, max(turns, 1), has_system


def _clip(text: str) -> str:
    if len(text) <= MAX_CHARS:
        return text
    half = MAX_CHARS // 2
    return text[:half] + "\n" + text[-half:]


def tokens(text: str) -> list[str]:
    """Lower-case word tokens; numbers become shape tokens (<n1>, <n2>, <n3+>)."""
    out = []
    for t in _TOKEN.findall(text.lower()):
        if t[0].isdigit():
            t = "<n1>" if len(t) == 1 else "<n2>" if len(t) == 2 else "<n3+>"
        out.append(t)
    return out


def extract(messages: list[dict]) -> tuple[set[str], list[float]]:
    """-> (set of sparse feature keys, dense feature values in ``DENSE_NAMES`` order)."""
    full, last_user, turns, has_system = message_text(messages)
    text = _clip(full)
    toks = tokens(text)
    keys = set(toks)
    # bigrams of the last user turn only: cheap, and the request's own phrasing matters most
    ut = toks if last_user == full else tokens(_clip(last_user))
    keys.update(a + " " + b for a, b in zip(ut, ut[1:]))
    n = max(len(text), 1)
    digits = len(_DIGIT.findall(text))
    upper = len(_UPPER.findall(text))
    nonascii = len(text) - len(text.encode("ascii", "ignore"))
    words = [t for t in toks if t[0].isalpha()]
    dense = [
        math.log1p(len(full)),
        math.log1p(len(words)),
        math.log1p(full.count("\n")),
        digits / n,
        upper / n,
        nonascii / n,
        len(_MATHSYM.findall(text)) / n,
        min(len(set(_OPTION.findall(text))), 10) / 10.0,
        1.0 if _CODE.search(text) else 0.0,
        math.log(turns),
        1.0 if has_system else 0.0,
        min(text.count("?"), 5) / 5.0,
        (sum(len(w) for w in words) / len(words)) if words else 0.0,
    ]
    return keys, dense
