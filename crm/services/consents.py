"""Direct-marketing consent and the marketing status it allows (DESIGN §2, §9.8).

The register sends direct marketing (the audience, Mailchimp) only to people whose
consent to it is on record, valid: given, not withdrawn and not lapsed (given within
`CRM_CONSENT_VALID_DAYS`). So nobody is subscribed without one, and whoever loses their
last one (withdrawn on the Consents tab, lapsed in the consent-expiry job) is
unsubscribed in the same transaction, in the contact's change history and the audit
trail. An objection (crm.services.objection) and Mailchimp's unsubscribe
(crm.services.audience) unsubscribe the person whatever their consents.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from crm.models import (
    AuditEvent,
    Consent,
    Contact,
    ContactChange,
    LegalBasis,
    MarketingStatus,
    Purpose,
)
from crm.models.base import utcnow
from crm.privacy.anonymise import in_values

MARKETING_PURPOSE = "direct_marketing"
CONSENT = Consent.__table__
CONTACT = Contact.__table__
#: The audit trail's detail and the change history's reason of an unsubscribe for want
#: of a consent: the last one withdrawn, lapsed, or none at all (subscribed before the
#: screens asked for one); crm.services.audit_details reads them out (its
#: `SYSTEM_REASONS`, the registry of the system's reasons).
WITHDRAWN = "direct-marketing consent withdrawn"
LAPSED = "direct-marketing consent lapsed"
NO_CONSENT = "no direct-marketing consent"


class NoMarketingConsent(ValueError):
    """A contact without a valid direct-marketing consent cannot be subscribed."""


def marketing_purpose_id(session: Session | Connection) -> int | None:
    """Return the id of the direct-marketing purpose (None before reference data)."""
    return session.scalar(sa.select(Purpose.id).where(Purpose.code == MARKETING_PURPOSE))


def consent_valid_since(valid_days: int, now: datetime | None = None) -> datetime:
    """Return the earliest time a consent still valid was given (the lapse limit)."""
    return (now or utcnow()) - timedelta(days=valid_days)


def has_marketing_consent(purpose_id: int | None, since: datetime) -> sa.ColumnElement[bool]:
    """Return the condition "has a valid direct-marketing consent" on contacts: one not
    withdrawn, given at `since` or later."""
    valid = sa.alias(CONSENT, "valid")
    return sa.exists().where(
        valid.c.contact_id == CONTACT.c.id, valid.c.purpose_id == purpose_id,
        valid.c.withdrawn_at.is_(None), valid.c.given_at >= since)


def has_valid_consent(since: datetime) -> sa.ColumnElement[bool]:
    """Return the condition "has a valid consent" (to anything) on contacts: one not
    withdrawn, given at `since` or later. NOT EXISTS of it is one probe per contact of
    the consents' contact_id index."""
    valid = sa.alias(CONSENT, "valid")
    return sa.exists().where(valid.c.contact_id == CONTACT.c.id,
                             valid.c.withdrawn_at.is_(None), valid.c.given_at >= since)


def on_consent_without_one(since: datetime) -> sa.ColumnElement[bool]:
    """Return the condition on contacts of who is kept without a legal basis: live, on
    consent as their basis, with no valid consent left (each withdrawn or lapsed, or none
    on record). Nothing changes them: the privacy team decides on another basis or on
    erasure. Those on consent are few, in their own partial index (crm.models.indexes),
    which the planner proves only from the basis written into the statement."""
    on_consent = sa.literal(LegalBasis.consent.value, literal_execute=True)
    return ((CONTACT.c.legal_basis == on_consent)
            & CONTACT.c.anonymised_at.is_(None) & ~has_valid_consent(since))


def subscribed_without_consent(purpose_id: int | None,
                               since: datetime) -> sa.ColumnElement[bool]:
    """Return the condition on contacts of who is to be unsubscribed: subscribed, with no
    valid direct-marketing consent left."""
    return ((CONTACT.c.marketing_status == MarketingStatus.subscribed.value)
            & ~has_marketing_consent(purpose_id, since))


def check_subscription(session: Session, contact: Contact | None, status, *,
                       valid_days: int, consent_with_it: Purpose | None = None) -> None:
    """Refuse to subscribe `contact` (to give it `status` "subscribed") without a valid
    direct-marketing consent on record. A contact already subscribed stays so while
    other fields change: losing the consent unsubscribes them where it is lost.

    :param contact: None for a new contact, whose consent is recorded with it.
    :param consent_with_it: the purpose of the consent a new contact is saved with
        (the contact form's, on consent as the basis); it must be direct marketing.
    :raise NoMarketingConsent: saying what is missing.
    """
    if status != MarketingStatus.subscribed:
        return
    if contact is None:
        if getattr(consent_with_it, "code", None) == MARKETING_PURPOSE:
            return
        raise NoMarketingConsent(str(_l(
            "Marketing: “Subscribed” needs the person's consent to direct "
            "marketing: choose Consent as the legal basis and record their consent to "
            "direct marketing with the contact.")))
    if contact.marketing_status == MarketingStatus.subscribed:
        return
    if session.scalar(sa.select(sa.literal(True)).select_from(CONTACT).where(
            CONTACT.c.id == contact.id,
            has_marketing_consent(marketing_purpose_id(session),
                                  consent_valid_since(valid_days))).limit(1)):
        return
    raise NoMarketingConsent(str(_l(
        "Marketing: “Subscribed” needs a valid consent to direct marketing on "
        "record, and this person has none. Record their consent on the Consents tab "
        "first.")))


def unsubscribe_without_consent(session: Session, contact_ids: Sequence[int], *,
                                purpose_id: int | None, since: datetime, now: datetime,
                                actor: tuple[int | None, str | None],
                                reason: str) -> int:
    """Unsubscribe the subscribed contacts among `contact_ids` that have no valid
    direct-marketing consent left, in the session's transaction.

    Each goes into the contact's change history and the audit trail (no values), and
    its version moves on, so that an edit form opened before cannot subscribe it again.

    :param since: the lapse limit (`consent_valid_since`).
    :param reason: `WITHDRAWN`, `LAPSED` or `NO_CONSENT`.
    :return: how many were unsubscribed.
    """
    if not contact_ids:
        return 0
    postgres = session.get_bind().dialect.name == "postgresql"
    unsubscribed = list(session.scalars(
        CONTACT.update()
        .where(in_values(CONTACT.c.id, list(contact_ids), postgres),
               subscribed_without_consent(purpose_id, since))
        .values(marketing_status=MarketingStatus.unsubscribed.value, updated_at=now,
                version=CONTACT.c.version + 1)
        .returning(CONTACT.c.id)))
    if unsubscribed:
        actor_id, actor_name = actor
        session.execute(sa.insert(ContactChange), [
            {"contact_id": contact_id, "changed_at": now, "changed_by_id": actor_id,
             "changed_by": actor_name, "field": "marketing_status",
             "old_value": MarketingStatus.subscribed.value,
             "new_value": MarketingStatus.unsubscribed.value, "reason": reason}
            for contact_id in unsubscribed])
        session.execute(sa.insert(AuditEvent), [
            {"at": now, "actor_id": actor_id, "actor": actor_name, "action": "update",
             "object_type": "Contact", "object_id": str(contact_id),
             "fields": ["marketing_status"], "detail": reason}
            for contact_id in unsubscribed])
    return len(unsubscribed)
