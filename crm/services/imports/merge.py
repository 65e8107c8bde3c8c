"""Merging checked rows into the register with a staging table and set-based statements.

The rows go into a temporary table (COPY on PostgreSQL, batched inserts on SQLite),
and a handful of statements decide each row's fate and apply it, all in the
caller's transaction:

- a line repeating an earlier line's person (same email, else same phone) is a
  duplicate; so is a second line matching the same existing contact;
- a person on the suppression list (erased or opted out) is skipped;
- an existing contact is found by email (any case), else by phone or mobile when
  the line or the contact has no email (differing emails are different people);
  one who unsubscribed from marketing or objected to it is skipped;
- an existing contact gets only what it lacks (title, email, phone, organisation),
  and a provenance row for the list;
- a new contact is added with the list as its source, the legal basis "position
  in the target company" and a provenance row owing the Art. 14 notice;
- organisations are found by business id, then by exact name, else added.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from crm.models import Contact, Organisation, Provenance, Purpose, SuppressionEntry, contact_purpose
from crm.models.base import AwareDateTime
from crm.privacy.anonymise import hmac_pads
from crm.privacy.suppression import suppression_hash
from crm.services.imports.parsing import Row

CONTACT = Contact.__table__
ORGANISATION = Organisation.__table__
PROVENANCE = Provenance.__table__
SUPPRESSION = SuppressionEntry.__table__

STAGING = sa.Table(
    "crm_import_row", sa.MetaData(),
    sa.Column("line", sa.Integer, primary_key=True),
    sa.Column("first_name", sa.String(100)),
    sa.Column("last_name", sa.String(100)),
    sa.Column("title", sa.String(200)),
    sa.Column("email", sa.String(320)),
    sa.Column("email_key", sa.String(320)),
    sa.Column("phone", sa.String(32)),
    sa.Column("organisation", sa.String(200)),
    sa.Column("business_id", sa.String(9)),
    # What becomes of the row: duplicate, suppressed, opted_out, merged, or (NULL) new.
    sa.Column("action", sa.String(12)),
    sa.Column("contact_id", sa.Integer),
    prefixes=["TEMPORARY"], postgresql_on_commit="DROP",
)
#: The list's organisations, one row per (business id, name): few rows to resolve.
ORGS = sa.Table(
    "crm_import_org", sa.MetaData(),
    sa.Column("business_id", sa.String(9)),
    sa.Column("name", sa.String(200)),
    sa.Column("organisation_id", sa.Integer),
    prefixes=["TEMPORARY"], postgresql_on_commit="DROP",
)
R = STAGING.c
LOADED = ("line", "first_name", "last_name", "title", "email", "email_key", "phone",
          "organisation", "business_id")
#: Purposes of a purchased list's people: new customer relationships (by direct marketing).
LIST_PURPOSES = ("new_business",)
ACTIONS = ("new", "merged", "duplicate", "suppressed", "opted_out")
NEW = R.action.is_(None)


def _defaults(table: sa.Table, given: dict) -> dict:
    """Return `given` plus the Python-side defaults of the table's other columns."""
    values = dict(given)
    for column in table.columns:
        default = column.default
        if column.name in values or default is None or column.primary_key:
            continue
        if default.is_scalar:
            values[column.name] = sa.literal(default.arg, column.type)
        elif default.is_callable:
            values[column.name] = sa.literal(default.arg(None), column.type)
    return values


def _insert_from(table: sa.Table, values: dict, where, from_=None) -> sa.Insert:
    """Return INSERT INTO table SELECT values FROM from_ WHERE ..., with the defaults."""
    values = _defaults(table, values)
    select = sa.select(*(v.label(k) for k, v in values.items())).where(*where)
    if from_ is not None:
        select = select.select_from(from_)
    return table.insert().from_select(list(values), select)


class Merge:
    """One list's rows, staged and merged on the session's connection and transaction."""

    def __init__(self, session: Session, *, source_id: int, now: datetime,
                 art14_due_on: date, suppression_key: str) -> None:
        self.conn = session.connection()
        self.postgres = self.conn.dialect.name == "postgresql"
        self.source_id = source_id
        self.now = sa.literal(now, AwareDateTime)
        self.art14_due_on = art14_due_on
        self.key = suppression_key
        if self.postgres:
            # Large one-off statements: JIT compilation costs more than it saves.
            self.conn.exec_driver_sql("SET LOCAL jit = off")
            self.conn.exec_driver_sql("SET LOCAL work_mem = '64MB'")
        else:
            raw = self.conn.connection.driver_connection
            raw.create_function("crm_lower", 1,
                                lambda v: None if v is None else v.lower(), deterministic=True)
            raw.create_function(
                "crm_suppression_hash", 2,
                lambda kind, v: None if v is None else suppression_hash(kind, v, suppression_key),
                deterministic=True)
            for table in (STAGING, ORGS):
                self.conn.exec_driver_sql(f"DROP TABLE IF EXISTS temp.{table.name}")
        STAGING.create(self.conn)
        ORGS.create(self.conn)

    # -- loading ----------------------------------------------------------------

    def load(self, rows: Iterable[Row]) -> int:
        """Put the checked rows into the staging table; return how many."""
        count = 0
        if self.postgres:
            raw = self.conn.connection.driver_connection
            with raw.cursor() as cursor, cursor.copy(
                    f"COPY {STAGING.name} ({', '.join(LOADED)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
                    count += 1
            self.conn.exec_driver_sql(f"ANALYZE {STAGING.name}")
            return count
        batch: list[dict] = []
        for row in rows:
            batch.append(dict(zip(LOADED, row, strict=True)))
            if len(batch) == 5000:
                count += self._insert_batch(batch)
        count += self._insert_batch(batch)
        for column in ("email_key", "phone"):
            self.conn.exec_driver_sql(f"CREATE INDEX temp.ix_{STAGING.name}_{column} "
                                      f"ON {STAGING.name} ({column})")
        return count

    def _insert_batch(self, batch: list[dict]) -> int:
        if batch:
            self.conn.execute(STAGING.insert(), batch)
        done = len(batch)
        batch.clear()
        return done

    def drop(self) -> None:
        if not self.postgres:  # PostgreSQL drops them at commit (or rollback)
            for table in (STAGING, ORGS):
                table.drop(self.conn, checkfirst=True)

    # -- deciding each row's fate ---------------------------------------------------

    def run(self) -> dict[str, int]:
        """Merge the staged rows; return counts per outcome (no values)."""
        self._mark_duplicates()
        self._mark_suppressed()
        self._match_contacts()
        new_orgs = self._organisations()
        counts = {action: 0 for action in ACTIONS}
        for action, count in self.conn.execute(
                sa.select(R.action, sa.func.count()).group_by(R.action)):
            counts[action or "new"] = count
        counts["updated"] = self._update_merged()
        self._add_new()
        self._record_provenance()
        linked = self.conn.scalar(sa.select(sa.func.count()).select_from(ORGS)
                                  .where(ORGS.c.organisation_id.is_not(None)))
        counts.update(organisations_new=new_orgs, organisations_matched=linked - new_orgs)
        return counts

    def _mark_duplicates(self) -> None:
        key = sa.func.coalesce(R.email_key, R.phone)
        firsts = sa.select(sa.func.min(R.line)).group_by(key)
        self.conn.execute(STAGING.update().where(R.line.not_in(firsts))
                          .values(action="duplicate"))

    def _hash(self, kind: str, column: sa.ColumnElement) -> sa.ColumnElement:
        """SQL for `suppression_hash(kind, value)` of normalised values (email lower-cased)."""
        if not self.postgres:
            return sa.func.crm_suppression_hash(kind, column)
        # HMAC-SHA256 from PostgreSQL's sha256(): H(K^opad || H(K^ipad || message)).
        inner_pad, outer_pad = hmac_pads(self.key)
        message = sa.func.convert_to(sa.literal(f"{kind}:") + column, "UTF8")
        inner = sa.func.sha256(sa.literal(inner_pad, sa.LargeBinary)
                               .op("||", return_type=sa.LargeBinary)(message))
        outer = sa.func.sha256(sa.literal(outer_pad, sa.LargeBinary)
                               .op("||", return_type=sa.LargeBinary)(inner))
        return sa.func.encode(outer, "hex")

    def _mark_suppressed(self) -> None:
        if self.conn.scalar(sa.select(SUPPRESSION.c.id).limit(1)) is None:
            return
        hashes = sa.select(SUPPRESSION.c.key_hash)
        listed = sa.or_(
            sa.and_(R.email_key.is_not(None), self._hash("email", R.email_key).in_(hashes)),
            sa.and_(R.phone.is_not(None), self._hash("phone", R.phone).in_(hashes)))
        self.conn.execute(STAGING.update().where(NEW, listed).values(action="suppressed"))

    def _match_contacts(self) -> None:
        c = CONTACT.c
        lower = sa.func.lower if self.postgres else sa.func.crm_lower
        open_ = sa.and_(NEW, c.anonymised_at.is_(None))
        by_email = (sa.select(R.line, sa.func.min(c.id).label("id")).select_from(STAGING)
                    .join(CONTACT, lower(c.email) == R.email_key)
                    .where(open_, c.email.is_not(None)).group_by(R.line).subquery())
        self.conn.execute(STAGING.update().where(R.line == by_email.c.line)
                          .values(contact_id=by_email.c.id))
        unmatched = sa.and_(open_, R.contact_id.is_(None), R.phone.is_not(None),
                            sa.or_(R.email_key.is_(None), c.email.is_(None)))
        phones = sa.union_all(*(
            sa.select(R.line.label("line"), c.id.label("id")).select_from(STAGING)
            .join(CONTACT, column == R.phone).where(unmatched)
            for column in (c.phone, c.mobile))).subquery()
        by_phone = (sa.select(phones.c.line, sa.func.min(phones.c.id).label("id"))
                    .group_by(phones.c.line).subquery())
        self.conn.execute(STAGING.update().where(R.line == by_phone.c.line)
                          .values(contact_id=by_phone.c.id))
        opted_out = sa.or_(c.marketing_status == "unsubscribed", c.objected_at.is_not(None))
        self.conn.execute(STAGING.update().where(NEW, R.contact_id == c.id, opted_out)
                          .values(action="opted_out"))
        matched = sa.and_(NEW, R.contact_id.is_not(None))
        firsts = sa.select(sa.func.min(R.line)).where(matched).group_by(R.contact_id)
        self.conn.execute(STAGING.update().where(matched, R.line.not_in(firsts))
                          .values(action="duplicate"))
        # An existing contact keeps the organisation it has.
        self.conn.execute(STAGING.update().where(
            matched, R.contact_id == c.id, c.organisation_id.is_not(None))
            .values(organisation=None, business_id=None))
        self.conn.execute(STAGING.update().where(matched).values(action="merged"))

    # -- organisations ----------------------------------------------------------------

    def _organisations(self) -> int:
        """Find or add the list's organisations; return how many were added."""
        o, g = ORGANISATION.c, ORGS.c
        self.conn.execute(ORGS.insert().from_select(
            ["business_id", "name"],
            sa.select(R.business_id, R.organisation).distinct()
            .where(sa.or_(NEW, R.action == "merged"), R.organisation.is_not(None))))
        open_ = g.organisation_id.is_(None)
        with_id = sa.and_(open_, g.business_id.is_not(None))
        without_id = sa.and_(open_, g.business_id.is_(None))

        def by_business_id() -> None:
            self.conn.execute(ORGS.update().where(with_id, o.business_id == g.business_id)
                              .values(organisation_id=o.id))

        def by_name(entries, org_condition) -> None:
            names = (sa.select(o.name, sa.func.min(o.id).label("id"))
                     .where(org_condition, o.name.in_(sa.select(g.name).where(entries)))
                     .group_by(o.name).subquery())
            self.conn.execute(ORGS.update().where(entries, g.name == names.c.name)
                              .values(organisation_id=names.c.id))

        def add(entries, key) -> int:
            values = _defaults(ORGANISATION, {
                "name": sa.func.min(g.name), "business_id": sa.func.min(g.business_id),
                "customer_status": sa.literal("prospect"), "created_at": self.now,
                "updated_at": self.now})
            select = (sa.select(*(v.label(k) for k, v in values.items()))
                      .where(entries).group_by(key))
            return len(self.conn.execute(ORGANISATION.insert().from_select(list(values), select)
                                         .returning(o.id)).all())

        by_business_id()
        # A name whose organisation has no business id yet is the same organisation.
        by_name(with_id, o.business_id.is_(None))
        added = add(with_id, g.business_id)
        by_business_id()
        by_name(without_id, sa.true())
        added += add(without_id, g.name)
        by_name(without_id, sa.true())
        return added

    def _org_of_row(self) -> sa.ColumnElement[bool]:
        """Join condition of a staged row to its organisation entry (hashable on both)."""
        g = ORGS.c
        return sa.and_(g.name == R.organisation,
                       sa.func.coalesce(g.business_id, "") == sa.func.coalesce(R.business_id, ""))

    # -- writing the contacts -------------------------------------------------------------

    def _update_merged(self) -> int:
        """Give the existing contacts what they lack; return how many changed."""
        c = CONTACT.c
        rows = (sa.select(R.contact_id, R.title, R.email, R.phone,
                          ORGS.c.organisation_id.label("organisation_id"))
                .select_from(STAGING.outerjoin(ORGS, self._org_of_row()))
                .where(R.action == "merged").subquery())
        phone_missing = sa.and_(c.phone.is_(None), rows.c.phone.is_not(None),
                                c.mobile.is_distinct_from(rows.c.phone))
        lacking = sa.or_(sa.and_(c.title.is_(None), rows.c.title.is_not(None)),
                         sa.and_(c.email.is_(None), rows.c.email.is_not(None)), phone_missing,
                         sa.and_(c.organisation_id.is_(None),
                                 rows.c.organisation_id.is_not(None)))
        return self.conn.execute(CONTACT.update().where(c.id == rows.c.contact_id, lacking).values(
            title=sa.func.coalesce(c.title, rows.c.title),
            email=sa.func.coalesce(c.email, rows.c.email),
            phone=sa.case((phone_missing, rows.c.phone), else_=c.phone),
            organisation_id=sa.func.coalesce(c.organisation_id, rows.c.organisation_id),
            updated_at=self.now, version=c.version + 1)).rowcount

    def _add_new(self) -> None:
        """Add the new contacts with their purposes and provenance."""
        values = {
            "first_name": R.first_name, "last_name": R.last_name, "title": R.title,
            "organisation_id": ORGS.c.organisation_id, "email": R.email, "phone": R.phone,
            "source_id": sa.literal(self.source_id), "legal_basis": sa.literal("position"),
            "marketing_status": sa.literal("never"), "created_at": self.now,
            "updated_at": self.now}
        rows = STAGING.outerjoin(ORGS, self._org_of_row())
        purposes = sa.select(Purpose.id).where(Purpose.code.in_(LIST_PURPOSES)).subquery()
        provenance = {"source_id": sa.literal(self.source_id), "recorded_at": self.now,
                      "art14_due_on": sa.literal(self.art14_due_on, sa.Date)}
        if self.postgres:
            # One statement: the new ids flow from the insert into the two that follow.
            new = (_insert_from(CONTACT, values, [NEW], rows).returning(CONTACT.c.id)
                   .cte("new_contact"))
            with_purposes = contact_purpose.insert().from_select(
                ["contact_id", "purpose_id"],
                sa.select(new.c.id, purposes.c.id).select_from(new.join(purposes, sa.true()))
            ).cte("new_purpose")
            self.conn.execute(_insert_from(PROVENANCE, {"contact_id": new.c.id, **provenance},
                                           [], new)
                              .add_cte(new, nest_here=True)
                              .add_cte(with_purposes, nest_here=True))
            return
        # SQLite: number the new contacts first, so the rows that follow know their ids.
        base = self.conn.scalar(sa.select(sa.func.coalesce(sa.func.max(CONTACT.c.id), 0)))
        numbered = (sa.select(R.line, (sa.func.row_number().over(order_by=R.line) + base)
                              .label("id")).where(NEW).subquery())
        self.conn.execute(STAGING.update().where(R.line == numbered.c.line)
                          .values(contact_id=numbered.c.id))
        self.conn.execute(_insert_from(CONTACT, {"id": R.contact_id, **values}, [NEW], rows))
        self.conn.execute(contact_purpose.insert().from_select(
            ["contact_id", "purpose_id"],
            sa.select(R.contact_id, purposes.c.id)
            .select_from(STAGING.join(purposes, sa.true())).where(NEW)))
        self.conn.execute(_insert_from(PROVENANCE, {"contact_id": R.contact_id, **provenance},
                                       [NEW], STAGING))

    def _record_provenance(self) -> None:
        """Record the list as a source of the merged contacts too."""
        # The Art. 14 notice is owed, unless the person had it for an earlier list.
        p = PROVENANCE.alias("earlier")
        told = sa.exists().where(p.c.contact_id == R.contact_id,
                                 p.c.art14_notified_at.is_not(None))
        self.conn.execute(_insert_from(PROVENANCE, {
            "contact_id": R.contact_id, "source_id": sa.literal(self.source_id),
            "recorded_at": self.now,
            "art14_due_on": sa.case((told, sa.null()),
                                    else_=sa.literal(self.art14_due_on, sa.Date))},
            [R.action == "merged"], STAGING))
