"""Data subject requests (DESIGN §9.1–9.3): deadlines (GDPR Art. 12(3)) and the workflow.

A request is recorded on receipt, the requester's identity is verified, the
person is found and linked, the request is carried out (export, rectification,
erasure or objection), and the answer is delivered. The answer is due one
calendar month after receipt; the deadline may be extended by up to two further
months, with a reason, when the person is told so within the first month.
Every step is audited (ids and field names, never values).
"""

from __future__ import annotations

import calendar
from datetime import date, datetime
from functools import partial
from typing import NamedTuple
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from flask_babel import format_date
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from crm.models import (
    AuditEvent,
    CallbackRequest,
    Contact,
    ContactChange,
    DataSubjectRequest,
    DeliveryMethod,
    RequestChannel,
    RequestStatus,
    RequestType,
)
from crm.models.base import day_in, register_day, register_today, utcnow
from crm.services.audit import record_event
from crm.services.validation import InvalidValue, check_free_text

OPEN = (RequestStatus.received, RequestStatus.verifying, RequestStatus.in_progress)
#: (user id, username) of whoever acts; None: the signed-in user (crm.services.audit).
Actor = tuple[int | None, str | None] | None


class RequestError(ValueError):
    """A step the request cannot take now; the message says why, for the privacy officer."""


def add_months(day: date, months: int) -> date:
    """Return the same day `months` later, or the month's last day when it has none.

    31 January plus one month is the last day of February.
    """
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def due_date(received_on: date) -> date:
    """Return the last day to answer a request received on `received_on`: one month."""
    return add_months(received_on, 1)


def latest_extension(received_on: date) -> date:
    """Return the furthest a deadline may be extended: two further months."""
    return add_months(received_on, 3)


#: Today's date where the register is kept.
today = register_today


def deadline(request: DataSubjectRequest) -> date:
    """Return the day the answer is due: the extended date when there is one."""
    return request.deadline


def is_open(request: DataSubjectRequest) -> bool:
    return request.status in OPEN


def is_overdue(request: DataSubjectRequest, on: date | None = None) -> bool:
    """Return whether the request is still open after its deadline."""
    return is_open(request) and deadline(request) < (on or today())


def is_verified(request: DataSubjectRequest) -> bool:
    return request.identity_verified_at is not None


def days_late(request: DataSubjectRequest) -> int:
    """Return how many days after its deadline the answer (or refusal) was delivered,
    the day of delivery taken on the register's clock; 0 in time, or not answered yet."""
    if request.delivered_at is None:
        return 0
    return max(0, (register_day(request.delivered_at) - deadline(request)).days)


class Lateness(NamedTuple):
    """How late a request is: still open past its deadline, or answered after it."""

    overdue: bool
    days_late: int


def lateness(request: DataSubjectRequest) -> Lateness:
    """Return whether `request` is open past its deadline and how late it was answered."""
    return Lateness(is_overdue(request), days_late(request))


def _sqlite_local_day(zone: ZoneInfo, stored: str | None) -> str | None:
    """SQLite's `crm_local_day`: a stored UTC timestamp's day on the register's clock."""
    if stored is None:
        return None
    return day_in(datetime.fromisoformat(stored), zone).isoformat()


def answered_late(session: Session) -> sa.ColumnElement[bool]:
    """Return the SQL condition of a request answered after its deadline (`days_late`):
    its day of delivery on the register's clock later than its deadline, on each row."""
    zone = current_app.config["CRM_TIMEZONE"]
    delivered = DataSubjectRequest.delivered_at
    if session.get_bind().dialect.name == "postgresql":
        day = sa.cast(sa.func.timezone(zone, delivered), sa.Date)
    else:  # SQLite has no time zones: the day is worked out in Python
        raw = session.connection().connection.driver_connection
        raw.create_function("crm_local_day", 1, partial(_sqlite_local_day, ZoneInfo(zone)),
                            deterministic=True)
        day = sa.func.crm_local_day(delivered)
    return delivered.is_not(None) & (day > sa.func.coalesce(
        DataSubjectRequest.extended_due_on, DataSubjectRequest.due_on))


#: The steps of handling a request, in the order they are taken (and its page shows them).
STEPS = ("identity", "person", "carry_out", "answer")


def is_carried_out(session: Session, request: DataSubjectRequest) -> bool:
    """Return whether what the request asks has been done for its person: the access
    export downloaded, a field corrected, the person erased, the objection recorded.

    A person erased meanwhile (by another request) has nothing left to carry it out on.
    """
    contact = request.contact
    if request.erasure_result is not None or (contact is not None
                                              and contact.anonymised_at is not None):
        return True
    if contact is None and request.callback_request is None:
        return False
    if request.type is RequestType.access:
        # crm.privacy.export.audit_export: "<format> request <id>" for each download.
        return bool(session.scalar(sa.select(sa.exists().where(
            AuditEvent.action == "export",
            AuditEvent.detail.like(f"% request {request.id}")))))
    if contact is None:
        return False
    if request.type is RequestType.objection:
        return contact.objected_at is not None
    if request.type is RequestType.rectification:
        return bool(session.scalar(sa.select(sa.exists().where(
            ContactChange.request_id == request.id))))
    return False


def steps_done(session: Session, request: DataSubjectRequest) -> dict[str, bool]:
    """Return which of `STEPS` have been taken on `request`."""
    return {"identity": is_verified(request),
            "person": request.contact is not None or request.callback_request is not None,
            "carry_out": is_carried_out(session, request),
            "answer": request.delivered_at is not None}


def next_step(request: DataSubjectRequest, done: dict[str, bool]) -> str | None:
    """Return the step to take next: the first of `STEPS` not `done`; None when closed."""
    if not is_open(request):
        return None
    return next((step for step in STEPS if not done[step]), None)


# -- the steps ---------------------------------------------------------------------


def record_request(session: Session, *, type: RequestType, requester_name: str,
                   channel: RequestChannel, received_on: date,
                   requester_email: str | None = None, requester_phone: str | None = None,
                   actor: Actor = None) -> DataSubjectRequest:
    """Record a request as received; its due date follows from the day of receipt."""
    if not requester_name or not requester_name.strip():
        raise RequestError(_l("The requester's name is required."))
    if received_on > today():
        raise RequestError(_l("A request cannot be received in the future."))
    request = DataSubjectRequest(
        type=type, requester_name=requester_name.strip(), channel=channel,
        received_on=received_on, due_on=due_date(received_on),
        requester_email=requester_email, requester_phone=requester_phone,
        status=RequestStatus.received)
    session.add(request)
    session.flush()
    record_event("create", request, fields=["type", "requester_name", "requester_email",
                                             "requester_phone", "channel", "received_on"],
                 actor=actor, session=session, commit=False)
    return request


def verify_identity(session: Session, request: DataSubjectRequest, *, how: str,
                    by: tuple[int, str], at: datetime | None = None) -> None:
    """Record how and by whom the requester's identity was verified; work can start.

    :param by: (user id, username) of the privacy officer who verified it.
    """
    _require_open(request)
    if is_verified(request):
        raise RequestError(_l("The identity has been verified already."))
    how = (how or "").strip()
    if not how:
        raise RequestError(_l("Say how the identity was verified."))
    _check_text(how)
    request.identity_verified_how = how
    request.identity_verified_by_id = by[0]
    request.identity_verified_at = at or utcnow()
    request.status = RequestStatus.in_progress
    record_event("verify", request, fields=["identity_verified_how", "identity_verified_by",
                                             "identity_verified_at", "status"],
                 actor=by, session=session, commit=False)


def extend_deadline(session: Session, request: DataSubjectRequest, *, new_due_on: date,
                    reason: str, notified_on: date, actor: Actor = None,
                    on: date | None = None) -> None:
    """Extend the deadline (Art. 12(3)): by up to two further months, for a reason, the
    person told within the first month.

    :param notified_on: the day the person was told of the extension and its reason.
    """
    _require_open(request)
    on = on or today()
    reason = (reason or "").strip()
    if not reason:
        raise RequestError(_l("An extension needs a reason."))
    _check_text(reason)
    if new_due_on <= request.due_on:
        raise RequestError(_l("The new deadline must be after the original one."))
    if new_due_on > latest_extension(request.received_on):
        raise RequestError(_l(
            "A deadline can be extended by two further months at most: to %(day)s.",
            day=format_date(latest_extension(request.received_on), "short")))
    if notified_on is None:
        raise RequestError(_l("Record the day the requester was told of the extension."))
    if notified_on < request.received_on or notified_on > on:
        raise RequestError(_l("The requester cannot have been told before the request "
                              "arrived or in the future."))
    if notified_on > request.due_on:
        raise RequestError(_l("The requester must be told of an extension within one month "
                              "of receipt, by %(day)s.",
                              day=format_date(request.due_on, "short")))
    request.extended_due_on = new_due_on
    request.extension_reason = reason
    request.extension_notified_on = notified_on
    record_event("extend", request, fields=["extended_due_on", "extension_reason",
                                             "extension_notified_on"],
                 actor=actor, session=session, commit=False)


def link_contact(session: Session, request: DataSubjectRequest, contact_id: int, *,
                 actor: Actor = None) -> None:
    """Link the request to the contact it is about (found with `find_subject`)."""
    _require_open(request)
    contact = session.get(Contact, contact_id)
    if contact is None or contact.anonymised_at is not None:
        raise RequestError(_l("There is no such contact."))
    fields = ["contact"]
    if request.callback_request_id is not None:  # one person a request
        request.callback_request_id = None
        fields.append("callback_request")
    request.contact_id = contact.id
    record_event("update", request, fields=fields, actor=actor, session=session,
                 commit=False)


def link_callback(session: Session, request: DataSubjectRequest, callback_id: int, *,
                  actor: Actor = None) -> None:
    """Link the request to a callback request of someone not in the register (no contact),
    found with `find_subject`; a contact linked before is unlinked: one person a request."""
    _require_open(request)
    callback = session.get(CallbackRequest, callback_id)
    if callback is None or callback.contact_id is not None or is_emptied(callback):
        raise RequestError(_l("There is no such callback request."))
    fields = ["callback_request"]
    if request.contact_id is not None:
        request.contact_id = None
        fields.append("contact")
    request.callback_request_id = callback.id
    record_event("update", request, fields=fields, actor=actor, session=session,
                 commit=False)


def is_emptied(callback: CallbackRequest) -> bool:
    """Return whether the callback request's person was erased from it (no values left)."""
    return not (callback.name or callback.email or callback.phone or callback.message)


def mark_delivered(session: Session, request: DataSubjectRequest, *, how: DeliveryMethod,
                   outcome: str | None = None, at: datetime | None = None,
                   actor: Actor = None) -> None:
    """Record that the answer reached the person; the request is completed."""
    _require_open(request)
    if not is_verified(request):
        raise RequestError(_l("Verify the requester's identity first."))
    if outcome:
        _check_text(outcome)
        request.outcome = outcome.strip()
    if not request.outcome:
        raise RequestError(_l("Record the outcome before delivering the answer."))
    request.delivered_how = how
    request.delivered_at = at or utcnow()
    request.status = RequestStatus.completed
    record_event("deliver", request, fields=["delivered_how", "delivered_at", "outcome",
                                              "status"],
                 actor=actor, session=session, commit=False)


def reject_request(session: Session, request: DataSubjectRequest, *, reason: str,
                   how: DeliveryMethod, at: datetime | None = None,
                   actor: Actor = None) -> None:
    """Refuse the request (e.g. the identity could not be verified), telling the person why."""
    _require_open(request)
    reason = (reason or "").strip()
    if not reason:
        raise RequestError(_l("A refusal needs a reason."))
    _check_text(reason)
    request.outcome = reason
    request.delivered_how = how
    request.delivered_at = at or utcnow()
    request.status = RequestStatus.rejected
    record_event("reject", request, fields=["outcome", "delivered_how", "delivered_at",
                                             "status"],
                 actor=actor, session=session, commit=False)


def require_ready(request: DataSubjectRequest, *types: RequestType) -> Contact:
    """Return the request's contact when the request may be carried out now.

    :param types: the request types the step applies to (any when none given).
    """
    person = require_person(request, *types)
    if not isinstance(person, Contact):
        raise RequestError(_l("This step needs a contact: the person is known only from "
                              "a callback request."))
    return person


def require_person(request: DataSubjectRequest,
                   *types: RequestType) -> Contact | CallbackRequest:
    """Return who the request is about, the contact or the callback request of someone not
    in the register, when the request may be carried out now (an export, an erasure).

    :param types: the request types the step applies to (any when none given).
    """
    _require_open(request)
    if types and request.type not in types:
        raise RequestError(_l("This step does not apply to this kind of request."))
    if not is_verified(request):
        raise RequestError(_l("Verify the requester's identity first."))
    callback = request.callback_request
    if request.contact is None and callback is not None:
        if is_emptied(callback):
            raise RequestError(_l("The person's data has been erased already."))
        return callback
    contact = request.contact
    if contact is None:
        raise RequestError(_l("Find the person and link the request to them first."))
    if contact.anonymised_at is not None:
        raise RequestError(_l("The person's data has been erased already."))
    return contact


def require_editable(request: DataSubjectRequest) -> None:
    """Refuse changing a closed (completed or refused) request: its answer is given."""
    if not is_open(request):
        raise RequestError(_l("The request is closed (%(status)s): it can no longer be "
                              "changed.", status=request.status.label))


#: Why a request's day of receipt is not changed once recorded: its deadline counts
#: from it, and a deadline moves only by an extension, with its reason (`extend_deadline`).
RECEIPT_FIXED = _l("The day of receipt cannot be changed: the deadline counts from it. "
                   "Extend the deadline on the request's page if more time is needed.")


def _require_open(request: DataSubjectRequest) -> None:
    if not is_open(request):
        raise RequestError(_l("The request is closed."))


def _check_text(text: str) -> None:
    try:
        check_free_text(text)
    except InvalidValue as exc:
        raise RequestError(str(exc)) from exc
