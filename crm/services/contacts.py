"""Operations on contacts that the screens and the imports share."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm.models import Activity, Contact, Source, SourceKind
from crm.models.base import utcnow

OWN_ACTIVITY = "Own activity"
THE_PERSON = "The person"


def standard_source(session: Session, kind: SourceKind, name: str) -> Source:
    """Return the one `Source` row for a standing source, creating it on first use."""
    source = session.scalar(select(Source).where(Source.kind == kind, Source.name == name))
    if source is None:
        source = Source(kind=kind, name=name)
        session.add(source)
        session.flush()
    return source


def own_activity_source(session: Session) -> Source:
    return standard_source(session, SourceKind.own_activity, OWN_ACTIVITY)


def the_person_source(session: Session) -> Source:
    return standard_source(session, SourceKind.the_person, THE_PERSON)


def touch_contact(activity: Activity) -> None:
    """Move the contact's last-activity clock (which retention counts from) forward."""
    contact: Contact | None = activity.contact
    when = activity.occurred_at or utcnow()
    if contact is not None and (contact.last_activity_at is None
                                or contact.last_activity_at < when):
        contact.last_activity_at = when
