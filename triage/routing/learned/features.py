"""Cheap prompt features shared by the router at run time and by its training.

Owns the exact definition of what the router reads from a request: the text it looks at
(every message's text, long texts cut to their head and tail), the tokens (lower-case words,
numbers as digit-shape tokens "0", "00", "000"..., math/code symbols as their own tokens),
bigrams of the head of the last user turn, and a few dense shape features (length, lines,
digits, non-ASCII, math symbols, answer options, code, turns, system prompt, question marks,
word length). Tokens are UTF-8 ``bytes`` cut by one ``bytes.translate`` + ``split`` (C
speed; a ``str.translate`` with a dict costs ~40 ns per character), so extracting a typical
prompt costs ~10 µs; the cost is bounded by ``MAX_CHARS``.
"""

from __future__ import annotations

import math
import re
import string

MAX_CHARS = 2000  # head and tail kept from longer texts
BIGRAM_TOKENS = 48  # bigrams of the first tokens of the last user turn

_SYMBOLS = tuple((c, c.encode()) for c in "=+*/^<>%$\\{}()[]#`|~_")  # each present one is a key of its own
_DIGITS = "0123456789"
_MATHSYMS = "=+*/^<>\\"
# UTF-8 bytes -> token bytes: ASCII letters lower-cased, digits -> "0", ASCII punctuation and
# whitespace -> space (non-ASCII bytes are kept, so words of any script stay whole)
_TB = bytearray(range(256))
for _c in string.punctuation + "\t\r\n\x0b\x0c":
    _TB[ord(_c)] = 32
for _c in _DIGITS:
    _TB[ord(_c)] = 48
for _c in string.ascii_uppercase:
    _TB[ord(_c)] = ord(_c.lower())
_TABLE = bytes(_TB)
_CODE_MARKS = ("```", "def ", "class ", "return ", "#include", "=>", "import ", ";\n", "{\n", "};", "();")
_OPTION = re.compile(r"\n\(?[A-J][.):] ")

DENSE_NAMES = (
    "log_chars",
    "log_words",
    "log_lines",
    "digit_frac",
    "nonascii_frac",
    "mathsym_frac",
    "n_options",
    "has_code",
    "log_turns",
    "has_system",
    "question_marks",
    "mean_word_len",
)


def message_text(messages) -> tuple[str, str, int, bool]:
    """-> (all text, last user text, number of user turns (>= 1), has system prompt)."""
    parts: list[str] = []
    last_user = ""
    turns = 0
    has_system = False
    for m in messages:
        if not isinstance(m, dict):
            continue
        c = m.get("content")
        if isinstance(c, list):
            c = " ".join(p.get("text", "") for p in c if isinstance(p, dict) and isinstance(p.get("text"), str))
        if not isinstance(c, str):
            continue
        role = m.get("role")
        if role == "system":
            has_system = True
        elif role == "user":
            turns += 1
            last_user = c
        parts.append(c)
    full = parts[0] if len(parts) == 1 else "\n".join(parts)
    return full, last_user, max(turns, 1), has_system


def _clip(text: str) -> str:
    if len(text) <= MAX_CHARS:
        return text
    half = MAX_CHARS // 2
    return text[:half] + "\n" + text[-half:]


def tokens(text: str) -> list[bytes]:
    """Lower-case word tokens (UTF-8 bytes); numbers become digit-shape tokens (b"0", b"00"...)."""
    return text.encode("utf-8", "replace").translate(_TABLE).split()


def key_text(key: bytes) -> str:
    """A sparse key as stored in the weights file (JSON text)."""
    return key.decode("utf-8", "replace")


def extract(messages) -> tuple[set[bytes], list[float]]:
    """-> (set of sparse feature keys, dense feature values in ``DENSE_NAMES`` order)."""
    full, last_user, turns, has_system = message_text(messages)
    text = _clip(full)
    toks = tokens(text)
    keys = set(toks)
    ut = toks if last_user is full or last_user == full else tokens(last_user[:MAX_CHARS // 2])
    ut = ut[:BIGRAM_TOKENS]
    keys.update(map(b" ".join, zip(ut, ut[1:])))
    keys.update([b for c, b in _SYMBOLS if c in text])
    n = max(len(text), 1)
    ntok = len(toks)
    digits = sum(map(text.count, _DIGITS))
    nonascii = len(text) - len(text.encode("ascii", "ignore"))
    mathsym = sum(map(text.count, _MATHSYMS))
    options = len(set(_OPTION.findall(text))) if "\n" in text else 0
    code = any(c in text for c in _CODE_MARKS)
    dense = [
        math.log1p(len(full)),
        math.log1p(ntok),
        math.log1p(full.count("\n")),
        digits / n,
        nonascii / n,
        mathsym / n,
        options / 10.0,
        1.0 if code else 0.0,
        math.log(turns),
        1.0 if has_system else 0.0,
        min(text.count("?"), 5) / 5.0,
        (sum(map(len, toks)) / ntok) if ntok else 0.0,  # bytes per token
    ]
    return keys, dense
