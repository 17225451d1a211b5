"""Media references in OpenAI content parts: ``data:`` URLs in and out.

Owns parsing and building base64 data URLs, which every adapter and surface that carries
images needs in the same exact form. Pure string work: it never fetches a URL, never
decodes image bytes and never guesses a type that the URL does not state.
"""

from __future__ import annotations

import re

_DATA_URL = re.compile(r"^data:(?P<mime>[\w.+-]+/[\w.+-]+)(?P<params>(?:;[\w.+-]+=[^;,]*)*);base64,(?P<data>.*)$", re.S)


def parse_data_url(url: str) -> tuple[str, str] | None:
    """``(mime_type, base64_data)`` of a base64 ``data:`` URL, or None for anything else."""
    m = _DATA_URL.match(url)
    if not m:
        return None
    return m.group("mime").lower(), m.group("data")


def data_url(mime_type: str, b64: str) -> str:
    return f"data:{mime_type};base64,{b64}"


def is_http_url(url: str) -> bool:
    return url.startswith(("http://", "https://"))
