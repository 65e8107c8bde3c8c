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

import sqlalchemy as sa
from flask_babel import format_date
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from crm.models import (
    AuditEvent,
    Contact,
    ContactChange,
    DataSubjectRequest,
    DeliveryMethod,
    RequestChannel,
    RequestStatus,
    RequestType,
)
from crm.models.base import register_today, utcnow
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
    if contact is None:
        return False
    if request.type is RequestType.objection:
        return contact.objected_at is not None
    if request.type is RequestType.rectification:
        return bool(session.scalar(sa.select(sa.exists().where(
            ContactChange.request_id == request.id))))
    if request.type is RequestType.access:
        # crm.privacy.export.audit_export: "<format> request <id>" for each download.
        return bool(session.scalar(sa.select(sa.exists().where(
            AuditEvent.action == "export",
            AuditEvent.detail.like(f"% request {request.id}")))))
    return False


def steps_done(session: Session, request: DataSubjectRequest) -> dict[str, bool]:
    """Return which of `STEPS` have been taken on `request`."""
    return {"identity": is_verified(request), "person": request.contact is not None,
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
    request.contact_id = contact.id
    record_event("update", request, fields=["contact"], actor=actor, session=session,
                 commit=False)


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
    _require_open(request)
    if types and request.type not in types:
        raise RequestError(_l("This step does not apply to this kind of request."))
    if not is_verified(request):
        raise RequestError(_l("Verify the requester's identity first."))
    contact = request.contact
    if contact is None:
        raise RequestError(_l("Find the person and link the request to them first."))
    if contact.anonymised_at is not None:
        raise RequestError(_l("The person's data has been erased already."))
    return contact


def _require_open(request: DataSubjectRequest) -> None:
    if not is_open(request):
        raise RequestError(_l("The request is closed."))


def _check_text(text: str) -> None:
    try:
        check_free_text(text)
    except InvalidValue as exc:
        raise RequestError(str(exc)) from exc
