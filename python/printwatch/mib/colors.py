"""Which colour a supply is: the colorant table's name first, then words in the description.

Error handling: unknown names give None, never an exception.
"""

from __future__ import annotations

import functools
import re

#: Canonical colour names; longer names are tried first so "light cyan" is not "cyan".
COLORS = (
    "photo black",
    "matte black",
    "light cyan",
    "light magenta",
    "light black",
    "light gray",
    "black",
    "cyan",
    "magenta",
    "yellow",
    "gray",
    "red",
    "green",
    "blue",
    "orange",
    "violet",
    "white",
    "clear",
    "gold",
    "silver",
)
_SYNONYMS = {
    "grey": "gray",
    "light grey": "light gray",
    "photoblack": "photo black",
    "matteblack": "matte black",
    "lightcyan": "light cyan",
    "lightmagenta": "light magenta",
    "transparent": "clear",
    # Japanese and Chinese names seen on supplies (UTF-8 descriptions).
    "ブラック": "black",
    "シアン": "cyan",
    "マゼンタ": "magenta",
    "イエロー": "yellow",
    "黑色": "black",
    "青色": "cyan",
    "品红": "magenta",
    "黄色": "yellow",
}
#: Single-letter colour codes, only when they stand alone in brackets: "Toner [K]", "(C)".
_CODES = {"k": "black", "bk": "black", "c": "cyan", "m": "magenta", "y": "yellow"}
_CODE = re.compile(r"[\(\[]\s*(bk|k|c|m|y)\s*[\)\]]", re.IGNORECASE)
_WORDS = tuple(sorted([*COLORS, *_SYNONYMS], key=len, reverse=True))
#: One alternation, longest names first: the leftmost colour word wins, and at one position the
#: longest name ("light cyan" before "light").
_ANY = re.compile("(?<![a-z])(" + "|".join(re.escape(w) for w in _WORDS) + ")(?![a-z])")


@functools.lru_cache(maxsize=4096)
def colorant_color(name: str | None) -> str | None:
    """prtMarkerColorantValue (e.g. ``black``, ``Cyan``, ``light-magenta``) → canonical name."""
    if not name:
        return None
    text = name.strip().lower().replace("-", " ").replace("_", " ")
    if text in ("", "unknown", "none", "other", "n/a"):
        return None
    return description_color(text) or None


@functools.lru_cache(maxsize=4096)
def description_color(description: str | None) -> str | None:
    """The first colour word in a description (longest name at a position); None if none."""
    if not description:
        return None
    text = description.lower()
    found = _ANY.search(text)
    if found:
        return _SYNONYMS.get(found.group(1), found.group(1))
    code = _CODE.search(text)
    return _CODES[code.group(1).lower()] if code else None
