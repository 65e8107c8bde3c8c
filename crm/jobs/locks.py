"""One run of a job at a time, across processes and machines: a database lock per job.

PostgreSQL: a session-level advisory lock held on a connection of its own for the
whole run. The server frees it when that connection ends, also when the process is
killed, and it keeps no transaction open, so VACUUM is not held back.

SQLite: a `job_lock` row claimed with one atomic UPDATE.
The holder refreshes its heartbeat between batches; a claim whose holder is a dead
process on this host, or whose heartbeat is older than `CRM_JOB_LOCK_STALE_SECONDS`,
may be taken over, so a killed run does not block the job forever.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import time
import uuid
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Connection, Engine

from crm.models.base import utcnow
from crm.models.privacy import JobLock

log = logging.getLogger(__name__)
TABLE = JobLock.__table__


class LockLost(RuntimeError):
    """Another process took the job's lock over: this run must stop."""


class AdvisoryLock:
    """A PostgreSQL session-level advisory lock on a connection of its own."""

    def __init__(self, connection: Connection, key: int) -> None:
        self.connection = connection
        self.key = key
        self._checked = time.monotonic()

    @classmethod
    def try_acquire(cls, engine: Engine, job: str) -> AdvisoryLock | None:
        key = advisory_key(job)
        connection = engine.connect()
        try:
            got = connection.scalar(sa.text("SELECT pg_try_advisory_lock(:key)"), {"key": key})
            # The lock belongs to the session, not the transaction: end the transaction.
            connection.commit()
        except Exception:
            connection.invalidate()
            connection.close()
            raise
        if not got:
            connection.close()
            return None
        return cls(connection, key)

    def heartbeat(self) -> None:
        """Check now and then that the connection holding the lock is still there."""
        if time.monotonic() - self._checked < 30:
            return
        self._checked = time.monotonic()
        try:
            self.connection.scalar(sa.text("SELECT 1"))
            self.connection.commit()
        except Exception as exc:
            raise LockLost("the connection holding the job's lock was lost") from exc

    def release(self) -> None:
        try:
            self.connection.scalar(sa.text("SELECT pg_advisory_unlock(:key)"),
                                   {"key": self.key})
            self.connection.commit()
        except Exception:
            # A broken connection must not go back to the pool; closing it frees the lock.
            self.connection.invalidate()
        finally:
            self.connection.close()


class RowLock:
    """A claimed `job_lock` row with a heartbeat."""

    def __init__(self, engine: Engine, job: str, owner: str) -> None:
        self.engine = engine
        self.job = job
        self.owner = owner
        self._beat = time.monotonic()

    @classmethod
    def try_acquire(cls, engine: Engine, job: str, stale_seconds: int) -> RowLock | None:
        owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        now = utcnow()
        claim = TABLE.update().values(owner=owner, acquired_at=now, heartbeat_at=now)
        with engine.begin() as conn:
            conn.execute(sqlite.insert(TABLE).values(job=job).on_conflict_do_nothing())
            stale = now - timedelta(seconds=stale_seconds)
            got = conn.execute(claim.where(
                TABLE.c.job == job,
                TABLE.c.owner.is_(None) | (TABLE.c.heartbeat_at < stale))).rowcount
            if not got:
                holder = conn.scalar(sa.select(TABLE.c.owner).where(TABLE.c.job == job))
                if holder is not None and _holder_is_dead(holder):
                    log.warning("job %s: taking over the lock of a process that ended", job)
                    got = conn.execute(claim.where(TABLE.c.job == job,
                                                   TABLE.c.owner == holder)).rowcount
        return cls(engine, job, owner) if got else None

    def heartbeat(self) -> None:
        """Show that the holder lives (at most every few seconds); fail if the lock was lost."""
        if time.monotonic() - self._beat < 5:
            return
        self._beat = time.monotonic()
        with self.engine.begin() as conn:
            kept = conn.execute(TABLE.update().where(TABLE.c.job == self.job,
                                                     TABLE.c.owner == self.owner)
                                .values(heartbeat_at=utcnow())).rowcount
        if not kept:
            raise LockLost("another process took over the job's lock")

    def release(self) -> None:
        with self.engine.begin() as conn:
            conn.execute(TABLE.update().where(TABLE.c.job == self.job,
                                              TABLE.c.owner == self.owner)
                         .values(owner=None, heartbeat_at=None))


def _holder_is_dead(owner: str) -> bool:
    """Return whether `owner` (host:pid:nonce) is a process on this host that has ended."""
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def advisory_key(job: str) -> int:
    """Return a stable signed 64-bit advisory lock key for `job`."""
    digest = hashlib.sha256(f"crm-job:{job}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def acquire(engine: Engine, job: str, stale_seconds: int = 900) -> AdvisoryLock | RowLock | None:
    """Take the lock of `job`; return None when another run holds it."""
    if engine.dialect.name == "postgresql":
        return AdvisoryLock.try_acquire(engine, job)
    if engine.dialect.name == "sqlite":
        return RowLock.try_acquire(engine, job, stale_seconds)
    raise NotImplementedError(f"no job lock for {engine.dialect.name}")
