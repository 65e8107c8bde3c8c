"""Erasure (DESIGN §9.3): the person anonymised everywhere, suppressed, and deleted at processors.

The request's contact, and every other live contact with one of its email
addresses (the same person entered twice), are anonymised by the retention job's
anonymiser, which also puts their emails and phones onto the suppression list. The
requester's own address, when the request came from another one, is suppressed
too. Only then, with the erasure committed, is each processor asked to delete the
person (crm.privacy.processors): a processor's outage cannot undo the erasure, and
its failure is recorded on the request for a retry by hand.
"""

from __future__ import annotations

from flask import Flask
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from crm.models import Contact, DataSubjectRequest, RequestType
from crm.privacy.anonymise import anonymise_contact
from crm.privacy.processors import (
    NOTHING_SENT,
    ErasureResult,
    ErasureSubject,
    erase_at_processors,
    processor_title,
)
from crm.privacy.suppression import suppress
from crm.services.audit import record_event
from crm.services.requests import Actor, RequestError, require_ready
from crm.services.subjects import same_person

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
    contact = require_ready(request, RequestType.erasure)
    people = same_person(session, contact)
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


def outcome_text(erasure_result: dict) -> str:
    """Return an erasure's outcome as the request's page shows it, in the reader's
    language: from what was done (`erasure_result`), not the text written in the eraser's
    language; a failed processor without its technical detail, which the page says in
    words apart (crm.views.subjects)."""
    processors = erasure_result.get("processors")
    results = ([ErasureResult(p["processor"], p["ok"], p["detail"]) for p in processors]
               if isinstance(processors, list) else None)
    return _outcome(len(erasure_result.get("contacts") or []), results, shown=True)


def _outcome(contacts: int, results: list[ErasureResult] | None, *,
             shown: bool = False) -> str:
    text = _("Erased: %(count)d contact record(s) anonymised in the CRM, their email "
             "addresses and phone numbers added to the suppression list.", count=contacts)
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
