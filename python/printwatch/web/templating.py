"""The web layer's HTML: Jinja2 templates through Starlette's templating, escaped by default, and
one layout (``templates/layout.html``) that the dashboard's pages extend and the collector's
console can share.

:func:`templates` makes a :class:`~starlette.templating.Jinja2Templates` whose loader looks in a
package's own folder first, then here (for ``layout.html``). Autoescape is on for every template:
a value goes into the page as text unless it is :class:`~markupsafe.Markup` (the SVG that
``dashboard/charts.py`` builds, escaping its own labels). Undefined names are errors, so a
template that misspells a value fails its test instead of printing nothing; None prints as
nothing.

The layout takes ``title``, ``csrf`` (the session's token: its ``<meta>`` for the script and the
logout form; none on a page without a session), ``active`` (the current section's ``href``),
and the environment's globals ``brand``, ``nav`` (``(href, label)`` pairs), ``static`` (where
``app.css`` and ``app.js`` are) and ``logout`` (the logout form's action). A page without a
session sets ``inline_css`` (the stylesheet, as Markup) instead of linking it, and loads no
script. The page's body is the ``content`` block.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup
from starlette.templating import Jinja2Templates

#: The shared templates (``layout.html``), shipped in the package beside this module.
SHARED = Path(__file__).resolve().parent / "templates"
#: The shared stylesheet and script (``app.css``, ``app.js``), served at ``/static`` by the
#: dashboard and the collector's console alike.
STATIC = Path(__file__).resolve().parent / "static"


@functools.cache
def stylesheet() -> Markup:
    """``static/app.css``, for a login page, which has no session to fetch it with."""
    return Markup((STATIC / "app.css").read_text(encoding="utf-8"))


def _blank_none(value: object) -> object:
    """None prints as nothing (an unknown serial is an empty cell, not "None")."""
    return "" if value is None else value


def templates(
    directory: Path, *, filters: dict[str, Callable[..., Any]], **globals_: object
) -> Jinja2Templates:
    """Templates from ``directory`` (then :data:`SHARED`), with ``filters`` and ``globals_``."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([directory, SHARED]),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=_blank_none,
    )
    env.filters.update(filters)
    env.globals.update(globals_)
    return Jinja2Templates(env=env)
