"""Operations on contacts that the screens and the imports share."""

from __future__ import annotations

from flask import current_app
from flask_babel import force_locale
from sqlalchemy import select
from sqlalchemy.orm import Session

from crm.models import Activity, Contact, Source, SourceKind
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
    """Move the contact's last-activity clock (which retention counts from) forward."""
    contact: Contact | None = activity.contact
    when = activity.occurred_at or utcnow()
    if contact is not None and (contact.last_activity_at is None
                                or contact.last_activity_at < when):
        contact.last_activity_at = when
