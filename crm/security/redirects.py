"""Where a `next` address may send the browser: pages of this site only (DESIGN §11).

FAB's check (`get_safe_redirect`) looks at the first character only for control
characters: a CR/LF later in `next` reached the Location header, which Werkzeug then
refused with an error page (a 500).
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from flask import request


def _has_control_character(text: str) -> bool:
    return any(ord(c) < 32 or ord(c) == 127 for c in text)


def safe_return_path(target: str | None) -> str | None:
    """Return `target` if it is a path on this site ("/contactview/list/?q=x"), else None.

    Anything a browser could read as another site is refused: absolute URLs, other
    schemes, "//host" and its backslash spellings, and control characters (a browser
    drops a tab or newline, which would turn "/\\t/host" into "//host").
    """
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or _has_control_character(target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def own_page(target: str | None) -> str | None:
    """Return `target` as a path on this site, else None (`safe_return_path`).

    An address of this site written in full is taken as its path: FAB sends whoever
    must sign in first to the sign-in page with the page asked for as
    "http://crm.example/contactview/list/".
    """
    if not target or _has_control_character(target):
        return None  # checked before urlsplit, which drops tabs and newlines
    parts = urlsplit(target)
    if parts.scheme in ("http", "https") and parts.netloc == request.host:
        target = urlunsplit(("", "", parts.path or "/", parts.query, parts.fragment))
    return safe_return_path(target)
