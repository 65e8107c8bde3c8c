"""Consent expiry and the purge of expired sign-in sessions."""

from __future__ import annotations

import sqlalchemy as sa

from crm.jobs.context import JobContext
from crm.models import Consent, Contact
from crm.privacy.anonymise import in_values
from crm.security.sessions import purge_expired
from crm.services.consents import (
    LAPSED,
    NO_CONSENT,
    consent_valid_since,
    marketing_purpose_id,
    subscribed_without_consent,
    unsubscribe_without_consent,
)
from crm.services.retention import batch_session

CONSENT = Consent.__table__
CONTACT = Contact.__table__
#: Who the contacts' change history and the audit trail say unsubscribed them.
ACTOR = (None, "consent_expiry")


def consent_expiry(ctx: JobContext) -> None:
    """Lapse consents given longer ago than `CRM_CONSENT_VALID_DAYS` and not withdrawn.

    A renewed consent is a newer row and stays valid. A subscribed contact whose
    direct-marketing consent lapsed and who has no valid one left is unsubscribed, as
    one whose last one is withdrawn on the Consents tab (crm.services.consents); so is
    any other subscribed contact with no valid one (subscribed before the screens asked
    for it, or by a tool writing the database).
    """
    limit = consent_valid_since(ctx.config["CRM_CONSENT_VALID_DAYS"], ctx.now)
    postgres = ctx.engine.dialect.name == "postgresql"
    lapsing = CONSENT.c.withdrawn_at.is_(None) & (CONSENT.c.given_at < limit)
    with ctx.engine.connect() as conn:
        marketing = marketing_purpose_id(conn)
    unconsented = subscribed_without_consent(marketing, limit)
    ctx.counts.update(consents=0, unsubscribed=0)
    if ctx.dry_run:
        with ctx.engine.connect() as conn:
            ctx.counts["consents"] = conn.scalar(
                sa.select(sa.func.count()).select_from(CONSENT).where(lapsing))
            ctx.counts["unsubscribed"] = conn.scalar(
                sa.select(sa.func.count()).select_from(CONTACT).where(unconsented))
        return
    after = 0
    batch_size = ctx.config["CRM_RETENTION_BATCH_SIZE"]
    while True:
        with ctx.engine.connect() as conn:
            ids = list(conn.scalars(sa.select(CONSENT.c.id).where(CONSENT.c.id > after, lapsing)
                                    .order_by(CONSENT.c.id).limit(batch_size)))
        if not ids:
            break
        after = ids[-1]
        with batch_session(ctx.engine) as session:
            chosen = in_values(CONSENT.c.id, ids, postgres) & lapsing
            people = list(session.scalars(sa.select(CONSENT.c.contact_id).distinct().where(
                chosen, CONSENT.c.purpose_id == marketing)))
            ctx.counts["consents"] += session.execute(
                CONSENT.update().where(chosen).values(withdrawn_at=ctx.now)).rowcount
            ctx.counts["unsubscribed"] += unsubscribe_without_consent(
                session, people, purpose_id=marketing, since=limit, now=ctx.now,
                actor=ACTOR, reason=LAPSED)
        ctx.heartbeat()
    after = 0
    # Then whoever else is subscribed with no valid consent: none lapsed, none at all.
    while True:
        with ctx.engine.connect() as conn:
            ids = list(conn.scalars(sa.select(CONTACT.c.id).where(CONTACT.c.id > after,
                                                                   unconsented)
                                    .order_by(CONTACT.c.id).limit(batch_size)))
        if not ids:
            return
        after = ids[-1]
        with batch_session(ctx.engine) as session:
            ctx.counts["unsubscribed"] += unsubscribe_without_consent(
                session, ids, purpose_id=marketing, since=limit, now=ctx.now, actor=ACTOR,
                reason=NO_CONSENT)
        ctx.heartbeat()


def session_purge(ctx: JobContext) -> None:
    """Delete sign-in sessions past their idle or absolute deadline."""
    with ctx.engine.connect() as conn:
        ctx.counts["sessions"] = purge_expired(conn, ctx.app)
        if ctx.dry_run:
            conn.rollback()
        else:
            conn.commit()
