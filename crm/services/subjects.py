"""Finding a person everywhere in the register (DESIGN §9.1), saying why each match matched.

A request names the person by email, phone, name or an identifier in one of the
company's systems; any of them may be typed. Emails, names and identifiers match
exactly but in any letter case; phones match in E.164 form, however they were
written. Anonymised contacts are no one any more and never match.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from crm.models import Contact, Identifier, Organisation
from crm.services.validation import InvalidValue, normalise_phone


@dataclass
class Match:
    contact_id: int
    display: str
    #: Why it matched: "email", "phone", "name" or "identifier:<system>".
    reasons: list[str] = field(default_factory=list)


def lower(session: Session, column: sa.ColumnElement) -> sa.ColumnElement:
    """Return `lower(column)`, lower-casing beyond ASCII on SQLite too (Ä, Ö, Å)."""
    if session.get_bind().dialect.name == "postgresql":
        return sa.func.lower(column)
    raw = session.connection().connection.driver_connection
    raw.create_function("crm_lower", 1, lambda v: None if v is None else v.lower(),
                        deterministic=True)
    return sa.func.crm_lower(column)


def find_subject(session: Session, text: str) -> list[Match]:
    """Return the contacts `text` names, by email, phone, name or identifier, best first."""
    text = " ".join((text or "").split())
    if not text:
        return []
    found: dict[int, list[str]] = {}

    def add(ids: Iterable[int], reason: str) -> None:
        for contact_id in ids:
            reasons = found.setdefault(contact_id, [])
            if reason not in reasons:
                reasons.append(reason)

    live = Contact.anonymised_at.is_(None)
    if "@" in text:
        email = text.lower()
        add(session.scalars(sa.select(Contact.id).where(
            live, sa.or_(lower(session, Contact.email) == email,
                         lower(session, Contact.alt_email) == email))), "email")
    phone = _as_phone(text)
    if phone:
        add(session.scalars(sa.select(Contact.id).where(
            live, sa.or_(Contact.phone == phone, Contact.mobile == phone))), "phone")
    words = text.lower().split(" ")
    if len(words) >= 2 and "@" not in text:
        # "First Last" or "Last First"; a double first or last name takes the other words.
        names = []
        for cut in range(1, len(words)):
            first, last = " ".join(words[:cut]), " ".join(words[cut:])
            names += [(first, last), (last, first)]
        first_name, last_name = lower(session, Contact.first_name), \
            lower(session, Contact.last_name)
        add(session.scalars(sa.select(Contact.id).where(live, sa.or_(*(
            (first_name == f) & (last_name == s) for f, s in names)))), "name")
    for contact_id, system in session.execute(
            sa.select(Identifier.contact_id, Identifier.system)
            .join(Contact, Contact.id == Identifier.contact_id)
            .where(live, lower(session, Identifier.identifier) == text.lower())):
        add([contact_id], f"identifier:{system}")
    if not found:
        return []
    rows = session.execute(
        sa.select(Contact.id, Contact.first_name, Contact.last_name, Organisation.name)
        .outerjoin(Organisation, Organisation.id == Contact.organisation_id)
        .where(Contact.id.in_(found))).all()
    matches = [Match(cid, f"{first} {last}" + (f", {org}" if org else ""), found[cid])
               for cid, first, last, org in rows]
    matches.sort(key=lambda m: (-len(m.reasons), m.display.lower(), m.contact_id))
    return matches


def find_by_email(session: Session, email: str) -> list[int]:
    """Return the ids of the live contacts having `email` (in any case) as an address."""
    email = (email or "").strip().lower()
    if not email:
        return []
    return list(session.scalars(sa.select(Contact.id).where(
        Contact.anonymised_at.is_(None),
        sa.or_(lower(session, Contact.email) == email,
               lower(session, Contact.alt_email) == email)).order_by(Contact.id)))


def same_person(session: Session, contact: Contact) -> list[Contact]:
    """Return `contact` and the other live contacts sharing one of its email addresses.

    The same person entered twice: an access export shows, and an erasure takes, them all.
    """
    emails = {e.lower() for e in (contact.email, contact.alt_email) if e}
    others = []
    if emails:
        others = list(session.scalars(sa.select(Contact).where(
            Contact.id != contact.id, Contact.anonymised_at.is_(None),
            sa.or_(lower(session, Contact.email).in_(emails),
                   lower(session, Contact.alt_email).in_(emails))).order_by(Contact.id)))
    return [contact, *others]


def _as_phone(text: str) -> str | None:
    if sum(ch.isdigit() for ch in text) < 5 or any(ch.isalpha() for ch in text):
        return None
    try:
        return normalise_phone(text)
    except InvalidValue:
        return None
