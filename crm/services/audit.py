"""The audit trail (DESIGN §9.5): who did what to which object, never the values."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import g, has_request_context
from sqlalchemy import inspect

from crm.extensions import db
from crm.models import AuditEvent
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
