"""The marketing audience (DESIGN §9.8): who may get direct marketing by email.

A contact is in it when subscribed to marketing, not anonymised, not objecting to
direct marketing, with an email address that is not on the suppression list. The
Mailchimp sync and the audience export both read it from here. Unsubscribes that
Mailchimp reports (crm.public.webhooks) are recorded here too.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from crm.integrations.mailchimp import subscriber_hash
from crm.models import (
    Consent,
    Contact,
    MailchimpMember,
    MailchimpStatus,
    MarketingStatus,
    Organisation,
    Purpose,
    SuppressionEntry,
)
from crm.privacy.suppression import suppress, suppression_hash, suppression_hash_sql
from crm.services.audit import record_event
from crm.services.spreadsheets import cell

#: The fields the export gives, and no more.
EXPORT_FIELDS = ("email", "first_name", "last_name", "language", "organisation")
#: The export's header row, in the reader's language: each field as the contact screens
#: label it (crm.views.register), which `crm import` also reads back as these fields.
EXPORT_HEADERS = {"email": _l("Email"), "first_name": _l("First name"),
                  "last_name": _l("Last name"), "language": _l("Language"),
                  "organisation": _l("Organisation")}
#: The purpose whose consents an unsubscribe withdraws.
MARKETING_PURPOSE = "direct_marketing"


@dataclass(frozen=True)
class Member:
    contact_id: int
    email: str
    first_name: str
    last_name: str
    language: str
    organisation: str | None
    version: int


def in_audience() -> sa.ColumnElement[bool]:
    """The audience's condition on contacts (the suppression list is checked apart)."""
    return sa.and_(Contact.marketing_status == MarketingStatus.subscribed,
                   Contact.anonymised_at.is_(None), Contact.objected_at.is_(None),
                   Contact.email.is_not(None), Contact.email != "")


def left_out_as_suppressed(session: Session) -> int:
    """Return how many contacts `in_audience()` has whose email is on the suppression
    list, and so are left out of the audience (its file and its sync).

    The list holds keyed hashes: on PostgreSQL each address is hashed in SQL (133,000
    subscribed among 1,000,000 contacts: under a second); elsewhere in Python, by
    batches, as `audience_batches` reads them.
    """
    emails = sa.select(Contact.email).where(in_audience())
    if session.get_bind().dialect.name == "postgresql":
        key = current_app.config["CRM_SUPPRESSION_KEY"]
        hashed = suppression_hash_sql("email", sa.func.lower(Contact.email), key)
        return session.scalar(sa.select(sa.func.count()).select_from(Contact).where(
            in_audience(), hashed.in_(sa.select(SuppressionEntry.key_hash))))
    left_out = 0
    for batch in session.scalars(emails).partitions(500):
        hashes = [suppression_hash("email", email) for email in batch]
        listed = set(session.scalars(sa.select(SuppressionEntry.key_hash)
                                     .where(SuppressionEntry.key_hash.in_(hashes))))
        left_out += sum(digest in listed for digest in hashes)  # two may share one
    return left_out


def audience_batches(session: Session, size: int = 500) -> Iterator[list[Member]]:
    """Yield the audience in batches of at most `size`, in contact id order."""
    last_id = 0
    while True:
        rows = session.execute(
            sa.select(Contact.id, Contact.email, Contact.first_name, Contact.last_name,
                      Contact.language, Organisation.name, Contact.version)
            .outerjoin(Organisation, Organisation.id == Contact.organisation_id)
            .where(in_audience(), Contact.id > last_id).order_by(Contact.id).limit(size)).all()
        if not rows:
            return
        last_id = rows[-1][0]
        hashes = {row.id: suppression_hash("email", row.email) for row in rows}
        suppressed = set(session.scalars(sa.select(SuppressionEntry.key_hash).where(
            SuppressionEntry.key_hash.in_(hashes.values()))))
        members = [Member(row.id, row.email.strip(), row.first_name, row.last_name,
                          str(row.language.value if row.language else "fi"), row.name,
                          row.version)
                   for row in rows if hashes[row.id] not in suppressed]
        if members:
            yield members


def export_csv(session: Session, actor: tuple[int | None, str | None] | None = None) -> \
        tuple[bytes, int]:
    """Return the audience as CSV (UTF-8 with BOM, semicolons, as Excel reads it) and its
    row count; the export is audited with the count, never the values.

    The header row is in the language of the request (or of `force_locale`); the
    language column keeps its codes ("fi", "en"), as Mailchimp takes them.
    """
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow([str(EXPORT_HEADERS[field]) for field in EXPORT_FIELDS])
    count = 0
    for batch in audience_batches(session, 2000):
        for m in batch:
            writer.writerow([cell(v) for v in (m.email, m.first_name, m.last_name,
                                               m.language, m.organisation or "")])
        count += len(batch)
    record_event("export", object_type="MarketingAudience", fields=list(EXPORT_FIELDS),
                 detail=f"audience CSV, {count} rows", actor=actor, session=session,
                 commit=True)
    return ("\ufeff" + out.getvalue()).encode("utf-8"), count


def record_unsubscribe(session: Session, address: str, *, how: str, now: datetime) -> int:
    """Mark the people with this email unsubscribed, as Mailchimp reported; commit.

    Their direct-marketing consents are withdrawn and the sync state says they left.
    When the address is no one's in the register, it goes on the suppression list as
    an opt-out, so that no purchased list can bring it into marketing later.

    :param how: "unsubscribe" or "cleaned" (for the audit trail and change history).
    :return: how many contacts were marked.
    """
    from crm.services.audit_details import mailchimp_reason
    from crm.services.rectification import change_context

    address = address.strip()
    lowered = address.lower()
    contacts = session.scalars(sa.select(Contact).where(
        Contact.anonymised_at.is_(None),
        sa.or_(sa.and_(Contact.email.is_not(None), sa.func.lower(Contact.email) == lowered),
               sa.and_(Contact.alt_email.is_not(None),
                       sa.func.lower(Contact.alt_email) == lowered)))).all()
    actor = (None, "mailchimp")
    with change_context(session, actor=actor, reason=mailchimp_reason(how)):
        for contact in contacts:
            if contact.marketing_status is not MarketingStatus.unsubscribed:
                contact.marketing_status = MarketingStatus.unsubscribed
            session.execute(sa.update(Consent).where(
                Consent.contact_id == contact.id, Consent.withdrawn_at.is_(None),
                Consent.purpose_id.in_(sa.select(Purpose.id).where(
                    Purpose.code == MARKETING_PURPOSE))).values(withdrawn_at=now))
            record_event("update", contact, fields=["marketing_status"],
                         detail=f"mailchimp webhook {how}", actor=actor, session=session,
                         commit=False)
        session.flush()
    session.execute(sa.update(MailchimpMember)
                    .where(MailchimpMember.subscriber_hash == subscriber_hash(address))
                    .values(status=MailchimpStatus.unsubscribed, last_synced_at=now))
    if not contacts:
        suppress(session, "email", address, "opt-out")
        record_event("update", object_type="SuppressionEntry",
                     detail=f"mailchimp webhook {how}: unknown address suppressed",
                     actor=actor, session=session, commit=False)
    session.commit()
    return len(contacts)
