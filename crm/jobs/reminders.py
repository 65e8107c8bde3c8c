"""Reminders: data subject requests due soon or overdue, Art. 14 notices owed.

Each becomes a `Notification` (shown on the jobs screen) and, when `CRM_SMTP_URL` is
set, one mail to the users of the role that must act. A notification is raised once
and resolved when its cause is gone; running a job twice raises and mails nothing new.
Notifications and mails carry ids, dates, counts and the names of purchased lists,
never personal data.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, timedelta

import sqlalchemy as sa
from flask_appbuilder.security.sqla.models import Role, User, assoc_user_role
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from crm.jobs.context import JobContext
from crm.jobs.mail import send_mail
from crm.models import (
    Contact,
    DataSubjectRequest,
    Provenance,
    RequestStatus,
    Source,
    SourceKind,
)
from crm.models.privacy import Notification, NotificationKind

log = logging.getLogger(__name__)

#: Who must act on each kind: CRM role names.
AUDIENCES = {
    NotificationKind.request_due: ("Privacy",),
    NotificationKind.request_overdue: ("Privacy",),
    NotificationKind.art14_owed: ("Marketing", "Privacy"),
}
REQUEST_KINDS = (NotificationKind.request_due, NotificationKind.request_overdue)

Key = tuple[NotificationKind, str, str]


def request_reminders(ctx: JobContext) -> None:
    """Raise a reminder for each open request due within the reminder days or overdue."""
    today = ctx.today()
    soon = today + timedelta(days=ctx.config["CRM_REQUEST_REMINDER_DAYS"])
    due = sa.func.coalesce(DataSubjectRequest.extended_due_on, DataSubjectRequest.due_on)
    with Session(ctx.engine) as session:
        rows = session.execute(sa.select(DataSubjectRequest.id, due).where(
            DataSubjectRequest.status.not_in([RequestStatus.completed,
                                              RequestStatus.rejected]),
            due <= soon)).all()
        wanted: dict[Key, tuple[date, int | None]] = {}
        for request_id, due_on in rows:
            kind = NotificationKind.request_overdue if due_on < today \
                else NotificationKind.request_due
            wanted[(kind, "DataSubjectRequest", str(request_id))] = (due_on, None)
        ctx.counts["due_soon"] = sum(k[0] is NotificationKind.request_due for k in wanted)
        ctx.counts["overdue"] = sum(k[0] is NotificationKind.request_overdue for k in wanted)
        _synchronise(ctx, session, REQUEST_KINDS, wanted)


def art14_notices(ctx: JobContext) -> None:
    """Flag, per purchased list, the people owed an Art. 14 notice soon or already."""
    today = ctx.today()
    soon = today + timedelta(days=ctx.config["CRM_ART14_REMINDER_DAYS"])
    with Session(ctx.engine) as session:
        rows = session.execute(
            sa.select(Provenance.source_id, sa.func.count(), sa.func.min(Provenance.art14_due_on),
                      sa.func.sum(sa.case((Provenance.art14_due_on < today, 1), else_=0)))
            .join(Source, Source.id == Provenance.source_id)
            .join(Contact, Contact.id == Provenance.contact_id)
            .where(Source.kind == SourceKind.purchased_list,
                   Provenance.art14_notified_at.is_(None),
                   Provenance.art14_due_on.is_not(None),
                   Provenance.art14_due_on <= soon,
                   Contact.anonymised_at.is_(None))
            .group_by(Provenance.source_id)).all()
        wanted = {(NotificationKind.art14_owed, "Source", str(source_id)): (first_due, owed)
                  for source_id, owed, first_due, _overdue in rows}
        ctx.counts["owed"] = sum(row[1] for row in rows)
        ctx.counts["overdue"] = sum(int(row[3] or 0) for row in rows)
        ctx.counts["lists"] = len(rows)
        _synchronise(ctx, session, (NotificationKind.art14_owed,), wanted)


def _synchronise(ctx: JobContext, session: Session, kinds: tuple[NotificationKind, ...],
                 wanted: dict[Key, tuple[date, int | None]]) -> None:
    """Make the open notifications of `kinds` exactly `wanted`; mail the new ones."""
    existing = {(n.kind, n.object_type, n.object_id): n for n in session.scalars(
        sa.select(Notification).where(Notification.kind.in_(kinds)))}
    raised = resolved = 0
    for key, (due_on, count) in wanted.items():
        notification = existing.get(key)
        if notification is None:
            session.add(Notification(kind=key[0], audience=",".join(AUDIENCES[key[0]]),
                                     object_type=key[1], object_id=key[2], due_on=due_on,
                                     count=count, created_at=ctx.now))
            raised += 1
        elif notification.resolved_at is not None or notification.due_on != due_on:
            # Back again, or its date moved: say so again.
            notification.resolved_at = notification.emailed_at = None
            notification.due_on, notification.count = due_on, count
            raised += 1
        else:
            notification.count = count
    for key, notification in existing.items():
        if key not in wanted and notification.resolved_at is None:
            notification.resolved_at = ctx.now
            resolved += 1
    ctx.counts["raised"], ctx.counts["resolved"] = raised, resolved
    if ctx.dry_run:
        session.rollback()
        return
    session.flush()
    ctx.counts["emailed"] = _mail_new(ctx, session, kinds)
    session.commit()


def _mail_new(ctx: JobContext, session: Session, kinds: tuple[NotificationKind, ...]) -> int:
    """Mail the notifications not mailed yet to their audiences; return how many went."""
    url = ctx.config.get("CRM_SMTP_URL")
    if not url:
        return 0
    pending = session.scalars(sa.select(Notification).where(
        Notification.kind.in_(kinds), Notification.resolved_at.is_(None),
        Notification.emailed_at.is_(None)).order_by(Notification.due_on)).all()
    if not pending:
        return 0
    roles = sorted({role for n in pending for role in n.audience.split(",")})
    recipients = sorted(set(session.scalars(
        sa.select(User.email).join(assoc_user_role, assoc_user_role.c.user_id == User.id)
        .join(Role, Role.id == assoc_user_role.c.role_id)
        .where(Role.name.in_(roles), User.active.is_(True), User.email.is_not(None)))))
    if not recipients:
        log.warning("no active users in roles %s to mail %d notifications to",
                    roles, len(pending))
        return 0
    base = ctx.config["CRM_BASE_URL"]
    names = list_names(session, pending)
    with force_locale(ctx.config.get("BABEL_DEFAULT_LOCALE", "fi")):
        lines = [describe(n, base, list_name=names.get(n.object_id)) for n in pending]
        subject = _("Contact register: %(count)d reminders", count=len(pending))
        body = "\n\n".join(lines) + "\n"
    send_mail(url, ctx.config["CRM_MAIL_FROM"], recipients, subject, body)
    for notification in pending:
        notification.emailed_at = ctx.now
    return len(pending)


def list_names(session: Session, notifications) -> dict[str, str]:
    """Return the names of the purchased lists `notifications` are about, by object id."""
    ids = [int(n.object_id) for n in notifications if n.object_type == "Source"]
    if not ids:
        return {}
    return {str(i): name for i, name in session.execute(
        sa.select(Source.id, Source.name).where(Source.id.in_(ids)))}


def describe(notification: Notification, base_url: str = "",
             show_date: Callable[[date], str] = date.isoformat,
             list_name: str | None = None) -> str:
    """Return one line about `notification` (names of lists, ids, dates, counts) and a
    link to act on it.

    :param show_date: how the due date is written: ISO in the mails, as the reader
        writes dates on the screen.
    :param list_name: the name of the purchased list an Art. 14 reminder is about (a
        list's name, not personal data); without it, the list's number.
    """
    due = show_date(notification.due_on) if notification.due_on else "—"
    if notification.kind is NotificationKind.art14_owed:
        text = _("%(count)d people from the purchased list %(name)s are owed an Art. 14 "
                 "notice; the first by %(date)s", count=notification.count or 0,
                 name=f"“{list_name}”" if list_name else f"#{notification.object_id}",
                 date=due)
        path = f"/sourceview/show/{notification.object_id}"
    elif notification.kind is NotificationKind.request_overdue:
        text = _("Data subject request #%(id)s is overdue: it was due on %(date)s",
                 id=notification.object_id, date=due)
        path = f"/datasubjectrequestview/show/{notification.object_id}"
    else:
        text = _("Data subject request #%(id)s is due on %(date)s",
                 id=notification.object_id, date=due)
        path = f"/datasubjectrequestview/show/{notification.object_id}"
    return f"{text}\n{base_url}{path}" if base_url else text
