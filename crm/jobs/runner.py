"""Run a job once: take its database lock, record the run (DESIGN §5 Job run), audit it.

Every start is recorded: a run that finds another holding the job's lock is recorded
as skipped; a run left "running" by a process that died is closed as failed by the
next run that gets the lock. Errors are recorded by kind and code, never by message:
a database error's message quotes the row it failed on.
"""

from __future__ import annotations

import logging
import traceback
from dataclasses import dataclass

import sqlalchemy as sa
from flask import Flask
from sqlalchemy import update
from sqlalchemy.orm import Session

from crm.extensions import db
from crm.jobs import JOBS
from crm.jobs.context import JobContext, JobError, JobSkipped
from crm.jobs.locks import acquire
from crm.models import JobRun, JobStatus
from crm.models.base import utcnow
from crm.services.audit import record_event

log = logging.getLogger(__name__)

SKIPPED = "another run of this job holds its lock"
INTERRUPTED = "interrupted: the process running it ended before it finished"


def shown_runs() -> sa.ColumnElement[bool]:
    """Return the condition of the runs a screen shows as a job's last run: all but
    those skipped because another run held the lock (the other run is the one to show)."""
    return sa.or_(JobRun.status != JobStatus.skipped, JobRun.error != SKIPPED)


@dataclass
class RunOutcome:
    run_id: int
    job: str
    status: JobStatus
    dry_run: bool
    counts: dict[str, int]
    error: str | None


class UnknownJob(KeyError):
    pass


def run_job(app: Flask, name: str, *, dry_run: bool = False, trigger: str = "command",
            actor: tuple[int | None, str | None] = (None, None),
            hooks: dict | None = None) -> RunOutcome:
    """Run job `name` now, unless another run holds its lock (then record a skip).

    :param trigger: what started it: "schedule", "command" or "screen".
    :param actor: (user id, username) for the audit trail; the scheduler is (None, "scheduler").
    :param hooks: test hooks passed to the job (see `JobContext.hooks`).
    """
    job = JOBS.get(name)
    if job is None:
        raise UnknownJob(name)
    with app.app_context():
        engine = db.engine
        now = utcnow()
        lock = acquire(engine, name, app.config["CRM_JOB_LOCK_STALE_SECONDS"])
        with Session(engine, expire_on_commit=False) as session:
            if lock is None:
                run = JobRun(job=name, started_at=now, finished_at=now, dry_run=dry_run,
                             status=JobStatus.skipped, trigger=trigger, error=SKIPPED)
                session.add(run)
                session.commit()
                log.info("job %s skipped: %s", name, SKIPPED)
                _audit(session, run, actor)
                return RunOutcome(run.id, name, run.status, dry_run, {}, run.error)
            try:
                session.execute(update(JobRun).where(JobRun.job == name,
                                                     JobRun.status == JobStatus.running)
                                .values(status=JobStatus.failed, error=INTERRUPTED,
                                        finished_at=now))
                run = JobRun(job=name, started_at=now, dry_run=dry_run,
                             status=JobStatus.running, trigger=trigger)
                session.add(run)
                session.commit()
                log.info("job %s run %s started%s", name, run.id, " (dry run)" if dry_run else "")
                context = JobContext(app=app, engine=engine, now=now, dry_run=dry_run,
                                     keep_lock=lock.heartbeat, hooks=hooks or {})
                try:
                    job.func(context)
                    run.status, run.error = JobStatus.succeeded, None
                except JobSkipped as exc:
                    run.status, run.error = JobStatus.skipped, str(exc)
                except Exception as exc:  # recorded, not raised: the scheduler carries on
                    run.status, run.error = JobStatus.failed, describe_error(exc)
                    log.error("job %s run %s failed: %s\n%s", name, run.id, run.error,
                              "".join(traceback.format_tb(exc.__traceback__)))
                run.counts = dict(sorted(context.counts.items()))
                run.finished_at = utcnow()
                session.commit()
            finally:
                lock.release()
            log.info("job %s run %s %s: %s", name, run.id, run.status.value, run.counts)
            _audit(session, run, actor)
            return RunOutcome(run.id, name, run.status, dry_run, run.counts, run.error)


def describe_error(exc: BaseException) -> str:
    """Return what went wrong without the error's message: its kind and database code."""
    if isinstance(exc, JobError):
        return str(exc)
    text = type(exc).__name__
    orig = getattr(exc, "orig", None)
    if orig is not None:
        code = getattr(orig, "sqlstate", None)
        text += f" ({type(orig).__name__}{f', SQLSTATE {code}' if code else ''})"
    return text


def _audit(session: Session, run: JobRun, actor: tuple[int | None, str | None]) -> None:
    """Record the run: its job, status and the counts its job sums up (`Job.summary`),
    as "mailchimp_sync succeeded sent=120 unsubscribed=3 ..." (read out by
    crm.services.audit_details)."""
    detail = f"{run.job} {run.status.value}{' dry run' if run.dry_run else ''}"
    counts = run.counts or {}
    detail += "".join(f" {key}={int(counts[key])}" for key in JOBS[run.job].summary
                      if key in counts)
    record_event("job", object_type="JobRun", object_id=run.id, detail=detail[:200],
                 actor=actor, session=session, commit=True)
