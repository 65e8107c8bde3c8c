"""Consent expiry and the purge of expired sign-in sessions."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from crm.jobs.context import JobContext
from crm.models import Consent, Contact, MarketingStatus, Purpose
from crm.privacy.anonymise import in_values
from crm.security.sessions import purge_expired
from crm.services.retention import batch_session

CONSENT = Consent.__table__
CONTACT = Contact.__table__
MARKETING_PURPOSE = "direct_marketing"


def consent_expiry(ctx: JobContext) -> None:
    """Lapse consents given longer ago than `CRM_CONSENT_VALID_DAYS` and not withdrawn.

    A renewed consent is a newer row and stays valid. A subscribed contact whose
    direct-marketing consent lapsed and who has no valid one left is unsubscribed
    (and its version moves on, so an edit form opened before cannot undo it).
    """
    limit = ctx.now - timedelta(days=ctx.config["CRM_CONSENT_VALID_DAYS"])
    postgres = ctx.engine.dialect.name == "postgresql"
    lapsing = CONSENT.c.withdrawn_at.is_(None) & (CONSENT.c.given_at < limit)
    with ctx.engine.connect() as conn:
        marketing = conn.scalar(sa.select(Purpose.id).where(Purpose.code == MARKETING_PURPOSE))
    valid = sa.alias(CONSENT, "valid")
    still_consented = sa.exists().where(
        valid.c.contact_id == CONTACT.c.id, valid.c.purpose_id == marketing,
        valid.c.withdrawn_at.is_(None), valid.c.given_at >= limit)
    subscribed = CONTACT.c.marketing_status == MarketingStatus.subscribed.value
    ctx.counts.update(consents=0, unsubscribed=0)
    if ctx.dry_run:
        with ctx.engine.connect() as conn:
            ctx.counts["consents"] = conn.scalar(
                sa.select(sa.func.count()).select_from(CONSENT).where(lapsing))
            ctx.counts["unsubscribed"] = conn.scalar(
                sa.select(sa.func.count()).select_from(CONTACT).where(
                    subscribed, ~still_consented,
                    sa.exists().where(CONSENT.c.contact_id == CONTACT.c.id,
                                      CONSENT.c.purpose_id == marketing, lapsing)))
        return
    after = 0
    batch_size = ctx.config["CRM_RETENTION_BATCH_SIZE"]
    while True:
        with ctx.engine.connect() as conn:
            ids = list(conn.scalars(sa.select(CONSENT.c.id).where(CONSENT.c.id > after, lapsing)
                                    .order_by(CONSENT.c.id).limit(batch_size)))
        if not ids:
            return
        after = ids[-1]
        with batch_session(ctx.engine) as session:
            chosen = in_values(CONSENT.c.id, ids, postgres) & lapsing
            people = list(session.scalars(sa.select(CONSENT.c.contact_id).distinct().where(
                chosen, CONSENT.c.purpose_id == marketing)))
            ctx.counts["consents"] += session.execute(
                CONSENT.update().where(chosen).values(withdrawn_at=ctx.now)).rowcount
            if people:
                ctx.counts["unsubscribed"] += session.execute(
                    CONTACT.update()
                    .where(in_values(CONTACT.c.id, people, postgres), subscribed,
                           ~still_consented)
                    .values(marketing_status=MarketingStatus.unsubscribed.value,
                            updated_at=ctx.now, version=CONTACT.c.version + 1)).rowcount
        ctx.heartbeat()


def session_purge(ctx: JobContext) -> None:
    """Delete sign-in sessions past their idle or absolute deadline."""
    with ctx.engine.connect() as conn:
        ctx.counts["sessions"] = purge_expired(conn, ctx.app)
        if ctx.dry_run:
            conn.rollback()
        else:
            conn.commit()
