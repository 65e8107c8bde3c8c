"""Rectification (DESIGN §9.2): contacts' change history, and corrections asked for in a request.

Whenever a person changes a contact through the ORM (a screen, a request's
correction, an objection), each changed field becomes a `ContactChange` row with
the old and new value, when, by whom and why. "Who" is the signed-in user of the
web request, or the actor given to `change_context` (the CLI, a service); changes
made by system code outside both (factories, bulk jobs) are not recorded.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum

import sqlalchemy as sa
from flask import Flask, g, has_request_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import event, inspect
from sqlalchemy.orm import MANYTOONE, Session

from crm.models import (
    Contact,
    ContactChange,
    DataSubjectRequest,
    MarketingStatus,
    Organisation,
    RequestType,
)
from crm.models.base import utcnow
from crm.privacy.guard import field_kind
from crm.services import validation
from crm.services.audit import record_event
from crm.services.contacts import contact_with_email
from crm.services.requests import RequestError, require_ready

#: Contact attributes that are bookkeeping, not data about the person: not in the history.
UNTRACKED = {"id", "version", "created_at", "updated_at", "last_activity_at", "anonymised_at"}
#: What a rectification on a request's page may correct: the core fields, with their rules.
CORRECTABLE = {
    "first_name": None, "last_name": None, "title": None, "email": validation.normalise_email,
    "alt_email": validation.normalise_email, "phone": validation.normalise_phone,
    "mobile": validation.normalise_phone, "street_address": None,
    "postal_code": validation.normalise_postal_code, "city": None, "country": None,
}
REQUIRED = {"first_name", "last_name", "country"}
_CONTEXT = "crm_change_context"


class ObjectionInForce(ValueError):
    """A contact who objected to direct marketing cannot be subscribed."""


@dataclass(frozen=True)
class ChangeContext:
    actor_id: int | None
    actor: str | None
    reason: str | None = None
    request_id: int | None = None


@contextmanager
def change_context(session: Session, *, actor: tuple[int | None, str | None] | None = None,
                   reason: str | None = None,
                   request_id: int | None = None) -> Iterator[None]:
    """Record the changes flushed inside the block as made by `actor`, for `reason`.

    :param actor: (user id, username); the signed-in user when omitted.
    """
    if actor is None:
        user = g.get("user") if has_request_context() else None
        signed_in = user is not None and getattr(user, "is_authenticated", False)
        actor = (user.id, user.username) if signed_in else (None, None)
    previous = session.info.get(_CONTEXT)
    session.info[_CONTEXT] = ChangeContext(actor[0], actor[1], reason, request_id)
    try:
        yield
    finally:
        if previous is None:
            session.info.pop(_CONTEXT, None)
        else:
            session.info[_CONTEXT] = previous


def set_reason(reason: str | None) -> None:
    """Give the changes of the current web request a reason (the edit form's field)."""
    g.crm_change_reason = (reason or "").strip() or None


def check_marketing(contact: Contact, status: MarketingStatus | None = None) -> None:
    """Refuse to subscribe a person who objected to direct marketing (Art. 21(3)).

    :param status: the status to be given; the contact's own when omitted.
    """
    status = contact.marketing_status if status is None else status
    if contact.objected_at is not None and status == MarketingStatus.subscribed:
        raise ObjectionInForce(str(_l(
            "This person has objected to direct marketing and cannot be subscribed.")))


def _current_context(session: Session) -> ChangeContext | None:
    context = session.info.get(_CONTEXT)
    if context is not None:
        return context
    if has_request_context():
        user = g.get("user")
        if user is not None and getattr(user, "is_authenticated", False):
            return ChangeContext(user.id, user.username, g.get("crm_change_reason"))
    return None


def _text(session: Session, key: str, value) -> str | None:
    if value is None or value == "":
        return None  # a form's blank field: no value either way
    if key == "organisation_id":
        organisation = session.get(Organisation, value)
        return organisation.name if organisation is not None else str(value)
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def contact_changes(session: Session, contact: Contact) -> list[tuple[str, str | None,
                                                                      str | None]]:
    """Return (field, old, new) of every tracked attribute of `contact` changed in memory."""
    state = inspect(contact)
    changes = []
    # A screen sets the organisation, not its id (filled in only by the flush).
    links = set()
    for link in state.mapper.relationships:
        if link.direction is not MANYTOONE:
            continue
        history = state.attrs[link.key].history
        if history.has_changes():
            old = history.deleted[0] if history.deleted else None
            new = history.added[0] if history.added else None
            if old is not new:
                changes.append((link.key, None if old is None else str(old),
                                None if new is None else str(new)))
                links.update(column.key for column in link.local_columns)
    for attr in state.mapper.column_attrs:
        if attr.key in UNTRACKED or attr.key in links:
            continue
        history = state.attrs[attr.key].history
        if not history.has_changes():
            continue
        old = history.deleted[0] if history.deleted else None
        new = history.added[0] if history.added else None
        old_text, new_text = _text(session, attr.key, old), _text(session, attr.key, new)
        if old_text != new_text:
            changes.append((attr.key, old_text, new_text))
    purposes = state.attrs["purposes"].history
    if purposes.has_changes():
        before = sorted(p.code for p in [*purposes.unchanged, *purposes.deleted])
        after = sorted(p.code for p in [*purposes.unchanged, *purposes.added])
        if before != after:
            changes.append(("purposes", ", ".join(before) or None, ", ".join(after) or None))
    return changes


def _record_contact_changes(session: Session, flush_context, instances) -> None:
    dirty = [obj for obj in session.dirty if isinstance(obj, Contact)]
    if not dirty:
        return
    context = _current_context(session)
    if context is None:
        return
    now = utcnow()
    for contact in dirty:
        if contact.id is None or not session.is_modified(contact):
            continue
        for key, old, new in contact_changes(session, contact):
            session.add(ContactChange(
                contact_id=contact.id, changed_at=now, changed_by_id=context.actor_id,
                changed_by=context.actor, field=key, old_value=old, new_value=new,
                reason=context.reason, request_id=context.request_id))


def init_app(app: Flask) -> None:
    """Start recording contacts' changes (once per process, whatever the number of apps)."""
    if not event.contains(Session, "before_flush", _record_contact_changes):
        event.listen(Session, "before_flush", _record_contact_changes)


# -- a correction asked for in a request ------------------------------------------------


#: The contact's fields holding an email address: each address is one live contact's.
EMAIL_FIELDS = ("email", "alt_email")


class RectificationError(ValueError):
    """The correction cannot be made; the message says why."""


def rectify(session: Session, request: DataSubjectRequest, *, field: str, value: str,
            reason: str, actor: tuple[int | None, str | None],
            expected_version: int | None = None) -> ContactChange | None:
    """Correct one field of the request's contact, recorded with the request and a reason.

    :param expected_version: the contact's version the officer saw; a different one
        means someone changed the contact meanwhile.
    :return: the history row, or None when the value was already what was asked.
    """
    try:
        contact = require_ready(request, RequestType.rectification)
    except RequestError as exc:
        raise RectificationError(str(exc)) from exc
    if field not in CORRECTABLE:
        raise RectificationError(str(_l("This field cannot be corrected here.")))
    reason = (reason or "").strip()
    if not reason:
        raise RectificationError(str(_l("A correction needs a reason.")))
    if expected_version is not None and contact.version != expected_version:
        raise RectificationError(str(_l(
            "Someone else changed this contact meanwhile: look at it again.")))
    try:
        validation.check_free_text(reason)
        new_value = _normalised(field, value, contact)
    except validation.InvalidValue as exc:
        raise RectificationError(str(exc)) from exc
    if getattr(contact, field) == new_value:
        return None
    if field in EMAIL_FIELDS and new_value is not None and contact_with_email(
            session, new_value, other_than=contact.id) is not None:
        # As the contact form refuses it (crm.views.checks): an address is one person's,
        # and an access export or an erasure takes every contact having it (same_person),
        # so this contact would be taken with that other person, and they with it.
        raise RectificationError(str(_l("Another contact already has this email address.")))
    with change_context(session, actor=actor, reason=reason, request_id=request.id):
        setattr(contact, field, new_value)
        session.flush()
    record_event("update", contact, fields=[field], detail=f"rectification request {request.id}",
                 actor=actor, session=session, commit=False)
    return session.scalar(sa.select(ContactChange).where(
        ContactChange.contact_id == contact.id, ContactChange.request_id == request.id,
        ContactChange.field == field).order_by(ContactChange.id.desc()).limit(1))


def _normalised(field: str, value: str, contact: Contact) -> str | None:
    value = (value or "").strip()
    if not value:
        if field in REQUIRED:
            raise validation.InvalidValue(_l("This field cannot be left empty."))
        return None
    validation.check_free_text(value, field_kind("contact", field))
    if field == "country":
        if len(value) != 2 or not value.isalpha():
            raise validation.InvalidValue(_l("A country is a two-letter code, such as FI."))
        return value.upper()
    normalise = CORRECTABLE[field]
    if field == "postal_code":
        return validation.normalise_postal_code(value, contact.country or "FI")
    return normalise(value) if normalise else value
