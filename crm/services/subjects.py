"""Finding a person everywhere in the register (DESIGN §9.1), saying why each match matched.

A request names the person by email, phone, name or an identifier in one of the
company's systems; any of them may be typed. Emails, names and identifiers match
exactly but in any letter case; phones match in E.164 form, however they were
written. Anonymised contacts are no one any more and never match.

Someone may be known only from a callback request kept apart from the register (it
has no contact: the demo's, one taken by phone, one whose contact was deleted): such
requests are found too, by email, phone or name, and marked as callback requests. A
callback request linked to a contact goes with the contact and is not listed apart.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from crm.models import CallbackRequest, Contact, Identifier, Organisation
from crm.services.validation import InvalidValue, normalise_phone


@dataclass
class Match:
    #: The contact matched; None for a callback request of someone not in the register.
    contact_id: int | None
    display: str
    #: Why it matched: "email", "phone", "name" or "identifier:<system>".
    reasons: list[str] = field(default_factory=list)
    #: The callback request matched, when the match is one.
    callback_id: int | None = None

    @property
    def key(self) -> tuple[str, int]:
        """What the match is, whatever it matched by: ("contact", id) or ("callback", id)."""
        if self.callback_id is not None:
            return "callback", self.callback_id
        return "contact", self.contact_id


def lower(session: Session, column: sa.ColumnElement) -> sa.ColumnElement:
    """Return `lower(column)`, lower-casing beyond ASCII on SQLite too (Ä, Ö, Å)."""
    if session.get_bind().dialect.name == "postgresql":
        return sa.func.lower(column)
    raw = session.connection().connection.driver_connection
    raw.create_function("crm_lower", 1, lambda v: None if v is None else v.lower(),
                        deterministic=True)
    return sa.func.crm_lower(column)


def find_subject(session: Session, text: str) -> list[Match]:
    """Return the contacts `text` names, by email, phone, name or identifier, and the
    callback requests without a contact it names, by email, phone or name; best first."""
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
    names = _name_orders(text)
    if names:
        first_name, last_name = lower(session, Contact.first_name), \
            lower(session, Contact.last_name)
        add(session.scalars(sa.select(Contact.id).where(live, sa.or_(*(
            (first_name == f) & (last_name == s) for f, s in names)))), "name")
    for contact_id, system in session.execute(
            sa.select(Identifier.contact_id, Identifier.system)
            .join(Contact, Contact.id == Identifier.contact_id)
            .where(live, lower(session, Identifier.identifier) == text.lower())):
        add([contact_id], f"identifier:{system}")
    matches = []
    if found:
        rows = session.execute(
            sa.select(Contact.id, Contact.first_name, Contact.last_name, Organisation.name)
            .outerjoin(Organisation, Organisation.id == Contact.organisation_id)
            .where(Contact.id.in_(found))).all()
        matches = [Match(cid, _display(f"{first} {last}", org), found[cid])
                   for cid, first, last, org in rows]
    matches += _find_callbacks(session, text, phone, names)
    matches.sort(key=lambda m: (-len(m.reasons), m.display.lower(), m.key))
    return matches


def _name_orders(text: str) -> list[tuple[str, str]]:
    """Return the (first, last) names a name of two words or more may be, lower case.

    "First Last" or "Last First"; a double first or last name takes the other words.
    """
    words = text.lower().split(" ")
    if len(words) < 2 or "@" in text:
        return []
    names = []
    for cut in range(1, len(words)):
        first, last = " ".join(words[:cut]), " ".join(words[cut:])
        names += [(first, last), (last, first)]
    return names


def _display(name: str, organisation: str | None) -> str:
    return name + (f", {organisation}" if organisation else "")


def _find_callbacks(session: Session, text: str, phone: str | None,
                    names: list[tuple[str, str]]) -> list[Match]:
    """Return the callback requests without a contact that `text` names (email, phone or
    name, its words in either order), but those erased already."""
    callback = CallbackRequest
    tests = []
    if "@" in text:
        tests.append((lower(session, callback.email) == text.lower(), "email"))
    if phone:
        tests.append((callback.phone == phone, "phone"))
    if names:
        tests.append((lower(session, callback.name).in_({f"{f} {s}" for f, s in names}),
                      "name"))
    if not tests:
        return []
    rows = session.execute(
        sa.select(callback.id, callback.name, callback.organisation_name,
                  *(test.label(f"by_{reason}") for test, reason in tests))
        .where(callback.contact_id.is_(None), callback.name != "",
               sa.or_(*(test for test, _reason in tests)))).all()
    return [Match(None, _display(row.name, row.organisation_name),
                  [reason for _test, reason in tests if row._mapping[f"by_{reason}"]],
                  callback_id=row.id) for row in rows]


def same_callbacks(session: Session, callback: CallbackRequest) -> list[CallbackRequest]:
    """Return `callback` and the other callback requests without a contact left with its
    email, or with its phone under its name: the same person asking twice.

    An access export shows, and an erasure empties, them all.
    """
    same = []
    if callback.email:
        same.append(lower(session, CallbackRequest.email) == callback.email.lower())
    if callback.phone:
        same.append((CallbackRequest.phone == callback.phone)
                    & (lower(session, CallbackRequest.name) == callback.name.lower()))
    others = list(session.scalars(sa.select(CallbackRequest).where(
        CallbackRequest.id != callback.id, CallbackRequest.contact_id.is_(None),
        sa.or_(*same)).order_by(CallbackRequest.id))) if same else []
    return [callback, *others]


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
