"""Retention (DESIGN §8): what has expired under which policy, and the work to remove it.

Policies are rows of `retention_policy` (defaults in `crm.services.reference`),
edited by the privacy officer. A contact's clock is stopped by a legal hold on the
contact or on its organisation, and by an open data subject request about it (the
request must be answered from the data).

The work goes in keyset batches by id. Each batch is chosen first, then done in one
transaction of its own that locks its rows, checks again that each is still expired
and unchanged (same `version`: optimistic locking) and anonymises or deletes them.
A row a user changed meanwhile, or is changing right now (its row is locked), is
left for a later run; a killed run loses at most the batches it was in, each undone
whole by the database. On PostgreSQL `workers` batches of contacts run at once, each
on a connection of its own: their contacts are disjoint, and what else two batches
may both touch (an organisation's billing email, a stored session, the same
suppression entry) makes one wait for the other or fail and be tried again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from crm.models import (
    AuditEvent,
    AuditEventPerson,
    CallbackRequest,
    CallbackStatus,
    ClockStart,
    Contact,
    CustomerStatus,
    DataSubjectRequest,
    JobRun,
    JobStatus,
    Organisation,
    RecordKind,
    RequestStatus,
    RetentionAction,
    RetentionPolicy,
)
from crm.models.base import register_day, utcnow
from crm.privacy.anonymise import ANONYMOUS_CALLBACK, ContactAnonymiser, in_values

log = logging.getLogger(__name__)

CONTACT = Contact.__table__
ORGANISATION = Organisation.__table__
REQUEST = DataSubjectRequest.__table__
CALLBACK = CallbackRequest.__table__
AUDIT = AuditEvent.__table__
AUDIT_PERSON = AuditEventPerson.__table__
JOB_RUN = JobRun.__table__

CONTACT_KINDS = (RecordKind.prospect_contact, RecordKind.former_customer_contact)
#: The clocks that mean something for each kind of record.
SUPPORTED_CLOCKS: dict[RecordKind, tuple[ClockStart, ...]] = {
    RecordKind.prospect_contact: (ClockStart.last_activity, ClockStart.created),
    RecordKind.former_customer_contact: (ClockStart.relationship_end,
                                         ClockStart.last_activity),
    RecordKind.callback_request: (ClockStart.received, ClockStart.created),
    RecordKind.audit_event: (ClockStart.created,),
    RecordKind.job_run: (ClockStart.created,),
}
_OPEN_REQUEST = REQUEST.c.status.not_in([RequestStatus.completed.value,
                                         RequestStatus.rejected.value])
#: SQLSTATEs of a batch that met another transaction (a user's lock, a suppression entry
#: added at the same moment): try again, then leave it for later.
_TRANSIENT = {"40P01", "55P03", "40001", "23505"}

#: JIT compilation costs more than a batch's short queries ever gain from it.
#: The job's short queries: plans made for each batch's own values, no JIT compiling.
_QUERY_SETTINGS = ("jit = off", "plan_cache_mode = force_custom_plan")
#: Choosing a batch.
_CHOOSE_SETTINGS = "; ".join(f"SET LOCAL {setting}" for setting in _QUERY_SETTINGS)
#: A batch's transaction (see batch_session).
_BATCH_SETTINGS = "; ".join(f"SET LOCAL {setting}" for setting in (
    "lock_timeout = '1s'", "synchronous_commit = off", *_QUERY_SETTINGS))

#: Called between choosing a batch and locking it: (policy code, ids). For tests.
BatchHook = Callable[[str, list[int]], None]


def clock_applies(kind: RecordKind | None, clock: ClockStart | None) -> bool:
    """Return whether `clock` means something for records of `kind` (SUPPORTED_CLOCKS)."""
    return clock in SUPPORTED_CLOCKS.get(kind, ())


def supported(policy: RetentionPolicy) -> bool:
    return clock_applies(policy.record_kind, policy.clock_start)


def expired(policy: RetentionPolicy, at: datetime) -> tuple[sa.Table, sa.ColumnElement[bool]]:
    """Return the table `policy` covers and the condition "expired at `at`" on its rows."""
    limit = at - timedelta(days=policy.period_days)
    kind, clock = policy.record_kind, policy.clock_start
    if kind in CONTACT_KINDS:
        return CONTACT, _contact_expired(kind, clock, limit)
    if kind is RecordKind.callback_request:
        condition = (CALLBACK.c.status == CallbackStatus.no_result.value) \
            & (CALLBACK.c.received_at < limit)
        if policy.action is RetentionAction.anonymise:
            condition &= sa.or_(CALLBACK.c.name != "", CALLBACK.c.email.is_not(None),
                                CALLBACK.c.phone.is_not(None), CALLBACK.c.message.is_not(None))
        return CALLBACK, condition
    if kind is RecordKind.audit_event:
        return AUDIT, AUDIT.c.at < limit
    if kind is RecordKind.job_run:
        return JOB_RUN, (JOB_RUN.c.started_at < limit) \
            & (JOB_RUN.c.status != JobStatus.running.value)
    raise ValueError(f"no retention rule for {kind}")


def _contact_expired(kind: RecordKind, clock: ClockStart,
                     limit: datetime) -> sa.ColumnElement[bool]:
    org = ORGANISATION
    in_org = (org.c.id == CONTACT.c.organisation_id) & sa.not_(org.c.legal_hold)
    if kind is RecordKind.prospect_contact:
        # "In no organisation, or in a prospect not on hold", said as an anti-join (no
        # organisation of theirs that is anything else): a per-row index probe, where
        # the OR of an EXISTS made PostgreSQL hash every prospect for every batch.
        organisation = ~sa.exists().where(
            org.c.id == CONTACT.c.organisation_id,
            sa.or_(org.c.legal_hold, org.c.customer_status != CustomerStatus.prospect.value))
    else:
        in_org &= org.c.customer_status == CustomerStatus.former_customer.value
        if clock is ClockStart.relationship_end:
            in_org &= org.c.relationship_end < limit.date()
        organisation = sa.exists().where(in_org)
    if clock is ClockStart.last_activity:
        started = sa.func.coalesce(CONTACT.c.last_activity_at, CONTACT.c.created_at) < limit
    elif clock is ClockStart.created:
        started = CONTACT.c.created_at < limit
    else:
        started = sa.true()
    return sa.and_(
        CONTACT.c.anonymised_at.is_(None),
        sa.not_(CONTACT.c.legal_hold),
        started,
        organisation,
        ~sa.exists().where(REQUEST.c.contact_id == CONTACT.c.id, _OPEN_REQUEST),
    )


def enabled_policies(session: Session, kinds: tuple[RecordKind, ...]) -> list[RetentionPolicy]:
    return list(session.scalars(sa.select(RetentionPolicy).where(
        RetentionPolicy.enabled, RetentionPolicy.record_kind.in_(kinds))
        .order_by(RetentionPolicy.id)))


# -- forecast -------------------------------------------------------------------

@dataclass
class Forecast:
    code: str
    name: str
    record_kind: RecordKind
    action: RetentionAction
    enabled: bool
    #: Expired now: the next run removes them.
    due_now: int
    #: Expiring within the forecast's days, beyond those due now.
    due_soon: int


def forecast(session: Session, days: int = 30, now: datetime | None = None) -> list[Forecast]:
    """Return, per policy, how many records are due now and how many within `days`."""
    now = now or utcnow()
    result = []
    for policy in session.scalars(sa.select(RetentionPolicy).order_by(RetentionPolicy.id)):
        due_now = due_soon = 0
        if supported(policy):
            table, now_condition = expired(policy, now)
            _, later_condition = expired(policy, now + timedelta(days=days))
            due_now = session.scalar(sa.select(sa.func.count()).select_from(table)
                                     .where(now_condition))
            due_soon = session.scalar(sa.select(sa.func.count()).select_from(table)
                                      .where(later_condition)) - due_now
        result.append(Forecast(policy.code, policy.name, policy.record_kind, policy.action,
                               policy.enabled, due_now, due_soon))
    return result


def last_real_run(session: Session, job: str = "retention") -> JobRun | None:
    """Return the latest run of `job` that was not a dry run (nor skipped, a run that did
    not start because another held the job): when the job last changed anything."""
    return session.scalars(
        sa.select(JobRun).where(JobRun.job == job, JobRun.dry_run.is_(False),
                                JobRun.status != JobStatus.skipped)
        .order_by(JobRun.started_at.desc(), JobRun.id.desc()).limit(1)).first()


@dataclass
class ExpiringContact:
    id: int
    first_name: str
    last_name: str
    policy: str
    expires_on: datetime

    def days_past(self, now: datetime) -> int:
        """Return how many days ago the contact's period ended, in days of the register's
        calendar as its date is shown (0: today or not yet). Ended yesterday is a day ago
        even if less than 24 hours ago; between midnight and 02.00 in Helsinki the UTC
        date was still yesterday's."""
        return max((register_day(now) - register_day(self.expires_on)).days, 0)


def expiring_contacts(session: Session, days: int = 30, now: datetime | None = None,
                      limit: int = 200) -> tuple[list[ExpiringContact], int]:
    """Return the contacts that expire within `days` (soonest first) and how many there are."""
    now = now or utcnow()
    rows: list[ExpiringContact] = []
    total = 0
    for policy in enabled_policies(session, CONTACT_KINDS):
        if not supported(policy):
            continue
        _, condition = expired(policy, now + timedelta(days=days))
        total += session.scalar(sa.select(sa.func.count()).select_from(CONTACT)
                                .where(condition))
        if policy.clock_start is ClockStart.relationship_end:
            # An alias: the condition's own subquery on organisation must not correlate to it.
            org = ORGANISATION.alias("clock_org")
            clock = org.c.relationship_end
            query = sa.select(CONTACT.c.id, CONTACT.c.first_name, CONTACT.c.last_name, clock) \
                .join(org, org.c.id == CONTACT.c.organisation_id)
        else:
            clock = (sa.func.coalesce(CONTACT.c.last_activity_at, CONTACT.c.created_at)
                     if policy.clock_start is ClockStart.last_activity else CONTACT.c.created_at)
            query = sa.select(CONTACT.c.id, CONTACT.c.first_name, CONTACT.c.last_name, clock)
        period = timedelta(days=policy.period_days)
        for id_, first, last, started in session.execute(
                query.where(condition).order_by(clock, CONTACT.c.id).limit(limit)):
            if not isinstance(started, datetime):
                started = datetime.combine(started, datetime.min.time(), tzinfo=now.tzinfo)
            rows.append(ExpiringContact(id_, first, last, policy.code, started + period))
    rows.sort(key=lambda r: (r.expires_on, r.id))
    return rows[:limit], total


# -- the work ---------------------------------------------------------------------

@dataclass
class RetentionSettings:
    now: datetime
    batch_size: int = 1000
    pause: float = 0.0
    dry_run: bool = False
    suppression_key: str | None = None
    #: Contact batches run at once (PostgreSQL; SQLite has one writer).
    workers: int = 1


class RetentionRun:
    """One pass over the enabled policies; `counts` holds what it did so far."""

    def __init__(self, engine: Engine, settings: RetentionSettings,
                 heartbeat: Callable[[], None] = lambda: None,
                 counts: dict[str, int] | None = None,
                 before_batch: BatchHook | None = None) -> None:
        self.engine = engine
        self.settings = settings
        self.heartbeat = heartbeat
        self.counts = counts if counts is not None else {}
        self.before_batch = before_batch
        self.postgres = engine.dialect.name == "postgresql"
        self._rolled_back: Callable[[], None] = lambda: None
        self._counting = threading.Lock()

    def add(self, key: str, value: int) -> None:
        with self._counting:
            self.counts[key] = self.counts.get(key, 0) + value

    def _held(self, seconds: float) -> None:
        """Note a batch's lock time: the run's longest is one of its figures."""
        with self._counting:
            self.counts["batches"] = self.counts.get("batches", 0) + 1
            self.counts["longest_lock_ms"] = max(self.counts.get("longest_lock_ms", 0),
                                                 round(seconds * 1000))

    def run(self, kinds: tuple[RecordKind, ...]) -> dict[str, int]:
        """Apply every enabled policy of these kinds; return the counts."""
        with Session(self.engine) as session:
            policies = enabled_policies(session, kinds)
        for policy in policies:
            if not supported(policy):
                log.warning("retention policy %s: clock %s does not apply to %s; skipped",
                            policy.code, policy.clock_start, policy.record_kind)
                self.add("unsupported_policies", 1)
                continue
            table, condition = expired(policy, self.settings.now)
            if self.settings.dry_run:
                with self.engine.connect() as conn:
                    self.add(policy.code, conn.scalar(
                        sa.select(sa.func.count()).select_from(table).where(condition)))
                continue
            self.add(policy.code, 0)
            if table is CONTACT:
                self._contacts(policy, condition)
            else:
                self._rows(policy, table, condition)
        return self.counts

    def _contacts(self, policy: RetentionPolicy, condition: sa.ColumnElement[bool]) -> None:
        anonymiser = ContactAnonymiser(
            self.postgres, reason="retention", key=self.settings.suppression_key,
            now=self.settings.now, delete=policy.action is RetentionAction.delete,
            condition=condition, checks_versions=True, uses_locations=self.postgres)
        self._rolled_back = anonymiser.forget_sessions
        # On PostgreSQL the batch also notes where each row is, to find it again fast.
        where = (sa.cast(sa.literal_column("contact.ctid"), sa.Text),) if self.postgres else ()
        work = partial(self._contact_batch, policy.code, anonymiser)
        workers = self.settings.workers if self.postgres else 1
        _each(self._batches(CONTACT, condition, CONTACT.c.version, *where), work, workers)

    def _contact_batch(self, code: str, anonymiser: ContactAnonymiser,
                       chosen: Sequence[tuple]) -> None:
        snapshot = {row[0]: row[1] for row in chosen}
        locations = {row[0]: row[2] for row in chosen} if self.postgres else None
        # Only what is still expired and unchanged since chosen; a row a user holds
        # locked right now is skipped, not waited for.
        done = self._transaction(code, list(snapshot), partial(
            anonymiser, ids=list(snapshot), versions=snapshot, locations=locations))
        if done is None:
            self.add(f"{code}_deferred", len(snapshot))
            return
        self.add(code, done.pop("contacts"))
        changed = done.pop("skipped")
        if changed:
            # Edited, locked or no longer expired since the batch was chosen: next run.
            self.add(f"{code}_retry", changed)
        for key, value in done.items():
            self.add(key, value)

    def _rows(self, policy: RetentionPolicy, table: sa.Table,
              condition: sa.ColumnElement[bool]) -> None:
        anonymise = table is CALLBACK and policy.action is RetentionAction.anonymise
        for chosen in self._batches(table, condition):
            ids = [row[0] for row in chosen]
            done = self._transaction(policy.code, ids, partial(
                self._row_batch, table=table, ids=ids, condition=condition,
                anonymise=anonymise))
            if done is None:
                self.add(f"{policy.code}_deferred", len(ids))
            else:
                self.add(policy.code, done)

    def _row_batch(self, session: Session, *, table: sa.Table, ids: list[int],
                   condition: sa.ColumnElement[bool], anonymise: bool) -> int:
        where = in_values(table.c.id, ids, self.postgres) & condition
        if table is AUDIT and self.postgres:
            # The audit trail refuses every delete but this pruning's (migrations 0005, 0017).
            session.execute(sa.text("SET LOCAL crm.audit_pruning = 'on'"))
        if table is AUDIT:
            # The people a list event showed go with it (SQLite enforces no cascade).
            session.execute(AUDIT_PERSON.delete().where(
                AUDIT_PERSON.c.event_id.in_(sa.select(AUDIT.c.id).where(where))))
        if anonymise:
            statement = table.update().where(where).values(**ANONYMOUS_CALLBACK)
        else:
            if table is CALLBACK:
                # A request linked to a deleted callback request (SQLite sets no NULL).
                session.execute(REQUEST.update().where(
                    REQUEST.c.callback_request_id.in_(sa.select(CALLBACK.c.id).where(where)))
                    .values(callback_request_id=None, version=REQUEST.c.version + 1))
            statement = table.delete().where(where)
        return session.execute(statement).rowcount

    def _batches(self, table: sa.Table, condition: sa.ColumnElement[bool],
                 *columns: sa.ColumnElement) -> Iterator[Sequence[tuple]]:
        """Yield batches of (id, *columns) of expired rows, in id order (keyset).

        On PostgreSQL the next batch is chosen while the caller does this one, on a
        connection of its own: choosing costs about a tenth of a batch's time, which
        the database's other core spends meanwhile. Being chosen earlier changes
        nothing: a batch locks and checks its rows again when its turn comes.
        (SQLite chooses in turn: its writer holds the database.)
        """
        choose = partial(self._choose, table, condition, columns)
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="retention") as chooser:
            chosen = choose(0)
            while chosen:
                after = chosen[-1][0]
                upcoming = chooser.submit(choose, after) if self.postgres else None
                yield chosen
                self.heartbeat()
                if self.settings.pause:
                    time.sleep(self.settings.pause)
                chosen = upcoming.result() if upcoming else choose(after)

    def _choose(self, table: sa.Table, condition: sa.ColumnElement[bool],
                columns: tuple[sa.ColumnElement, ...], after: int) -> Sequence[tuple]:
        """Return (id, *columns) of the first batch of expired rows with ids above `after`."""
        with self.engine.connect() as conn:
            if self.postgres:
                conn.exec_driver_sql(_CHOOSE_SETTINGS)
            return conn.execute(
                sa.select(table.c.id, *columns).where(table.c.id > after, condition)
                .order_by(table.c.id).limit(self.settings.batch_size)).all()

    def _transaction(self, code: str, ids: list[int], work: Callable[[Session], object]):
        """Run `work` in a transaction of its own; None when it kept meeting users' locks."""
        if self.before_batch is not None:
            self.before_batch(code, ids)
        for attempt in range(3):
            try:
                with batch_session(self.engine) as session:
                    started = time.perf_counter()
                    result = work(session)
                self._held(time.perf_counter() - started)
                return result
            except DBAPIError as exc:
                # What the rolled-back batch did to sessions is undone: forget it too.
                self._rolled_back()
                if not _transient(exc):
                    raise
                log.info("retention batch met a lock (%s); attempt %d",
                         type(exc.orig).__name__, attempt + 1)
                time.sleep(0.2 * (attempt + 1))
        return None


def _each(batches: Iterator[Sequence[tuple]], work: Callable[[Sequence[tuple]], None],
          workers: int) -> None:
    """Do `work` for each batch, `workers` at a time, in the order they come.

    A batch that fails stops the run once the batches under way have ended (each
    commits or rolls back whole); the error is raised.
    """
    if workers <= 1:
        for chosen in batches:
            work(chosen)
        return
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="retention-batch") as pool, \
            closing(iter(batches)) as upcoming:
        running: set[Future] = set()
        for chosen in upcoming:
            if len(running) >= workers:
                finished, running = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    future.result()
            running.add(pool.submit(work, chosen))
        for future in running:
            future.result()


@contextmanager
def batch_session(engine: Engine) -> Iterator[Session]:
    """Yield a session in a write transaction of its own, committed at the end."""
    with Session(engine) as session:
        if engine.dialect.name == "postgresql":
            # Never queue long behind a user's transaction with the batch's locks held.
            # Do not wait for the disk at each batch's commit: a crash can lose the last
            # few batches whole (never half of one), which the next run does again; the
            # run's own record, committed synchronously, makes every batch before it
            # durable too (the WAL is written in order).
            # Plans are made for each batch's own values: a generic plan (psycopg prepares
            # a statement run five times) cannot see which rows an id array or a ctid
            # list names, and costs a third more time per batch.
            session.connection().exec_driver_sql(_BATCH_SETTINGS)  # one round trip
        else:
            # Take SQLite's write lock now, not halfway through the batch.
            session.connection().exec_driver_sql("BEGIN IMMEDIATE")
        yield session
        session.commit()


def _transient(exc: DBAPIError) -> bool:
    code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    if code in _TRANSIENT:
        return True
    return "database is locked" in str(exc.orig)
