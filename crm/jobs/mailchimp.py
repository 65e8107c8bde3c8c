"""The Mailchimp sync job (DESIGN §9.8): the marketing audience, mirrored at Mailchimp.

Each run upserts the audience's members whose contact changed since it was last
sent (batches of 500, one commit per batch, so a failed run keeps what it did),
then takes care of the members who left the audience since:

- the contact is gone or anonymised: the member is deleted permanently (the
  erasure hook does this at once for erasures; this catches retention too);
- the contact is still there with the same address (unsubscribed, objected,
  suppressed): the member is unsubscribed at Mailchimp too;
- the contact's address changed or was removed: the old member is archived.

Running it again changes nothing at Mailchimp: an unchanged contact is not sent.
A dry run counts what it would send and sends nothing.

What a run counts as done at Mailchimp is what Mailchimp answered: "sent" and
"unsubscribed" are the members it added or updated, "refused" those it refused (tried
again next run); a dry run counts what it would send.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from crm.integrations.mailchimp import (
    BATCH_SIZE,
    MailchimpClient,
    MailchimpError,
    server_prefix,
    subscriber_hash,
)
from crm.jobs.context import JobContext, JobError, JobSkipped
from crm.models import Contact, MailchimpMember, MailchimpStatus
from crm.services.audience import Member, audience_batches

STATUS = MailchimpStatus
#: The run's recorded reason when the API key or audience is not set (shown translated).
NOT_CONFIGURED = "Mailchimp is not configured"
#: What the administrator sets for the sync to run (README, Mailchimp): the API key, which
#: ends with its server prefix ("...-us21"), and the audience's id.
SETTINGS = ("CRM_MAILCHIMP_API_KEY", "CRM_MAILCHIMP_AUDIENCE_ID")


def configured(config) -> bool:
    """Return whether the sync can run: an API key and an audience id are set, and the key
    names its server prefix unless `CRM_MAILCHIMP_BASE_URL` says where to call instead.

    Without them each run is recorded as skipped (`NOT_CONFIGURED`), whoever starts it;
    the jobs screen offers no run and says what to set.
    """
    key, audience = (config.get(name) for name in SETTINGS)
    if not key or not audience:
        return False
    if config.get("CRM_MAILCHIMP_BASE_URL"):
        return True
    try:
        server_prefix(key)
    except ValueError:
        return False
    return True


def _payload(member: Member) -> dict:
    return {"email_address": member.email, "status": "subscribed",
            "merge_fields": {"FNAME": member.first_name, "LNAME": member.last_name},
            "language": member.language}


def mailchimp_sync(ctx: JobContext) -> None:
    """Bring the Mailchimp audience in line with the CRM's marketing audience."""
    if not configured(ctx.config):
        raise JobSkipped(NOT_CONFIGURED)
    client = MailchimpClient.from_config(ctx.config)
    for key in ("audience", "sent", "created", "updated", "refused", "unchanged",
                "unsubscribed", "archived", "deleted"):
        ctx.counts[key] = 0
    with Session(ctx.engine) as session:
        current: set[str] = set()
        try:
            for batch in audience_batches(session, BATCH_SIZE):
                ctx.heartbeat()
                _upsert(ctx, session, client, batch, current)
            _leavers(ctx, session, client, current)
        except MailchimpError as exc:
            # What was done is committed; the run's record says why it stopped (the
            # status and Mailchimp's title only: no address).
            raise JobError(str(exc)) from None


def _upsert(ctx: JobContext, session: Session, client: MailchimpClient, batch: list[Member],
            current: set[str]) -> None:
    hashes = {m.contact_id: subscriber_hash(m.email) for m in batch}
    unique = []
    for member in batch:  # two contacts with one address are one member: the first
        if hashes[member.contact_id] not in current:
            current.add(hashes[member.contact_id])
            unique.append(member)
    batch = unique
    ctx.counts["audience"] += len(batch)
    rows = {r.subscriber_hash: r for r in session.scalars(
        sa.select(MailchimpMember).where(MailchimpMember.subscriber_hash.in_(hashes.values())))}
    changed = []
    for member in batch:
        row = rows.get(hashes[member.contact_id])
        if (row is not None and row.status is STATUS.subscribed
                and row.contact_id == member.contact_id
                and row.contact_version == member.version):
            ctx.counts["unchanged"] += 1
        else:
            changed.append(member)
    if not changed:
        return
    if ctx.dry_run:
        ctx.counts["sent"] += len(changed)
        return
    result = client.batch_upsert([_payload(m) for m in changed])
    ctx.counts["sent"] += result.created + result.updated
    ctx.counts["created"] += result.created
    ctx.counts["updated"] += result.updated
    ctx.counts["refused"] += len(result.refused)
    for member in changed:
        if member.email.lower() in result.refused:
            continue  # tried again next run
        member_hash = hashes[member.contact_id]
        row = rows.get(member_hash)
        if row is None:
            row = MailchimpMember(subscriber_hash=member_hash)
            session.add(row)
        row.contact_id, row.status = member.contact_id, STATUS.subscribed
        row.contact_version, row.last_synced_at = member.version, ctx.now
    session.commit()


def _leavers(ctx: JobContext, session: Session, client: MailchimpClient,
             current: set[str]) -> None:
    """Unsubscribe, archive or delete the members no longer in the audience."""
    last_id = 0
    while True:
        rows = session.execute(
            sa.select(MailchimpMember, Contact.email, Contact.anonymised_at)
            .outerjoin(Contact, Contact.id == MailchimpMember.contact_id)
            .where(MailchimpMember.status == STATUS.subscribed, MailchimpMember.id > last_id)
            .order_by(MailchimpMember.id).limit(BATCH_SIZE)).all()
        if not rows:
            return
        last_id = rows[-1][0].id
        ctx.heartbeat()
        unsubscribe = []
        for row, address, anonymised_at in rows:
            if row.subscriber_hash in current:
                continue
            if row.contact_id is None or anonymised_at is not None:
                ctx.counts["deleted"] += 1
                if not ctx.dry_run:
                    client.delete_permanently(row.subscriber_hash)
                    session.delete(row)
            elif address and subscriber_hash(address) == row.subscriber_hash:
                unsubscribe.append((row, address))
            else:
                ctx.counts["archived"] += 1
                if not ctx.dry_run:
                    client.archive(row.subscriber_hash)
                    session.delete(row)
        if unsubscribe and ctx.dry_run:
            ctx.counts["unsubscribed"] += len(unsubscribe)
        elif unsubscribe:
            result = client.batch_upsert([{"email_address": a.strip(), "status": "unsubscribed"}
                                          for _, a in unsubscribe])
            ctx.counts["unsubscribed"] += result.created + result.updated
            ctx.counts["refused"] += len(result.refused)
            for row, address in unsubscribe:
                if address.strip().lower() not in result.refused:
                    row.status, row.last_synced_at = STATUS.unsubscribed, ctx.now
        if not ctx.dry_run:
            session.commit()
