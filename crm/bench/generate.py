"""Generate many invented contacts fast: COPY on PostgreSQL, batched inserts on SQLite."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from crm.models import Activity, Contact, Organisation
from crm.services.contacts import own_activity_source
from crm.services.demo import FIRST_NAMES, LAST_NAMES, business_id

CONTACT_COLUMNS = ("first_name", "last_name", "title", "organisation_id", "email", "phone",
                   "country", "language", "legal_basis", "source_id", "marketing_status",
                   "last_activity_at", "legal_hold", "created_at", "updated_at", "version")
ORG_COLUMNS = ("name", "business_id", "customer_status", "visiting_city", "relationship_end",
               "legal_hold", "created_at", "updated_at", "version")
STATUSES = ("customer", "prospect", "partner", "former_customer")
#: Share of contacts past retention (DESIGN §10: "600k expired" of 1M).
EXPIRED_SHARE = 0.6


def _org_rows(count: int, start: int, now: datetime) -> Iterator[tuple]:
    for i in range(start, start + count):
        status = STATUSES[i % 4]
        ended = None
        if status == "former_customer":
            # Half of the former customers ended over five years ago (past retention).
            ended = (now - timedelta(days=2200 if i % 8 == 3 else 700)).date()
        yield (f"Bench Org {i:07d} Oy", business_id(3000000 + i * 7 % 6000000),
               status, "Kouvola", ended, False, now, now, 1)


def _contact_rows(count: int, start: int, org_ids: list[int], expiring_org_ids: list[int],
                  source_id: int, rnd: random.Random, now: datetime) -> Iterator[tuple]:
    for i in range(start, start + count):
        first, last = rnd.choice(FIRST_NAMES), rnd.choice(LAST_NAMES)
        # Around 60 % of the contacts have been silent for over two years, in prospects
        # or in former customers whose relationship ended over five years ago: expired.
        if rnd.random() < EXPIRED_SHARE:
            days, org_id = rnd.randint(760, 2000), expiring_org_ids[i % len(expiring_org_ids)]
        else:
            days, org_id = rnd.randint(1, 700), org_ids[i % len(org_ids)]
        yield (first, f"{last}{i}", "IT Manager", org_id,
               f"bench{i}@bench{i % 997}.example", f"+35850{i:07d}", "FI", "fi", "position",
               source_id, ("subscribed", "unsubscribed", "never")[i % 3],
               now - timedelta(days=days), False, now, now, 1)


def existing_contacts(session: Session) -> int:
    return session.scalar(sa.select(sa.func.count(Contact.id)))


def generate(session: Session, contacts: int, seed: int = 1) -> None:
    """Add `contacts` generated contacts in organisations of 20 people each, and an
    activity for every ACTIVITY_EVERY-th of them."""
    rnd = random.Random(seed)
    now = datetime.now(UTC)
    source_id = own_activity_source(session).id
    start = session.scalar(sa.select(sa.func.coalesce(sa.func.max(Organisation.id), 0)))
    org_count = max(1, contacts // 20)
    _insert(session, Organisation.__table__, ORG_COLUMNS, _org_rows(org_count, start + 1, now))
    orgs = session.execute(sa.select(Organisation.id, Organisation.customer_status,
                                     Organisation.relationship_end)
                           .where(Organisation.id > start).order_by(Organisation.id)).all()
    long_ago = (now - timedelta(days=1826)).date()
    # Active people are in any organisation but a long-gone customer (whose people expire).
    org_ids = [org_id for org_id, _, ended in orgs if ended is None or ended >= long_ago]
    expiring = [org_id for org_id, status, ended in orgs
                if status == "prospect" or (ended is not None and ended < long_ago)]
    first = session.scalar(sa.select(sa.func.coalesce(sa.func.max(Contact.id), 0))) + 1
    _insert(session, Contact.__table__, CONTACT_COLUMNS,
            _contact_rows(contacts, first, org_ids or expiring, expiring or org_ids, source_id,
                          rnd, now))
    _add_activities(session, first)
    session.commit()
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("ANALYZE organisation"))
        session.execute(sa.text("ANALYZE contact"))
        session.execute(sa.text("ANALYZE activity"))
        session.commit()


#: Every ACTIVITY_EVERY-th generated contact has an activity: the call, meeting or
#: email that set its last activity date, with a subject and notes to scrub.
ACTIVITY_EVERY = 2
ACTIVITY_KINDS = ("call", "meeting", "email", "note")


def _add_activities(session: Session, first: int) -> None:
    """Add the activities of the contacts from id `first` on, set-based."""
    contact, activity = Contact.__table__, Activity.__table__
    kind = sa.case(*((contact.c.id % len(ACTIVITY_KINDS) == i, sa.literal(k))
                     for i, k in enumerate(ACTIVITY_KINDS)))
    chosen = (sa.select(contact.c.id, contact.c.organisation_id, kind.label("kind"),
                        sa.literal("Follow-up on the offer").label("subject"),
                        sa.literal("Asked for a new offer in the spring.").label("body"),
                        contact.c.last_activity_at, contact.c.created_at)
              .where(contact.c.id >= first, contact.c.id % ACTIVITY_EVERY == 0))
    session.execute(activity.insert().from_select(
        ["contact_id", "organisation_id", "kind", "subject", "body", "occurred_at",
         "created_at"], chosen))


def _insert(session: Session, table: sa.Table, columns: tuple[str, ...],
            rows: Iterator[tuple]) -> None:
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        raw = connection.connection.driver_connection
        with raw.cursor() as cursor, cursor.copy(
                f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    batch: list[dict] = []
    for row in rows:
        batch.append(dict(zip(columns, row, strict=True)))
        if len(batch) == 5000:
            connection.execute(table.insert(), batch)
            batch.clear()
    if batch:
        connection.execute(table.insert(), batch)
