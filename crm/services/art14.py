"""Art. 14 notices owed to people from purchased lists (DESIGN §2, §5, §8, §9.4).

Whoever's details came from a purchased list is told within a month of the list's
receipt. Each provenance row of such a list owes the notice until `art14_notified_at`
is set; Marketing records here that it was sent, for a whole list or for one person.
Anonymised contacts are left as they are: they are owed nothing any more.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from flask_babel import format_date
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from crm.models import Contact, Provenance, Source, SourceKind
from crm.services.audit import record_event
from crm.services.requests import add_months


class NoticeRefused(ValueError):
    """The date given for the notices cannot be recorded; the message says why."""


@dataclass(frozen=True)
class ListNotices:
    """Where a purchased list's Art. 14 notices stand: counts and dates, no people."""

    source_id: int
    name: str
    received_on: date | None
    #: The day the notices owed are due (the first of them); with none owed, a month
    #: after the list was received.
    due_on: date | None
    owed: int
    sent: int
    #: Days past `due_on` while notices are owed; 0 when none is late.
    overdue_days: int


def _owed():
    """The conditions of a provenance row whose notice is still owed (a live contact)."""
    return sa.and_(Provenance.art14_notified_at.is_(None),
                   Provenance.art14_due_on.is_not(None),
                   Contact.anonymised_at.is_(None))


def _overdue_days(due_on: date | None, owed: int, today: date) -> int:
    return (today - due_on).days if owed and due_on is not None and due_on < today else 0


def list_notices(session: Session, source: Source, today: date) -> ListNotices:
    """Return how many of `source`'s people are owed the notice, how many were told."""
    owed, first_due = session.execute(
        sa.select(sa.func.count(), sa.func.min(Provenance.art14_due_on))
        .join(Contact, Contact.id == Provenance.contact_id)
        .where(Provenance.source_id == source.id, _owed())).one()
    sent = session.scalar(sa.select(sa.func.count()).select_from(Provenance).where(
        Provenance.source_id == source.id, Provenance.art14_notified_at.is_not(None)))
    due_on = first_due or (add_months(source.received_on, 1) if source.received_on else None)
    return ListNotices(source.id, source.name, source.received_on, due_on, owed, sent or 0,
                       _overdue_days(due_on, owed, today))


def lists_owing(session: Session, today: date, limit: int = 8) -> tuple[list[ListNotices], int]:
    """Return the purchased lists whose people are owed notices, the earliest due first
    (at most `limit`), and how many lists owe them in all."""
    owing = (sa.select(Provenance.source_id, sa.func.count().label("owed"),
                       sa.func.min(Provenance.art14_due_on).label("due_on"))
             .join(Contact, Contact.id == Provenance.contact_id)
             .where(_owed()).group_by(Provenance.source_id).subquery())
    rows = session.execute(
        sa.select(Source.id, Source.name, Source.received_on, owing.c.due_on, owing.c.owed)
        .join(owing, owing.c.source_id == Source.id)
        .where(Source.kind == SourceKind.purchased_list)
        .order_by(owing.c.due_on, Source.id).limit(limit)).all()
    total = session.scalar(
        sa.select(sa.func.count()).select_from(owing).join(Source, Source.id == owing.c.source_id)
        .where(Source.kind == SourceKind.purchased_list))
    return [ListNotices(i, name, received, due, owed, 0, _overdue_days(due, owed, today))
            for i, name, received, due, owed in rows], total or 0


def owed_among(session: Session, provenance_ids: list[int]) -> dict[int, date | None]:
    """Return, of the provenance rows `provenance_ids`, those of purchased lists whose
    person is still owed the notice: row id -> the day its list was received."""
    if not provenance_ids:
        return {}
    return dict(session.execute(
        sa.select(Provenance.id, Source.received_on)
        .join(Source, Source.id == Provenance.source_id)
        .join(Contact, Contact.id == Provenance.contact_id)
        .where(Provenance.id.in_(provenance_ids),
               Source.kind == SourceKind.purchased_list, _owed())).all())


def check_sent_on(source: Source, sent_on: date | None, today: date) -> None:
    """Refuse a day the notices cannot have been sent on: none, a day to come, or a day
    before the list was received."""
    if sent_on is None:
        raise NoticeRefused(_("Enter the date the notice was sent."))
    if sent_on > today:
        raise NoticeRefused(_("The date the notice was sent cannot be in the future."))
    if source.received_on is not None and sent_on < source.received_on:
        raise NoticeRefused(_("The notice cannot have been sent before the list was "
                              "received (%(date)s).",
                              date=format_date(source.received_on, "short")))


def _sent_at(sent_on: date) -> datetime:
    """The day sent as a time: noon on the register's clock, so that it reads as that
    day in the register's time zone (CRM_TIMEZONE) and in UTC alike."""
    zone = ZoneInfo(current_app.config["CRM_TIMEZONE"])
    return datetime.combine(sent_on, time(12), tzinfo=zone)


def mark_list_notified(session: Session, source: Source, sent_on: date | None,
                       today: date) -> int:
    """Record the notice as sent on `sent_on` to every person of `source` still owed it
    (live contacts only); a date already recorded stays. Audited when any was recorded;
    committed.

    :return: how many people were recorded as told now.
    """
    if source.kind is not SourceKind.purchased_list:
        raise NoticeRefused(_("Only a purchased list's people are owed an Art. 14 notice."))
    check_sent_on(source, sent_on, today)
    owed = sa.select(Provenance.id).join(Contact, Contact.id == Provenance.contact_id).where(
        Provenance.source_id == source.id, _owed())
    count = session.execute(
        sa.update(Provenance).where(Provenance.id.in_(owed))
        .values(art14_notified_at=_sent_at(sent_on))
        .execution_options(synchronize_session=False)).rowcount
    if count:
        record_event("art14_notice", source, fields=["art14_notified_at"],
                     detail=f"art14 {count} sent {sent_on.isoformat()}", session=session)
    else:
        session.commit()
    session.expire_all()
    return count


def mark_contact_notified(session: Session, provenance: Provenance, sent_on: date | None,
                          today: date) -> int:
    """Record the notice as sent on `sent_on` to the person of one provenance row, if
    still owed (a live contact); a date already recorded stays. Audited and committed
    when recorded.

    :return: 1 when recorded now, 0 when it was recorded before or is owed no more.
    """
    source = provenance.source
    if source.kind is not SourceKind.purchased_list:
        raise NoticeRefused(_("Only a purchased list's people are owed an Art. 14 notice."))
    check_sent_on(source, sent_on, today)
    if (provenance.art14_notified_at is None and provenance.art14_due_on is not None
            and provenance.contact.anonymised_at is None):
        provenance.art14_notified_at = _sent_at(sent_on)
        record_event("art14_notice", provenance, fields=["art14_notified_at"],
                     detail=f"art14 1 sent {sent_on.isoformat()}", session=session)
        return 1
    return 0


def notices_due(received_on: date, today: date) -> tuple[date, int]:
    """Return the day the notices of a list received on `received_on` are due, and how
    many days late they are already (0: not yet)."""
    due_on = add_months(received_on, 1)
    return due_on, max((today - due_on).days, 0)
