"""Anonymisation: a person gone from every table, aggregate figures kept (DESIGN §8, §9.3).

`anonymise_contacts` anonymises a batch of people with a handful of set-based
statements inside the caller's transaction, so a batch is done completely or not at
all. What happens, table by table:

- contact: names become a placeholder; title, emails, phones, address, notes and
  relationship details are emptied; marketing status becomes "unsubscribed";
  `anonymised_at` is set and `version` moves on (an edit form opened before fails
  instead of writing the person back). Organisation, source, language, legal basis
  and dates stay: the counts per organisation, per source and per month.
- identifier, consent, contact_purpose, contact_change: deleted (identifiers, evidence
  of consent and the change history's old and new values are about the person and
  nothing else).
- provenance: kept, it holds only ids and dates (per-source counts remain); an
  Art. 14 notice not yet sent is no longer owed to nobody.
- activity: subject and body emptied; kind, date, author, organisation stay.
- callback_request: linked to them, or left with one of their emails or phones:
  name, organisation name, email, phone and message emptied; status and dates stay.
- data_subject_request: linked to them (or, once closed, from one of their emails or
  phones): requester details and free text emptied; type, status, dates and who
  verified stay, the record that the request was handled.
- organisation: a billing email that is one of their addresses is removed.
- user_session: search terms and pages naming them (FAB keeps a page history of
  full URLs in the session) are dropped from the stored sessions.
- suppression_entry: a keyed hash of each email and phone, so that a later import
  cannot bring the person back.
- audit_event and job_run hold ids, field names and counts, never values: untouched.

`TREATMENT` lists every table that points at a contact and what happens to it; a
test fails when a new one is added without saying. On PostgreSQL a batch is one
statement (data-modifying CTEs over the locked rows); on SQLite, whose single
writer the caller's transaction holds, one statement per table.

Nothing here logs or returns a personal value.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import unquote_plus

import sqlalchemy as sa
from flask import current_app
from flask_appbuilder import Model
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from crm.models import (
    Activity,
    CallbackRequest,
    Consent,
    Contact,
    DataSubjectRequest,
    Identifier,
    Organisation,
    Provenance,
    RequestStatus,
    SuppressionEntry,
    UserSession,
    contact_purpose,
)
from crm.models.base import AwareDateTime, utcnow
from crm.privacy.suppression import suppression_hash, suppression_hash_sql
from crm.security.sessions import SERIALIZER

CONTACT = Contact.__table__

#: What an anonymised contact's columns become; columns not named keep their values.
ANONYMOUS_CONTACT: dict[str, Any] = {
    "first_name": "",
    "last_name": "Anonymised",
    "title": None,
    "email": None,
    "alt_email": None,
    "phone": None,
    "mobile": None,
    "street_address": None,
    "postal_code": None,
    "city": None,
    "notes": None,
    "relationship_role": None,
    "relationship_notes": None,
    "marketing_status": "unsubscribed",
}

#: What a callback request about the person becomes (here, in the retention job, and in
#: an erasure of someone known only from callback requests, crm.services.erasure).
ANONYMOUS_CALLBACK: dict[str, Any] = {
    "name": "", "organisation_name": None, "email": None, "phone": None, "message": None}
#: What a data subject request about the person becomes: the record that it was handled.
ANONYMOUS_REQUEST: dict[str, Any] = {
    "requester_name": "", "requester_email": None, "requester_phone": None,
    "identity_verified_how": None, "extension_reason": None, "outcome": None}

_CLOSED = [RequestStatus.completed.value, RequestStatus.rejected.value]
_EMAILS = ("email", "alt_email")
_PHONES = ("phone", "mobile")
#: Tables of other modules whose rows about the person go with the person.
_DELETED_WITH_CONTACT = ("contact_change",)


def anonymise_contact(session: Session, contact_id: int, reason: str, *,
                      expected_version: int | None = None) -> bool:
    """Anonymise one person now, in the caller's transaction (erasure, §9.3).

    :param reason: why, for the suppression list: "erasure", "retention", ...
    :param expected_version: the contact's version the caller saw; a different one
        raises `StaleContact` (someone changed the record meanwhile).
    :return: False when the contact was anonymised already.
    """
    session.flush()
    row = session.execute(sa.select(CONTACT.c.version, CONTACT.c.anonymised_at)
                          .where(CONTACT.c.id == contact_id).with_for_update()).first()
    if row is None:
        raise LookupError(f"no contact {contact_id}")
    if row.anonymised_at is not None:
        return False
    if expected_version is not None and row.version != expected_version:
        raise StaleContact(contact_id)
    anonymise_contacts(session, [contact_id], reason=reason)
    # The statements above bypass the ORM: objects it holds must be read again.
    for obj in list(session.identity_map.values()):
        if isinstance(obj, _TOUCHED_MODELS):
            session.expire(obj)
    return True


class StaleContact(Exception):
    """The contact changed after the caller read it."""


COUNTS = ("contacts", "suppressed", "identifiers", "consents", "purposes", "activities",
          "provenance", "callback_requests", "requests", "organisations", "sessions", "skipped",
          *_DELETED_WITH_CONTACT)


def anonymise_contacts(session: Session, ids: Sequence[int], *, reason: str,
                       now: datetime | None = None, delete: bool = False,
                       key: str | None = None, versions: Mapping[int, int] | None = None,
                       condition: sa.ColumnElement[bool] | None = None) -> dict[str, int]:
    """Anonymise (or delete) the given contacts everywhere, in the caller's transaction.

    Contacts anonymised already are left alone. On PostgreSQL every row is locked
    first (FOR UPDATE SKIP LOCKED): a contact another transaction holds is skipped.

    :param reason: stored with the suppression entries ("retention", "erasure").
    :param delete: remove the contact rows too (a policy whose action is delete).
    :param key: the suppression key; the app's `CRM_SUPPRESSION_KEY` by default.
    :param versions: id -> the version the caller saw; a contact whose version has
        moved on since (a user's edit: optimistic locking) is skipped.
    :param condition: what each contact must still meet (e.g. "still expired").
    :return: counts of rows changed per kind, and of contacts skipped; no values.
    """
    anonymiser = ContactAnonymiser(
        session.get_bind().dialect.name == "postgresql", reason=reason,
        key=key or current_app.config["CRM_SUPPRESSION_KEY"], now=now or utcnow(),
        delete=delete, condition=condition, checks_versions=versions is not None)
    return anonymiser(session, ids, versions=versions)


class ContactAnonymiser:
    """Anonymises batches of contacts for one run: same reason, time and condition.

    On PostgreSQL a batch is one statement, built once and then run with each
    batch's ids: building its dozen data-modifying CTEs costs more Python time than
    PostgreSQL needs to run it for a thousand people.

    :param checks_versions: batches come with the versions their contacts had when
        chosen; a contact changed since is skipped.
    :param uses_locations: batches come with where each row was (PostgreSQL's ctid)
        when chosen, to find them without the index. A row since moved (changed) or
        reused by another contact is not found, or fails the id and version check.
    """

    def __init__(self, postgres: bool, *, reason: str, key: str, now: datetime,
                 delete: bool = False, condition: sa.ColumnElement[bool] | None = None,
                 checks_versions: bool = False, uses_locations: bool = False) -> None:
        self.sql = AnonymiserSql(postgres, key)
        self.reason, self.now, self.delete = reason, now, delete
        self.candidates = CONTACT.c.anonymised_at.is_(None)
        if condition is not None:
            self.candidates &= condition
        self.checks_versions = checks_versions
        self.uses_locations = uses_locations and postgres
        # Batches may run on several threads at once (crm.services.retention): each
        # keeps its own words of the sessions, and the statement is built once.
        self._local = threading.local()
        self._building = threading.Lock()
        self._statement: sa.Select | None = None

    @property
    def session_words(self) -> SessionWords:
        """This thread's words of the stored sessions (see `SessionWords`)."""
        if not hasattr(self._local, "words"):
            self._local.words = SessionWords()
        return self._local.words

    def forget_sessions(self) -> None:
        """Read the stored sessions afresh: a batch of this thread that scrubbed some
        was rolled back."""
        self._local.words = SessionWords()

    def __call__(self, session: Session, ids: Sequence[int], *,
                 versions: Mapping[int, int] | None = None,
                 locations: Mapping[int, str] | None = None) -> dict[str, int]:
        """Anonymise one batch in the caller's transaction; return the counts."""
        ids = sorted(set(ids))
        counts = dict.fromkeys(COUNTS, 0)
        if not ids:
            return counts
        if self.checks_versions and versions is None:
            raise ValueError("this anonymiser checks versions: give them")
        self.sql.attach(session)
        # Before anything changes: what stored sessions say about these people.
        counts["sessions"] = _scrub_sessions(session, self.sql, ids, self.session_words)
        if self.sql.postgres:
            params = {"ids": _array_text(ids)}
            if self.checks_versions:
                params["versions"] = _array_text(versions.get(i, -1) for i in ids)
            if self.uses_locations:
                params["locations"] = _array_text(f'"{locations[i]}"' for i in ids)
            row = session.execute(self._postgres_statement(), params).one()._asdict()
            kept = row.pop("batch")
            counts.update(row)
        else:
            kept = self._one_table_at_a_time(session, ids, versions, counts)
        counts["skipped"] = len(ids) - kept
        return counts

    def _postgres_statement(self) -> sa.Select:
        """Lock the batch, then every change in data-modifying CTEs reading it once."""
        with self._building:
            if self._statement is None:
                self._statement = self._build_postgres_statement()
            return self._statement

    def _build_postgres_statement(self) -> sa.Select:
        arrays = [_array_parameter("ids", _INT_ARRAY)]
        names = ["id"]
        if self.checks_versions:
            arrays.append(_array_parameter("versions", _INT_ARRAY))
            names.append("version")
        wanted = sa.func.unnest(*arrays).table_valued(*names).render_derived(name="wanted")
        matches = CONTACT.c.id == wanted.c.id
        if self.checks_versions:
            matches &= CONTACT.c.version == wanted.c.version
        candidates = self.candidates
        if self.uses_locations:
            candidates &= _CTID == sa.any_(_array_parameter("locations", _TID_ARRAY))
        batch = (sa.select(*(CONTACT.c[c] for c in BATCH_COLUMNS), _CTID.label("ctid"))
                 .select_from(CONTACT.join(wanted, matches)).where(candidates)
                 .with_for_update(of=CONTACT, skip_locked=True).cte("batch"))
        changes = {name: statement.returning(sa.literal_column("1")).cte(name)
                   for name, statement in _changes(self.sql, batch, self.reason, self.now,
                                                   self.delete).items()}
        return sa.select(
            *(sa.select(sa.func.count()).select_from(cte).scalar_subquery().label(name)
              for name, cte in changes.items()),
            sa.select(sa.func.count()).select_from(batch).scalar_subquery().label("batch"))

    def _one_table_at_a_time(self, session: Session, ids: list[int],
                             versions: Mapping[int, int] | None, counts: dict[str, int]) -> int:
        """SQLite: the caller's transaction holds the write lock; one statement per table."""
        sql = self.sql
        found = session.execute(sa.select(CONTACT.c.id, CONTACT.c.version)
                                .where(sql.in_ids(CONTACT.c.id, ids), self.candidates)).all()
        chosen = [i for i, version in found if versions is None or versions.get(i) == version]
        if chosen:
            batch = (sa.select(*(CONTACT.c[c] for c in BATCH_COLUMNS))
                     .where(sql.in_ids(CONTACT.c.id, chosen)).subquery("batch"))
            for name, statement in _changes(sql, batch, self.reason, self.now,
                                            self.delete).items():
                counts[name] = session.execute(
                    statement.execution_options(preserve_rowcount=True)).rowcount
        return len(chosen)


class _TidArray(sa.types.UserDefinedType):
    """PostgreSQL's tid[]: physical row locations."""

    cache_ok = True

    def get_col_spec(self, **kw) -> str:
        return "tid[]"


#: PostgreSQL's physical row location, and its array type.
_CTID = sa.literal_column("contact.ctid")
_TID_ARRAY = _TidArray()
_INT_ARRAY = postgresql.ARRAY(sa.Integer)


def _array_parameter(name: str, type_: sa.types.TypeEngine) -> sa.ColumnElement:
    """Return the parameter `name`, an array given in PostgreSQL's text form (`_array_text`)."""
    return sa.cast(sa.bindparam(name, type_=sa.Text), type_)


def _array_text(items: Iterable) -> str:
    """Return PostgreSQL's text form of an array of these items: '{1,2,3}'.

    Items are numbers or already quoted: PostgreSQL parses the text. psycopg would
    dump a list item by item, each checked against a regular expression: for a
    batch's ids, versions and row locations, 3 ms of Python per batch, which the
    job's single thread spends with the database idle.
    """
    return "{" + ",".join(map(str, items)) + "}"

_TOUCHED_MODELS = (Contact, Identifier, Consent, Provenance, Activity, CallbackRequest,
                   DataSubjectRequest, Organisation)

#: What anonymisation does to every table that points at a contact. A table added
#: later must be listed here (tests/test_anonymise.py checks), so that nobody adds a
#: copy of a person's data that anonymisation would leave behind.
TREATMENT = {
    "identifier": "deleted",
    "consent": "deleted",
    "contact_purpose": "deleted",
    "contact_change": "deleted (old and new values are the person's data)",
    "provenance": "kept: ids and dates, for per-source counts",
    "activity": "subject and body emptied; kind, date, author, organisation kept",
    "callback_request": "name, organisation name, email, phone and message emptied",
    "data_subject_request": "requester details and free text emptied; the record kept",
    "mailchimp_member": "left to the Mailchimp sync and the erasure hooks "
                        "(crm.privacy.processors): a subscriber hash, no values",
}

#: The batch's columns that the changes read: ids, and the values to hash and match.
BATCH_COLUMNS = ("id", *_EMAILS, *_PHONES)


def _changes(sql: AnonymiserSql, batch: sa.FromClause, reason: str, now: datetime,
             delete: bool) -> dict[str, sa.Insert | sa.Update | sa.Delete]:
    """Return every change anonymisation makes, by name, in order; the contact row last.

    `batch` has the contacts' ids and their emails and phones as they were before.
    """
    people = sa.select(batch.c.id)
    if sql.postgres:
        # PostgreSQL: the batch's ids as one array, made once, each table's index probed
        # with all of them (`IN (SELECT ...)` would hash the batch again for every table).
        ids_of_batch = sa.literal_column(f"ARRAY(SELECT id FROM {batch.name})")

        def of_people(column: sa.ColumnElement) -> sa.ColumnElement[bool]:
            return column == sa.any_(ids_of_batch)
    else:
        def of_people(column: sa.ColumnElement) -> sa.ColumnElement[bool]:
            return column.in_(people)
    emails = sa.union(*(sa.select(sql.lower(batch.c[c])).where(batch.c[c].is_not(None))
                        for c in _EMAILS))
    phones = sa.union(*(sa.select(batch.c[c]).where(batch.c[c].is_not(None)) for c in _PHONES))
    callback = CallbackRequest.__table__
    request = DataSubjectRequest.__table__
    organisation = Organisation.__table__
    identifier = Identifier.__table__
    consent = Consent.__table__
    provenance = Provenance.__table__
    activity = Activity.__table__
    # A deleted contact's links are cut here too: one change per row and statement.
    unlink = {"contact_id": None} if delete else {}
    changes: dict[str, sa.Insert | sa.Update | sa.Delete] = {
        "suppressed": sql.suppress(batch, reason, now),
        "callback_requests": callback.update().where(
            of_people(callback.c.contact_id) | sql.lower(callback.c.email).in_(emails)
            | callback.c.phone.in_(phones)
        ).values(**ANONYMOUS_CALLBACK, **unlink),
        "requests": request.update().where(
            of_people(request.c.contact_id)
            | (request.c.status.in_(_CLOSED)
               & (sql.lower(request.c.requester_email).in_(emails)
                  | request.c.requester_phone.in_(phones)))
        ).values(**ANONYMOUS_REQUEST, version=request.c.version + 1, **unlink),
        "organisations": organisation.update().where(
            organisation.c.billing_email.is_not(None),
            sql.lower(organisation.c.billing_email).in_(emails)
        ).values(billing_email=None, updated_at=now, version=organisation.c.version + 1),
        "identifiers": identifier.delete().where(of_people(identifier.c.contact_id)),
        "consents": consent.delete().where(of_people(consent.c.contact_id)),
        "purposes": contact_purpose.delete().where(of_people(contact_purpose.c.contact_id)),
    }
    for name in _DELETED_WITH_CONTACT:
        table = Model.metadata.tables.get(name)
        if table is not None:
            changes[name] = table.delete().where(of_people(table.c.contact_id))
    if delete:
        # SQLite does not enforce ON DELETE CASCADE here: remove the children ourselves.
        changes["activities"] = activity.delete().where(of_people(activity.c.contact_id))
        changes["provenance"] = provenance.delete().where(of_people(provenance.c.contact_id))
        changes["contacts"] = CONTACT.delete().where(of_people(CONTACT.c.id))
        return changes
    changes["provenance"] = provenance.update().where(
        of_people(provenance.c.contact_id), provenance.c.art14_notified_at.is_(None),
        provenance.c.art14_due_on.is_not(None)).values(art14_due_on=None)
    changes["activities"] = activity.update().where(
        of_people(activity.c.contact_id)).values(subject="", body=None)
    if "ctid" in batch.c:
        # The rows are locked by this statement: their locations cannot change under it.
        located = _CTID == sa.any_(sa.literal_column(f"ARRAY(SELECT ctid FROM {batch.name})"))
    else:
        located = of_people(CONTACT.c.id)
    changes["contacts"] = CONTACT.update().where(located).values(
        **ANONYMOUS_CONTACT, anonymised_at=now, updated_at=now,
        version=CONTACT.c.version + 1)
    return changes


class AnonymiserSql:
    """The dialect-specific pieces: id lists as one parameter, suppression hashes in SQL."""

    def __init__(self, postgres: bool, key: str) -> None:
        self.key = key
        self.postgres = postgres

    def attach(self, session: Session) -> None:
        """Give SQLite's connection the functions the statements call (no-op elsewhere)."""
        if not self.postgres:
            key = self.key
            raw = session.connection().connection.driver_connection
            raw.create_function(
                "crm_suppression_hash", 2,
                lambda kind, value: None if value is None else suppression_hash(kind, value, key),
                deterministic=True)
            # SQLite's lower() knows ASCII only; match the way Python (and the hashes) do.
            raw.create_function("crm_lower", 1,
                                lambda value: None if value is None else value.lower(),
                                deterministic=True)

    def lower(self, column: sa.ColumnElement) -> sa.ColumnElement:
        return sa.func.lower(column) if self.postgres else sa.func.crm_lower(column)

    def in_ids(self, column: sa.ColumnElement, ids: Sequence[int]) -> sa.ColumnElement[bool]:
        return in_values(column, ids, self.postgres)

    def in_texts(self, column: sa.ColumnElement, values: Iterable[str]) -> sa.ColumnElement:
        return in_values(column, list(values), self.postgres, sa.Text)

    def hash_of(self, kind: str, column: sa.ColumnElement) -> sa.ColumnElement:
        """Return SQL computing `suppression_hash(kind, column)` for every row."""
        if not self.postgres:
            return sa.func.crm_suppression_hash(kind, column, type_=sa.LargeBinary)
        normalised = sa.func.lower(sa.func.trim(column)) if kind == "email" \
            else sa.func.trim(column)
        return suppression_hash_sql(kind, normalised, self.key)

    def suppress(self, batch: sa.FromClause, reason: str, now: datetime) -> sa.Insert:
        """Return the insert of the suppression entries of the batch's emails and phones.

        Entries there already are left out by NOT EXISTS rather than ON CONFLICT: a
        plain insert is cheaper, and SQLAlchemy caches its compiled form (it cannot
        cache ON CONFLICT's). Two transactions adding the same entry at once make one
        fail on the unique index; a retention batch is then tried again.
        """
        hashes = sa.union(*(
            sa.select(sa.literal(kind, sa.String).label("kind"),
                      self.hash_of(kind, batch.c[column]).label("key_hash"))
            .where(batch.c[column].is_not(None), batch.c[column] != "")
            for kind, columns in (("email", _EMAILS), ("phone", _PHONES))
            for column in columns)).subquery("hashes")
        entries = SuppressionEntry.__table__
        new = sa.select(hashes.c.kind, hashes.c.key_hash,
                        sa.literal(reason, sa.String).label("reason"),
                        sa.literal(now, AwareDateTime).label("created_at")).where(
            ~sa.exists().where(entries.c.key_hash == hashes.c.key_hash))
        return sa.insert(entries).from_select(["kind", "key_hash", "reason", "created_at"], new)


def in_values(column: sa.ColumnElement, values: Sequence, postgres: bool,
              type_: type[sa.types.TypeEngine] = sa.Integer) -> sa.ColumnElement[bool]:
    """Return `column IN values` with the values as one parameter, however many there are.

    Thousands of ids as thousands of parameters are slow on PostgreSQL and over
    SQLite's limit; an array (PostgreSQL) or a JSON list (SQLite) is one parameter.
    """
    if postgres:
        return column == sa.any_(sa.literal(list(values), postgresql.ARRAY(type_)))
    return column.in_(sa.select(sa.column("value", type_))
                      .select_from(sa.func.json_each(json.dumps(list(values)))))


# -- sessions -----------------------------------------------------------------

_TOKEN = re.compile(r"[\w.@+\-]{3,}")
_DROP = object()


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def _tokens(value: Any) -> set[str]:
    """Return the words of a stored session value, as its search terms would be written."""
    tokens: set[str] = set()
    for text in _strings(value):
        for token in _TOKEN.findall(unquote_plus(text).lower()):
            token = token.strip(".-")
            tokens.add(token)
            # "+358..." in a query string without %2B arrives as " 358...".
            if token.startswith("+"):
                tokens.add(token[1:])
            elif token.isdigit():
                tokens.add("+" + token)
    return tokens


def _scrub(value: Any, hits: set[str]) -> Any:
    """Return `value` without the strings that name one of `hits`."""
    if isinstance(value, str):
        return _DROP if _tokens(value) & hits else value
    if isinstance(value, list | tuple):
        return type(value)(kept for item in value if (kept := _scrub(item, hits)) is not _DROP)
    if isinstance(value, dict):
        return {k: kept for k, item in value.items() if (kept := _scrub(item, hits)) is not _DROP}
    return value


class SessionWords:
    """The words of the stored sign-in sessions, parsed again only where a session changed.

    A batch job keeps one for its whole run: a thousand batches then do not read and
    parse every session a thousand times. A session's data changes only with its
    `last_seen_at` (crm.security.sessions), except when scrubbed here.
    """

    def __init__(self) -> None:
        self._known: dict[str, tuple[datetime, set[str]]] = {}

    def current(self, session: Session, sql: AnonymiserSql) -> dict[str, set[str]]:
        table = UserSession.__table__
        seen = dict(session.execute(sa.select(table.c.key_hash, table.c.last_seen_at)).all())
        changed = [key for key, at in seen.items()
                   if key not in self._known or self._known[key][0] != at]
        if changed:
            for key, text in session.execute(sa.select(table.c.key_hash, table.c.data).where(
                    sql.in_texts(table.c.key_hash, changed))):
                self._known[key] = (seen[key], _tokens(SERIALIZER.loads(text)) if text else set())
        for key in set(self._known) - set(seen):
            del self._known[key]
        return {key: words for key, (_, words) in self._known.items()}

    def scrubbed(self, key: str, data: Any) -> None:
        if key in self._known:
            self._known[key] = (self._known[key][0], _tokens(data))


def _scrub_sessions(session: Session, sql: AnonymiserSql, ids: Sequence[int],
                    words: SessionWords) -> int:
    """Drop what stored sessions say about these contacts; return how many changed.

    Flask-AppBuilder keeps a history of full URLs in the session, search terms and
    filter values included: a search for a person's email is a copy of it.
    """
    tokens_of = words.current(session, sql)
    every_token = set().union(*tokens_of.values())
    if not every_token:
        return 0
    in_batch = sql.in_ids(CONTACT.c.id, ids)
    values = [sa.select(sql.lower(CONTACT.c[c]).label("v")).where(in_batch)
              for c in (*_EMAILS, *_PHONES, "last_name")]
    identifier = Identifier.__table__
    values.append(sa.select(sql.lower(identifier.c.identifier).label("v"))
                  .where(sql.in_ids(identifier.c.contact_id, ids)))
    found = sa.union(*values).subquery()
    hits = set(session.scalars(sa.select(found.c.v).where(
        sql.in_texts(found.c.v, every_token))))
    if not hits:
        return 0
    table = UserSession.__table__
    naming = [key for key, tokens in tokens_of.items() if tokens & hits]
    scrubbed = 0
    for key, text in session.execute(sa.select(table.c.key_hash, table.c.data)
                                     .where(sql.in_texts(table.c.key_hash, naming))
                                     .with_for_update()):
        stored = SERIALIZER.loads(text)
        data = _scrub(stored, hits)
        words.scrubbed(key, data)
        if data == stored:
            continue  # scrubbed by a batch running beside this one: its words were old
        session.execute(table.update().where(table.c.key_hash == key)
                        .values(data=SERIALIZER.dumps(data)))
        scrubbed += 1
    return scrubbed
