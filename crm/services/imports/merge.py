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
  and a provenance row for the list; which of the line's values the register holds
  differently (and keeps) is noted, to show the line numbers (`not_taken`);
- a new contact is added with the list as its source, the legal basis "position
  in the target company" and a provenance row owing the Art. 14 notice;
- organisations are found by business id, then by exact name, else added.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from crm.models import Contact, Organisation, Provenance, Purpose, SuppressionEntry, contact_purpose
from crm.models.base import AwareDateTime
from crm.privacy.suppression import suppression_hash, suppression_hash_sql
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
    # A merged row's values the register holds differently and keeps: a sum of KEPT's bits.
    sa.Column("kept", sa.Integer),
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
          "organisation", "business_id", "action")
#: Purposes of a purchased list's people: new customer relationships (by direct marketing).
LIST_PURPOSES = ("new_business",)
ACTIONS = ("new", "merged", "duplicate", "suppressed", "opted_out")
NEW = R.action.is_(None)
#: Outcomes whose line numbers the import reports (new lines are the rest).
LISTED_ACTIONS = ("merged", "duplicate", "suppressed", "opted_out")
#: A merged line's fields whose values the register may hold differently, and their bits.
KEPT = {"first_name": 1, "last_name": 2, "title": 4, "phone": 8, "organisation": 16}
#: Line numbers reported per outcome or field; the count says how many there are.
SHOWN_LINES = 50


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


def _insert_from(table: sa.Table, values: dict, where, from_=None,
                 order_by=None) -> sa.Insert:
    """Return INSERT INTO table SELECT values FROM from_ WHERE ..., with the defaults."""
    values = _defaults(table, values)
    select = sa.select(*(v.label(k) for k, v in values.items())).where(*where)
    if from_ is not None:
        select = select.select_from(from_)
    if order_by is not None:
        select = select.order_by(order_by)
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
        #: Seconds spent in each phase, for the benchmark (crm.bench.imports).
        self.seconds: dict[str, float] = {}
        #: After `run`: the first line numbers of each outcome but new (LISTED_ACTIONS).
        self.lines: dict[str, list[int]] = {}
        #: After `run`: field -> merged lines whose value there the register holds
        #: differently and keeps, and the first of their line numbers.
        self.not_taken: dict[str, int] = {}
        self.not_taken_lines: dict[str, list[int]] = {}
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

    @contextmanager
    def _phase(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started

    # -- loading ----------------------------------------------------------------

    def load(self, rows: Iterable[Row]) -> int:
        """Put the checked rows into the staging table; return how many.

        A line repeating an earlier line's person (same email, else same phone) is
        marked a duplicate on the way in: the rows come in line order. Each row is
        copied as soon as it is checked; only the keys seen are kept in memory.
        """
        with self._phase("read_check_stage"):
            return self._load(rows)

    def _load(self, rows: Iterable[Row]) -> int:
        count = 0
        seen: set[str] = set()

        def staged(row: Row) -> tuple:
            key = row[5] or row[6]  # the email key, else the phone
            if key in seen:
                return (*row, "duplicate")
            seen.add(key)
            return (*row, None)

        if self.postgres:
            raw = self.conn.connection.driver_connection
            with raw.cursor() as cursor, cursor.copy(
                    f"COPY {STAGING.name} ({', '.join(LOADED)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(staged(row))
                    count += 1
            self._analyze(STAGING, "action", "contact_id")
            return count
        batch: list[dict] = []
        for row in rows:
            batch.append(dict(zip(LOADED, staged(row), strict=True)))
            if len(batch) == 5000:
                count += self._insert_batch(batch)
        count += self._insert_batch(batch)
        for column in ("email_key", "phone"):
            self.conn.exec_driver_sql(f"CREATE INDEX temp.ix_{STAGING.name}_{column} "
                                      f"ON {STAGING.name} ({column})")
        return count

    def _analyze(self, table: sa.Table, *columns: str) -> None:
        """Give PostgreSQL's planner the temporary table's statistics (autovacuum never
        sees temporary tables): the row counts decide between index lookups and scans,
        and a plan made for the wrong counts can take seconds instead of milliseconds.

        :param columns: the columns whose values the next statements filter or join on.
        """
        if self.postgres:
            self.conn.exec_driver_sql(f"ANALYZE {table.name} ({', '.join(columns)})")

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
        with self._phase("match"):
            self._mark_suppressed()
            self._match_contacts()
        with self._phase("organisations"):
            new_orgs = self._organisations()
        counts = {action: 0 for action in ACTIONS}
        for action, count in self.conn.execute(
                sa.select(R.action, sa.func.count()).group_by(R.action)):
            counts[action or "new"] = count
        with self._phase("update_merged"):
            counts["updated"] = self._update_merged()
        with self._phase("add_new"):
            self._add_new()
        with self._phase("provenance_merged"):
            self._record_provenance()
        linked = self.conn.scalar(sa.select(sa.func.count()).select_from(ORGS)
                                  .where(ORGS.c.organisation_id.is_not(None)))
        counts.update(organisations_new=new_orgs, organisations_matched=linked - new_orgs)
        with self._phase("line_numbers"):
            self.lines = self._line_numbers(counts)
            self.not_taken, self.not_taken_lines = self._not_taken()
        return counts

    # -- which lines were what (line numbers only, never values) ------------------------

    def _first_lines(self, condition: sa.ColumnElement[bool]) -> list[int]:
        return list(self.conn.scalars(sa.select(R.line).where(condition)
                                      .order_by(R.line).limit(SHOWN_LINES)))

    def _line_numbers(self, counts: dict[str, int]) -> dict[str, list[int]]:
        """Return the first SHOWN_LINES line numbers of each outcome but new: one query
        per outcome that has lines."""
        return {action: self._first_lines(R.action == action)
                for action in LISTED_ACTIONS if counts.get(action)}

    def _not_taken(self) -> tuple[dict[str, int], dict[str, list[int]]]:
        """Return how many merged lines had a value the register holds differently (and
        kept), per field, and the first SHOWN_LINES line numbers of each."""
        totals = self.conn.execute(sa.select(*(
            sa.func.coalesce(sa.func.sum(sa.case((R.kept.op("&")(bit) != 0, 1), else_=0)), 0)
            for bit in KEPT.values())).where(R.kept > 0)).one()
        counts = {name: total for name, total in zip(KEPT, totals, strict=True) if total}
        return counts, {name: self._first_lines(R.kept.op("&")(KEPT[name]) != 0)
                        for name in counts}

    def _hash(self, kind: str, column: sa.ColumnElement) -> sa.ColumnElement:
        """SQL for `suppression_hash(kind, value)` of normalised values (email lower-cased)."""
        if not self.postgres:
            return sa.func.crm_suppression_hash(kind, column, type_=sa.LargeBinary)
        return suppression_hash_sql(kind, column, self.key)

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
        if self.postgres:
            self._find_contacts_row_by_row()
        else:
            self._find_contacts_by_joins()
        matched = sa.and_(NEW, R.contact_id.is_not(None))
        opted_out = sa.or_(c.marketing_status == "unsubscribed", c.objected_at.is_not(None))
        self.conn.execute(STAGING.update().where(matched, R.contact_id == c.id, opted_out)
                          .values(action="opted_out"))
        firsts = sa.select(sa.func.min(R.line)).where(matched).group_by(R.contact_id)
        self.conn.execute(STAGING.update().where(matched, R.line.not_in(firsts))
                          .values(action="duplicate"))
        self.conn.execute(STAGING.update().where(matched, R.contact_id == c.id)
                          .values(action="merged", kept=self._kept()))
        # An existing contact keeps the organisation it has.
        self.conn.execute(STAGING.update().where(
            R.action == "merged", R.contact_id == c.id, c.organisation_id.is_not(None))
            .values(organisation=None, business_id=None))
        # What follows joins the staged rows by their fate and organisation.
        self._analyze(STAGING, "action", "contact_id", "organisation", "business_id")

    def _lower(self, value: sa.ColumnElement) -> sa.ColumnElement:
        """lower() as Python does it (SQLite's own lower-cases only ASCII letters)."""
        return sa.func.lower(value) if self.postgres else sa.func.crm_lower(value)

    def _kept(self) -> sa.ColumnElement[int]:
        """SQL of a matched row's KEPT bits: the fields whose value the register holds
        differently, and keeps (names and titles in any case; a phone the contact has as
        its phone or mobile is held; an organisation is the same by business id when both
        have one, else by name in any case)."""
        c, o = CONTACT.c, ORGANISATION.c

        def differs(value, held) -> sa.ColumnElement[bool]:
            return sa.and_(value.is_not(None), held.is_not(None),
                           self._lower(value) != self._lower(held))

        both_ids = sa.and_(R.business_id.is_not(None), o.business_id.is_not(None))
        same_organisation = sa.or_(
            sa.and_(both_ids, o.business_id == R.business_id),
            sa.and_(sa.not_(both_ids), self._lower(o.name) == self._lower(R.organisation)))
        differing = {
            "first_name": differs(R.first_name, c.first_name),
            "last_name": differs(R.last_name, c.last_name),
            "title": differs(R.title, c.title),
            "phone": sa.and_(R.phone.is_not(None), c.phone.is_not(None), c.phone != R.phone,
                             c.mobile.is_distinct_from(R.phone)),
            "organisation": sa.and_(R.organisation.is_not(None), sa.exists().where(
                o.id == c.organisation_id, sa.not_(same_organisation))),
        }
        return sum((sa.case((condition, KEPT[name]), else_=0)
                    for name, condition in differing.items()), sa.literal(0))

    def _find_contacts_row_by_row(self) -> None:
        """Set each new row's contact from index lookups (PostgreSQL).

        A list's people are mostly new: one index probe per row (a few microseconds)
        costs far less than hashing the whole register's lower-cased emails, which is
        what the planner picks for a join of 100,000 rows.
        """
        c = CONTACT.c
        open_ = c.anonymised_at.is_(None)
        by_email = (sa.select(sa.func.min(c.id))
                    .where(sa.func.lower(c.email) == R.email_key, c.email.is_not(None), open_)
                    .scalar_subquery())
        # Differing emails are different people.
        no_other_email = sa.or_(R.email_key.is_(None), c.email.is_(None))
        by_phone = [sa.select(sa.func.min(c.id)).where(column == R.phone, open_, no_other_email)
                    .scalar_subquery() for column in (c.phone, c.mobile)]
        found = (sa.select(R.line, sa.func.coalesce(by_email, sa.func.least(*by_phone))
                           .label("id")).where(NEW).subquery())
        self.conn.execute(STAGING.update().where(R.line == found.c.line, found.c.id.is_not(None))
                          .values(contact_id=found.c.id))

    def _find_contacts_by_joins(self) -> None:
        """Set each new row's contact by joining the register (SQLite, lower-casing
        emails as Python does, as the email keys were)."""
        c = CONTACT.c
        open_ = sa.and_(NEW, c.anonymised_at.is_(None))
        by_email = (sa.select(R.line, sa.func.min(c.id).label("id")).select_from(STAGING)
                    .join(CONTACT, sa.func.crm_lower(c.email) == R.email_key)
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

    # -- organisations ----------------------------------------------------------------

    def _organisations(self) -> int:
        """Find or add the list's organisations; return how many were added."""
        o, g = ORGANISATION.c, ORGS.c
        self.conn.execute(ORGS.insert().from_select(
            ["business_id", "name"],
            sa.select(R.business_id, R.organisation).distinct()
            .where(sa.or_(NEW, R.action == "merged"), R.organisation.is_not(None))))
        self._analyze(ORGS, "business_id", "name")
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
            # In email order, the four indexes on the email take their new entries
            # page by page rather than all over the index.
            new = (_insert_from(CONTACT, values, [NEW], rows, order_by=R.email_key)
                   .returning(CONTACT.c.id).cte("new_contact"))
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
