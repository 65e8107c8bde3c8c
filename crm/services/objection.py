"""Objection to direct marketing and marketing opt-out (GDPR Art. 21(2)–(3), DESIGN §2).

An objection is absolute for direct marketing: the contact is unsubscribed, its
direct-marketing consents are withdrawn, its emails and phones go onto the
suppression list, and `objected_at` is set. The database refuses to subscribe a
contact that objected (`ck_contact_objection`), whatever code writes the row;
`marketable()` is the condition every marketing use (the Mailchimp audience, mailings)
selects people by.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from crm.models import Consent, Contact, MarketingStatus, Purpose
from crm.models.base import utcnow
from crm.privacy.suppression import suppress
from crm.services.audit import record_event
from crm.services.audit_details import OBJECTION
from crm.services.rectification import change_context

MARKETING_PURPOSE = "direct_marketing"
#: The suppression list's reason for people who opted out (erasure: "erasure").
OPT_OUT = "opt_out"


def marketable() -> sa.ColumnElement[bool]:
    """Return the condition "may be sent direct marketing" on `Contact` (suppression aside)."""
    return (Contact.objected_at.is_(None) & Contact.anonymised_at.is_(None)
            & (Contact.marketing_status == MarketingStatus.subscribed))


def object_to_marketing(session: Session, contact_id: int, *,
                        actor: tuple[int | None, str | None] | None = None,
                        request_id: int | None = None,
                        reason: str | None = None) -> bool:
    """Record the person's objection to direct marketing, in the caller's transaction.

    :return: False when the person had objected already (the opt-out is made sure of anyway).
    """
    contact = session.get(Contact, contact_id)
    if contact is None or contact.anonymised_at is not None:
        raise LookupError(f"no contact {contact_id}")
    first_time = contact.objected_at is None
    unsubscribed = contact.marketing_status != MarketingStatus.unsubscribed
    now = utcnow()
    with change_context(session, actor=actor, reason=reason or OBJECTION,
                        request_id=request_id):
        if first_time:
            contact.objected_at = now
        contact.marketing_status = MarketingStatus.unsubscribed
        session.flush()
    withdrawn = session.execute(
        sa.update(Consent).where(
            Consent.contact_id == contact.id, Consent.withdrawn_at.is_(None),
            Consent.purpose_id.in_(sa.select(Purpose.id).where(
                Purpose.code == MARKETING_PURPOSE)))
        .values(withdrawn_at=now).execution_options(synchronize_session="fetch")).rowcount
    for kind, value in (("email", contact.email), ("email", contact.alt_email),
                        ("phone", contact.phone), ("phone", contact.mobile)):
        if value:
            suppress(session, kind, value, OPT_OUT)
    # The event names what this call changed: none when the person had objected already
    # and nothing was left to change (the trail never records a change that did not happen).
    changed = {"objected_at": first_time, "marketing_status": unsubscribed,
               "consents": bool(withdrawn)}
    fields = [name for name, done in changed.items() if done]
    if fields:
        record_event("object", contact, fields=fields,
                     detail=f"request {request_id}" if request_id else None,
                     actor=actor, session=session, commit=False)
    return first_time
