"""The suppression list: keyed hashes of erased or opted-out emails and phones.

A hash is HMAC-SHA256 of "kind:value" (an email lower-cased, a phone in E.164),
stored as its 32 raw bytes: half the size of its hex text, which keeps the unique
index that every anonymised person and every imported line looks up small.
"""

from __future__ import annotations

import hashlib
import hmac

import sqlalchemy as sa
from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from crm.models import SuppressionEntry


def suppression_hash(kind: str, value: str, key: str | None = None) -> bytes:
    """Return the keyed hash of a normalised email (lower-cased) or E.164 phone."""
    key = key or current_app.config["CRM_SUPPRESSION_KEY"]
    normalised = value.strip().lower() if kind == "email" else value.strip()
    return hmac.new(key.encode(), f"{kind}:{normalised}".encode(), hashlib.sha256).digest()


def suppression_hash_sql(kind: str, normalised: sa.ColumnElement, key: str) -> sa.ColumnElement:
    """Return PostgreSQL SQL for `suppression_hash(kind, value)` of an already
    normalised value (see `suppression_hash`): a batch hashes its rows in the database
    instead of fetching their addresses to hash them in Python.

    HMAC-SHA256 from PostgreSQL's sha256(): H(K ^ opad || H(K ^ ipad || message)).
    """
    inner_pad, outer_pad = hmac_pads(key)
    message = sa.func.convert_to(sa.literal(f"{kind}:") + normalised, "UTF8")
    inner = sa.func.sha256(sa.literal(inner_pad, sa.LargeBinary)
                           .op("||", return_type=sa.LargeBinary)(message))
    return sa.func.sha256(sa.literal(outer_pad, sa.LargeBinary)
                          .op("||", return_type=sa.LargeBinary)(inner), type_=sa.LargeBinary)


def hmac_pads(key: str) -> tuple[bytes, bytes]:
    """Return HMAC-SHA256's inner and outer padded keys for `key` (RFC 2104)."""
    raw = key.encode()
    if len(raw) > 64:
        raw = hashlib.sha256(raw).digest()
    raw = raw.ljust(64, b"\0")
    return bytes(b ^ 0x36 for b in raw), bytes(b ^ 0x5C for b in raw)


def suppress(session: Session, kind: str, value: str, reason: str) -> None:
    """Add `value` to the suppression list unless it is there already."""
    digest = suppression_hash(kind, value)
    if session.scalar(select(SuppressionEntry.id).where(SuppressionEntry.key_hash == digest)):
        return
    session.add(SuppressionEntry(kind=kind, key_hash=digest, reason=reason))


def lift(session: Session, kind: str, value: str) -> bool:
    """Take `value` off the suppression list (the person gave it to us again themselves);
    return whether it was on it."""
    digest = suppression_hash(kind, value)
    deleted = session.execute(sa.delete(SuppressionEntry)
                              .where(SuppressionEntry.key_hash == digest)).rowcount
    return deleted > 0


def is_suppressed(session: Session, kind: str, value: str) -> bool:
    digest = suppression_hash(kind, value)
    return session.scalar(
        select(SuppressionEntry.id).where(SuppressionEntry.key_hash == digest)) is not None
