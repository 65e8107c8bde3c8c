"""Erasure at processors (DESIGN §9.3): each processor that holds copies registers a hook.

An erasure request anonymises the person in the CRM and then asks every
registered processor to delete them too (Mailchimp deletes the member
permanently). Hooks get only what they need to find the person there.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ErasureSubject:
    """What a processor may need to find the person: taken before anonymising."""

    contact_id: int
    emails: tuple[str, ...]
    phones: tuple[str, ...]


@dataclass(frozen=True)
class ErasureResult:
    processor: str
    ok: bool
    detail: str  # no personal data: a status code or a count


#: The detail of a hook's ok answer when the processor is not in use (not configured):
#: nothing was ever sent there, so nothing was deleted either.
NOTHING_SENT = "not configured; nothing was sent there"

ErasureHook = Callable[[Flask, ErasureSubject], ErasureResult]
_HOOKS: dict[str, ErasureHook] = {}
#: Processor key -> its name as people know it (the recipient's name: "Mailchimp").
_TITLES: dict[str, str] = {}


def register_erasure_hook(name: str, hook: ErasureHook, title: str | None = None) -> None:
    """Register (or replace) the erasure hook of the processor called `name`; `title` is
    how the request's outcome names it (the key itself by default)."""
    _HOOKS[name] = hook
    _TITLES[name] = title or name


def processor_title(name: str) -> str:
    return _TITLES.get(name, name)


def erase_at_processors(app: Flask, subject: ErasureSubject) -> list[ErasureResult]:
    """Run every registered hook; a failing hook is reported, never raised."""
    results = []
    for name, hook in sorted(_HOOKS.items()):
        try:
            results.append(hook(app, subject))
        except Exception as exc:  # a processor's outage must not undo the erasure
            log.warning("erasure at processor %s failed: %s", name, type(exc).__name__)
            results.append(ErasureResult(name, False, type(exc).__name__))
    return results
