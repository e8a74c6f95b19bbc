"""Where each key of a TOML text sits: ``("networks", 1, "cidr") -> 14``.

``tomllib`` gives values but no positions, so this is a small pass over the text that follows
table headers (``[a.b]``, ``[[a]]`` with a count per array of tables) and ``key = value`` lines
(dotted and quoted keys included), skipping multi-line strings and arrays so that nothing inside
a value is taken for a key. It only ever runs on text that ``tomllib`` has already accepted.
"""

from __future__ import annotations

import re

Path = tuple[str | int, ...]

_BARE = r"[A-Za-z0-9_-]+"
_QUOTED = r'"(?:[^"\\]|\\.)*"' + r"|'[^']*'"
_KEY = rf"(?:{_BARE}|{_QUOTED})"
_DOTTED = rf"{_KEY}(?:\s*\.\s*{_KEY})*"
_HEADER = re.compile(rf"^\s*(\[\[?)\s*({_DOTTED})\s*\]\]?")
_ASSIGN = re.compile(rf"^\s*({_DOTTED})\s*=")
_PART = re.compile(_KEY)


def _parts(dotted: str) -> list[str]:
    out = []
    for m in _PART.finditer(dotted):
        text = m.group(0)
        out.append(text[1:-1] if text[0] in "\"'" else text)
    return out


def _open_brackets(value: str) -> int:
    """Net ``[`` minus ``]`` outside strings and comments on one line of a value."""
    depth = 0
    quote = ""
    i = 0
    while i < len(value):
        c = value[i]
        if quote:
            if c == "\\" and quote == '"':
                i += 1
            elif c == quote:
                quote = ""
        elif c in "\"'":
            quote = c
        elif c == "#":
            break
        elif c in "[{":
            depth += 1
        elif c in "]}":
            depth -= 1
        i += 1
    return depth


def _table_of(header: re.Match[str], counts: dict[Path, int]) -> Path:
    """The path of a ``[table]`` header, or of the next entry of an ``[[array]]`` (``counts``
    keeps each array's entries so far)."""
    names = tuple(_parts(header.group(2)))
    if header.group(1) != "[[":
        return names
    index = counts.get(names, 0)
    counts[names] = index + 1
    return (*names, index)


def key_lines(text: str) -> dict[Path, int]:
    """Maps every table and key path to its 1-based line; arrays of tables get their index."""
    lines: dict[Path, int] = {}
    table: Path = ()
    counts: dict[Path, int] = {}
    depth = 0
    in_string = ""
    for number, line in enumerate(text.splitlines(), start=1):
        if in_string:
            if in_string in line:
                in_string = ""
            continue
        if depth > 0:
            depth += _open_brackets(line)
            continue
        header = _HEADER.match(line)
        if header:
            table = _table_of(header, counts)
            lines.setdefault(table, number)
            continue
        assign = _ASSIGN.match(line)
        if not assign:
            continue
        path = (*table, *_parts(assign.group(1)))
        lines.setdefault(path, number)
        rest = line[assign.end() :].strip()
        for triple in ('"""', "'''"):
            if rest.startswith(triple) and rest.count(triple) == 1:
                in_string = triple
        if not in_string:
            depth = max(0, _open_brackets(rest))
    return lines


def line_of(lines: dict[Path, int], path: Path) -> int | None:
    """The line of ``path``, else of its nearest enclosing table or key that has one."""
    for end in range(len(path), 0, -1):
        found = lines.get(path[:end])
        if found is not None:
            return found
    return None


def dotted(path: Path) -> str:
    """``("networks", 1, "cidr")`` -> ``networks[1].cidr``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out
