"""Erasure (DESIGN §9.3): the person anonymised everywhere, suppressed, and deleted at processors.

The request's contact, and every other live contact with one of its email
addresses (the same person entered twice), are anonymised by the retention job's
anonymiser, which also puts their emails and phones onto the suppression list. The
requester's own address, when the request came from another one, is suppressed
too. Only then, with the erasure committed, is each processor asked to delete the
person (crm.privacy.processors): a processor's outage cannot undo the erasure, and
its failure is recorded on the request for a retry by hand.

Someone known only from callback requests kept apart from the register (no contact)
is erased from them: each of their callback requests is emptied as the anonymiser
empties a contact's, their emails and phones are suppressed, and the requests about
them keep only the record that they were handled. No processor holds them: only
contacts are ever sent to one.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from crm.models import CallbackRequest, Contact, DataSubjectRequest, RequestStatus, RequestType
from crm.privacy.anonymise import ANONYMOUS_CALLBACK, ANONYMOUS_REQUEST, anonymise_contact
from crm.privacy.processors import (
    NOTHING_SENT,
    ErasureResult,
    ErasureSubject,
    erase_at_processors,
    processor_title,
)
from crm.privacy.suppression import suppress
from crm.services.audit import record_event
from crm.services.requests import Actor, RequestError, require_person
from crm.services.subjects import lower, same_callbacks, same_person

REASON = "erasure"


def _snapshot(contact: Contact) -> ErasureSubject:
    return ErasureSubject(
        contact_id=contact.id,
        emails=tuple(sorted({e.lower() for e in (contact.email, contact.alt_email) if e})),
        phones=tuple(sorted({p for p in (contact.phone, contact.mobile) if p})))


def erase_subject(app: Flask, session: Session, request_id: int, *,
                  actor: Actor = None) -> dict:
    """Carry out the erasure request `request_id`; commit; return what was done (no values).

    :return: {"contacts": [ids], "processors": [{"processor", "ok", "detail"}]}, also kept
        on the request as `erasure_result`.
    """
    request = session.get(DataSubjectRequest, request_id)
    if request is None:
        raise RequestError(_("There is no such request."))
    person = require_person(request, RequestType.erasure)
    if isinstance(person, CallbackRequest):
        return _erase_callbacks(session, request, person, actor=actor)
    people = same_person(session, person)
    subjects = [_snapshot(person) for person in people]
    # The request may have come from an address the contact rows do not hold.
    extra_emails = {request.requester_email.lower()} if request.requester_email else set()
    extra_emails -= {e for s in subjects for e in s.emails}
    extra_phones = {request.requester_phone} if request.requester_phone else set()
    extra_phones -= {p for s in subjects for p in s.phones}
    if extra_emails or extra_phones:
        first = subjects[0]
        subjects[0] = ErasureSubject(first.contact_id,
                                     tuple(sorted({*first.emails, *extra_emails})),
                                     tuple(sorted({*first.phones, *extra_phones})))
    for email in extra_emails:
        suppress(session, "email", email, REASON)
    for phone in extra_phones:
        suppress(session, "phone", phone, REASON)

    erased = [s.contact_id for s in subjects
              if anonymise_contact(session, s.contact_id, REASON)]
    # The anonymiser emptied the request's free text with the person's: write the result.
    session.refresh(request)
    result = {"contacts": erased, "processors": "pending"}
    request.erasure_result = result
    request.outcome = _outcome(len(erased), None)
    for contact_id in erased:
        record_event("erase", object_type="Contact", object_id=contact_id,
                     detail=f"request {request.id}", actor=actor, session=session,
                     commit=False)
    session.commit()

    results: list[ErasureResult] = []
    for subject in subjects:
        results.extend(erase_at_processors(app, subject))
    result = {"contacts": erased, "processors": [
        {"processor": r.processor, "ok": r.ok, "detail": r.detail} for r in results]}
    request.erasure_result = result
    request.outcome = _outcome(len(erased), results)
    record_event("update", request, fields=["erasure_result", "outcome"],
                 detail="erasure at processors", actor=actor, session=session, commit=False)
    session.commit()
    return result


def _erase_callbacks(session: Session, request: DataSubjectRequest,
                     callback: CallbackRequest, *, actor: Actor = None) -> dict:
    """Erase someone known only from `callback` and their other callback requests without
    a contact (`same_callbacks`); commit; return what was done (ids, no values)."""
    callbacks = same_callbacks(session, callback)
    emails = {c.email.lower() for c in callbacks if c.email}
    phones = {c.phone for c in callbacks if c.phone}
    # The request may have come from an address the callback requests do not hold.
    if request.requester_email:
        emails.add(request.requester_email.lower())
    if request.requester_phone:
        phones.add(request.requester_phone)
    for email in emails:
        suppress(session, "email", email, REASON)
    for phone in phones:
        suppress(session, "phone", phone, REASON)
    ids = [c.id for c in callbacks]
    for row in [*callbacks, *_requests_about(session, ids, emails, phones)]:
        values = ANONYMOUS_CALLBACK if isinstance(row, CallbackRequest) else ANONYMOUS_REQUEST
        for column, value in values.items():
            setattr(row, column, value)
    result = {"contacts": [], "callback_requests": ids, "processors": []}
    request.erasure_result = result
    request.outcome = _outcome(0, [], callbacks=len(ids))
    for callback_id in ids:
        record_event("erase", object_type="CallbackRequest", object_id=callback_id,
                     detail=f"request {request.id}", actor=actor, session=session,
                     commit=False)
    record_event("update", request, fields=["erasure_result", "outcome"],
                 detail="erasure of callback requests", actor=actor, session=session,
                 commit=False)
    session.commit()
    return result


def _requests_about(session: Session, callback_ids: list[int], emails: set[str],
                    phones: set[str]) -> list[DataSubjectRequest]:
    """Return the data subject requests about the person, as the anonymiser finds a
    contact's: linked to their callback requests, or closed and from one of their
    emails or phones (an open one of someone else's may share a switchboard)."""
    dsr = DataSubjectRequest
    closed = dsr.status.in_([RequestStatus.completed, RequestStatus.rejected])
    return list(session.scalars(sa.select(dsr).where(sa.or_(
        dsr.callback_request_id.in_(callback_ids),
        closed & lower(session, dsr.requester_email).in_(emails),
        closed & dsr.requester_phone.in_(phones)))))


def outcome_text(erasure_result: dict) -> str:
    """Return an erasure's outcome as the request's page shows it, in the reader's
    language: from what was done (`erasure_result`), not the text written in the eraser's
    language; a failed processor without its technical detail, which the page says in
    words apart (crm.views.subjects)."""
    processors = erasure_result.get("processors")
    results = ([ErasureResult(p["processor"], p["ok"], p["detail"]) for p in processors]
               if isinstance(processors, list) else None)
    return _outcome(len(erasure_result.get("contacts") or []), results, shown=True,
                    callbacks=len(erasure_result.get("callback_requests") or []))


def _outcome(contacts: int, results: list[ErasureResult] | None, *,
             shown: bool = False, callbacks: int = 0) -> str:
    """:param callbacks: callback requests emptied of someone not in the register."""
    if callbacks and not contacts:
        text = _("Erased: %(count)d callback request(s) emptied in the CRM, the email "
                 "addresses and phone numbers in them added to the suppression list.",
                 count=callbacks)
    else:
        text = _("Erased: %(count)d contact record(s) anonymised in the CRM, their email "
                 "addresses and phone numbers added to the suppression list.",
                 count=contacts)
    if results is None:
        return text
    if not results:
        return " ".join((text, _("No processor holds copies.")))
    done = ", ".join(_processor_outcome(r, shown=shown) for r in results)
    return " ".join((text, _("Processors: %(results)s.", results=done)))


def _processor_outcome(result: ErasureResult, *, shown: bool = False) -> str:
    """Return what one processor did, truthfully: deleted, not in use, or failed.

    :param shown: for the page, which says why a processor failed apart, in words.
    """
    processor = processor_title(result.processor)
    if not result.ok and shown:
        return _("%(processor)s: FAILED, delete by hand", processor=processor)
    if not result.ok:
        return _("%(processor)s: FAILED (%(detail)s), delete by hand", processor=processor,
                 detail=result.detail)
    if result.detail == NOTHING_SENT:
        return _("%(processor)s: not in use, nothing was sent there", processor=processor)
    return _("%(processor)s: deleted", processor=processor)
