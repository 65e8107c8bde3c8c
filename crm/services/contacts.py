"""Operations on contacts that the screens and the imports share."""

from __future__ import annotations

import string
from contextlib import nullcontext
from datetime import timedelta

from flask import current_app
from flask_babel import force_locale
from sqlalchemy import func, select
from sqlalchemy.orm import Session, object_session

from crm.models import Activity, Consent, Contact, Purpose, Source, SourceKind
from crm.models.base import utcnow


def standard_source(session: Session, kind: SourceKind) -> Source:
    """Return the `Source` row of a standing source (our own activity, the person),
    creating it on first use, named in the register's language (BABEL_DEFAULT_LOCALE)
    like the other reference data; the name is then data, which Privacy may edit."""
    source = session.scalar(select(Source).where(Source.kind == kind)
                            .order_by(Source.id).limit(1))
    if source is None:
        with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
            source = Source(kind=kind, name=str(kind.label))
        session.add(source)
        session.flush()
    return source


def own_activity_source(session: Session) -> Source:
    return standard_source(session, SourceKind.own_activity)


def the_person_source(session: Session) -> Source:
    return standard_source(session, SourceKind.the_person)


def touch_contact(activity: Activity) -> None:
    """Move the contact's last-activity clock (which retention counts from) forward,
    never past now: an activity dated later today counts from now."""
    contact: Contact | None = activity.contact
    now = utcnow()
    when = min(activity.occurred_at or now, now)
    if contact is not None and (contact.last_activity_at is None
                                or contact.last_activity_at < when):
        contact.last_activity_at = when


_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def keep_for_consented_purpose(contact: Contact, purpose: Purpose | None) -> bool:
    """Add the purpose a consent is given for to the contact's purposes, if missing.

    A consent is a reason to keep the person for its purpose: the register, the access
    export and the privacy notice's figures read what a person is kept for from their
    purposes, and would otherwise leave out the very one they consented to. The change
    goes into the contact's change history with the consent's transaction.

    :return: whether the purpose was added.
    """
    if purpose is None or contact is None:
        return False
    session = object_session(contact)
    # Reading the purposes must not flush a consent still being put together.
    with session.no_autoflush if session is not None else nullcontext():
        if purpose in contact.purposes:
            return False
        contact.purposes.append(purpose)
    return True


def contact_with_email(session: Session, email: str, *,
                       other_than: int | None = None) -> Contact | None:
    """Return the live contact having `email` as its email or other email, in any
    letter case (the first added, if several); None if nobody has it.

    Each address is one look-up of its lower() index: on PostgreSQL the email's
    pattern index (crm.models.indexes), which answers equality too, and the other
    email's index of the contacts that have one (crm.models.subject). SQLite's
    lower() knows ASCII only, so there the address is lowered as it does.

    :param other_than: the id of a contact not to count (the one being edited).
    """
    postgres = session.get_bind().dialect.name == "postgresql"
    key = email.strip().lower() if postgres else email.strip().translate(_ASCII_LOWER)
    found = []
    for column in (Contact.email, Contact.alt_email):
        query = select(func.min(Contact.id)).where(
            column.is_not(None), func.lower(column) == key, Contact.anonymised_at.is_(None))
        if other_than is not None:
            query = query.where(Contact.id != other_than)
        found.append(session.scalar(query))
    ids = [i for i in found if i is not None]
    return session.get(Contact, min(ids)) if ids else None


def has_valid_consent(session: Session, contact_id: int, *, valid_days: int) -> bool:
    """Return whether the contact has a consent on record that is neither withdrawn
    nor lapsed (given within `valid_days`, as the consent-expiry job counts it)."""
    since = utcnow() - timedelta(days=valid_days)
    return session.scalar(select(Consent.id).where(
        Consent.contact_id == contact_id, Consent.withdrawn_at.is_(None),
        Consent.given_at >= since).limit(1)) is not None
