"""The audit trail (DESIGN §9.5): who did what to which object, never the values."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import g, has_request_context
from sqlalchemy import inspect

from crm.extensions import db
from crm.models import AuditEvent, AuditEventPerson
from crm.models.base import utcnow

log = logging.getLogger(__name__)


def _actor() -> tuple[int | None, str | None]:
    user = g.get("user") if has_request_context() else None
    if user is not None and getattr(user, "is_authenticated", False):
        return user.id, user.username
    return None, None


def record_event(
    action: str,
    obj: object | None = None,
    *,
    object_type: str | None = None,
    object_id: str | int | None = None,
    fields: list[str] | None = None,
    detail: str | None = None,
    actor: tuple[int | None, str | None] | None = None,
    session=None,
    commit: bool = True,
) -> AuditEvent:
    """Append an audit event.

    :param obj: the model instance acted on; gives the object type and id.
    :param fields: names of the fields involved (never their values).
    :param detail: a short non-personal note, e.g. a job name or a reason code.
    """
    session = session or db.session
    if obj is not None:
        object_type = object_type or type(obj).__name__
        identity = inspect(obj).identity
        object_id = object_id if object_id is not None else (
            identity[0] if identity else None)
    actor_id, actor_name = actor or _actor()
    event = AuditEvent(
        actor_id=actor_id,
        actor=actor_name,
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        fields=sorted(set(fields)) if fields else None,
        detail=detail,
    )
    session.add(event)
    if commit:
        session.commit()
    log.info("audit %s %s:%s by %s", action, object_type, object_id, actor_id)
    return event


#: A refused request (403) is recorded once per user and address in this long: a page
#: reloaded, or a script asking again and again, does not flood the trail.
REFUSAL_INTERVAL = timedelta(minutes=1)
#: The longest request an event's detail keeps (its column holds 200 characters).
REFUSAL_DETAIL_LENGTH = 200


def refusal_detail(method: str, path: str) -> str:
    """Return a refused request as the trail stores it: "GET /contactview/show/12"."""
    return f"{method} {path}"[:REFUSAL_DETAIL_LENGTH]


def record_refusal(session, actor: tuple[int, str | None], method: str, path: str, *,
                   now: datetime | None = None) -> AuditEvent | None:
    """Record that `actor` was refused a request (403), and commit; None if the same
    user was refused the same address within `REFUSAL_INTERVAL`.

    The check is a read before the write, not a lock: two workers refusing the same
    request at the same moment may both record it, which is harmless.

    :param path: the address without its query string, which may hold what was searched.
    """
    detail = refusal_detail(method, path)
    now = now or utcnow()
    recorded = session.scalar(
        sa.select(AuditEvent.id).where(
            AuditEvent.action == "access_denied", AuditEvent.actor_id == actor[0],
            AuditEvent.at > now - REFUSAL_INTERVAL, AuditEvent.detail == detail)
        .limit(1))
    if recorded is not None:
        return None
    event = record_event("access_denied", detail=detail, actor=actor, session=session,
                         commit=False)
    event.at = now
    session.commit()
    return event


#: The same list shown again to the same user with the same rows within this long (a
#: reload, sorting back and forth) is not recorded again, as a refusal is not.
LIST_VIEW_INTERVAL = REFUSAL_INTERVAL


def list_view_detail(view: str, row_ids: Iterable, people: int) -> str:
    """Return a list page as the trail stores it: "list ContactView rows=25 people=25
    key=...", the key a digest of the rows' ids, the same for the same rows in any order
    (ids only: never a filter's value or a searched text)."""
    ids = sorted(str(pk) for pk in row_ids)
    key = hashlib.sha256(",".join(ids).encode()).hexdigest()[:16]
    return f"list {view} rows={len(ids)} people={people} key={key}"


def _same(column, value):
    return column.is_(None) if value is None else column == value


def record_list_view(session, view: str, row_ids: list, people: Iterable[tuple[str, int]],
                     *, fields: list[str] | None = None,
                     of: tuple[str | None, str | None] = (None, None),
                     actor: tuple[int | None, str | None] | None = None,
                     now: datetime | None = None) -> AuditEvent | None:
    """Record that a user was shown a list page whose rows are about people, and commit:
    one event, and one multi-row insert of the people (`AuditEventPerson`); None, and
    nothing written, if the same user was shown the same rows of the same list within
    `LIST_VIEW_INTERVAL`.

    :param view: the list's view, by its class name ("ContactView").
    :param row_ids: the ids of the rows shown.
    :param people: (object type, id) of each person shown: "Contact" and its id, or the
        row itself where it names no contact.
    :param fields: the names of the filters used, never their values.
    :param of: (object type, id) of the record whose page the list is a tab of.
    """
    people = sorted(set(people))
    detail = list_view_detail(view, row_ids, len(people))
    actor = actor or _actor()
    now = now or utcnow()
    object_type, object_id = of
    recorded = session.scalar(
        sa.select(AuditEvent.id).where(
            AuditEvent.action == "view_list", AuditEvent.actor_id == actor[0],
            AuditEvent.at > now - LIST_VIEW_INTERVAL, AuditEvent.detail == detail,
            _same(AuditEvent.object_type, object_type), _same(AuditEvent.object_id, object_id))
        .limit(1))
    if recorded is not None:
        return None
    event = record_event("view_list", object_type=object_type, object_id=object_id,
                         fields=fields, detail=detail, actor=actor, session=session,
                         commit=False)
    event.at = now
    session.flush()
    if people:
        session.execute(sa.insert(AuditEventPerson).values([
            {"event_id": event.id, "object_type": kind, "object_id": pk}
            for kind, pk in people]))
    _commit_keeping_loaded(session)
    return event


def _commit_keeping_loaded(session) -> None:
    """Commit, leaving the objects already loaded as they are: the list page renders
    its rows next, and reloading each of them after the commit would cost a query per
    row. Only this event's rows were written, so nothing loaded is stale."""
    real = session() if isinstance(session, sa.orm.scoped_session) else session
    keep, real.expire_on_commit = real.expire_on_commit, False
    try:
        real.commit()
    finally:
        real.expire_on_commit = keep
