"""The suppression list: keyed hashes of erased or opted-out emails and phones."""

from __future__ import annotations

import hashlib
import hmac

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from crm.models import SuppressionEntry


def suppression_hash(kind: str, value: str, key: str | None = None) -> str:
    """Return the keyed hash of a normalised email (lower-cased) or E.164 phone."""
    key = key or current_app.config["CRM_SUPPRESSION_KEY"]
    normalised = value.strip().lower() if kind == "email" else value.strip()
    return hmac.new(key.encode(), f"{kind}:{normalised}".encode(), hashlib.sha256).hexdigest()


def suppress(session: Session, kind: str, value: str, reason: str) -> None:
    """Add `value` to the suppression list unless it is there already."""
    digest = suppression_hash(kind, value)
    if session.scalar(select(SuppressionEntry.id).where(SuppressionEntry.key_hash == digest)):
        return
    session.add(SuppressionEntry(kind=kind, key_hash=digest, reason=reason))


def is_suppressed(session: Session, kind: str, value: str) -> bool:
    digest = suppression_hash(kind, value)
    return session.scalar(
        select(SuppressionEntry.id).where(SuppressionEntry.key_hash == digest)) is not None
