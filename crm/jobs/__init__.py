"""The scheduled jobs of DESIGN §8: module-level functions with explicit ids.

`crm scheduler` runs them on their schedules (crm.jobs.scheduler); `crm jobs run NAME`
and the job-runs screen run one now; every run goes through `crm.jobs.runner.run_job`,
which takes the job's database lock and records the run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from crm.jobs import housekeeping, mailchimp, reminders, retention
from crm.jobs.context import JobContext


@dataclass(frozen=True)
class Job:
    name: str
    func: Callable[[JobContext], None]
    description: object
    #: Default crontab, in `CRM_TIMEZONE`; `CRM_JOB_SCHEDULES` overrides it.
    schedule: str
    #: A short name for the screens (the description says what it does).
    title: object = None
    #: The counts that say in a line what a run did, in this order: the jobs screen
    #: gives them by the last run, and the run's audit event keeps them
    #: (crm.jobs.runner); the run's page lists all its counts.
    summary: tuple[str, ...] = ()


JOBS: dict[str, Job] = {job.name: job for job in (
    Job("retention", retention.retention,
        _l("Anonymise or delete contacts and callback requests past their retention period"),
        "30 2 * * *", title=_l("Retention")),
    Job("audit_pruning", retention.audit_pruning,
        _l("Delete audit events and job runs past their retention period"), "0 4 * * 0",
        title=_l("Audit trail pruning")),
    Job("consent_expiry", housekeeping.consent_expiry,
        _l("Lapse consents not renewed in time; unsubscribe who has no valid consent left"),
        "15 3 * * *", title=_l("Consent expiry")),
    Job("request_reminders", reminders.request_reminders,
        _l("Remind the privacy officer of data subject requests due soon or overdue"),
        "0 7 * * *", title=_l("Request reminders")),
    Job("art14_notices", reminders.art14_notices,
        _l("Flag the Art. 14 notices owed to people from purchased lists"), "5 7 * * *",
        title=_l("Art. 14 notices")),
    Job("session_purge", housekeeping.session_purge,
        _l("Delete expired sign-in sessions"), "*/15 * * * *",
        title=_l("Sign-in session purge")),
    Job("mailchimp_sync", mailchimp.mailchimp_sync,
        _l("Sync the marketing audience to Mailchimp"), "20 * * * *",
        title=_l("Mailchimp sync"),
        summary=("sent", "unsubscribed", "unchanged", "refused")),
)}


def job_title(name: str) -> str:
    """Return the job's short title in the reader's language; an unknown job by its name."""
    job = JOBS.get(name)
    if job is None:
        return name
    return str(job.title or job.description)


def schedules(config) -> dict[str, str | None]:
    """Return job name -> crontab (None: not scheduled), defaults overridden by config."""
    overrides = config.get("CRM_JOB_SCHEDULES") or {}
    unknown = set(overrides) - set(JOBS)
    if unknown:
        raise ValueError(f"CRM_JOB_SCHEDULES names unknown jobs: {', '.join(sorted(unknown))}")
    result: dict[str, str | None] = {}
    for name, job in JOBS.items():
        value = overrides.get(name, job.schedule).strip()
        result[name] = None if value.lower() in ("off", "") else value
    return result
