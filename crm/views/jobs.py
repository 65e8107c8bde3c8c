"""The jobs screen: the scheduled jobs, 'run now' and 'dry run', open reminders, and the
retention forecast (what expires in the next 30 days).

Every job changes data (the retention job irreversibly), so "run now" first does a dry
run, which changes nothing, and shows its counts on a page that asks to confirm; only
the confirming post runs the job. A dry run alone is one click.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from babel.dates import get_day_names
from babel.lists import format_list
from flask import abort, current_app, flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_babel import format_date, format_datetime, format_time, get_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from markupsafe import Markup, escape

from crm.extensions import db
from crm.forms import CrmForm
from crm.integrations import mailchimp
from crm.jobs import JOBS, job_title, schedules
from crm.jobs import mailchimp as mailchimp_job
from crm.jobs.crontab import crontab_trigger, weekdays
from crm.jobs.mailchimp import NOT_CONFIGURED
from crm.jobs.reminders import describe, list_names
from crm.jobs.runner import INTERRUPTED, SKIPPED, RunOutcome, run_job, shown_runs
from crm.models import AuditEvent, DataSubjectRequest, JobRun, JobStatus, RetentionPolicy
from crm.models.base import utcnow
from crm.models.privacy import Notification
from crm.security import roles
from crm.services.requests import OPEN
from crm.services.retention import expiring_contacts, forecast, last_real_run
from crm.views.errors import ExpiredFormOnScreen
from crm.views.users import user_texts

#: A dry run older than this is not confirmed: a new one is shown first (so is one
#: that a run followed already).
PREVIEW_MAX_AGE = timedelta(hours=1)

#: What started a run (`JobRun.trigger`). A run started on a screen is shown by who
#: started it (`started_by`); this label only while its audit event is not written yet.
TRIGGERS = {"screen": _l("Jobs screen"), "schedule": _l("Scheduler"),
            "command": _l("Command line")}

MAILCHIMP_SYNC = "mailchimp_sync"
#: What the jobs screen says of the Mailchimp sync while it cannot run (the settings are
#: README's, Mailchimp).
MAILCHIMP_NOT_CONFIGURED = _l(
    "Not configured: the administrator must set %(key)s (the API key, which ends with "
    "its server prefix, e.g. -us21) and %(audience)s (the audience's id) in the server's "
    "environment. Until then the job cannot be run, and its scheduled runs are skipped.")

#: The runner records these errors in English, the same for every reader: shown translated.
ERRORS = {
    SKIPPED: _l("Another run of this job held its lock, so this one did nothing."),
    INTERRUPTED: _l("Interrupted: the process running it ended before it finished."),
    NOT_CONFIGURED: _l("Mailchimp is not configured, so nothing was sent there "
                       "(see CRM_MAILCHIMP_API_KEY in the README)."),
}

#: A failed Mailchimp call by its kind (`mailchimp.failure_kind`): what went wrong and
#: what to do, for the jobs screen's readers. The run keeps the technical English message.
MAILCHIMP_ERRORS = {
    mailchimp.UNREACHABLE: _l(
        "Mailchimp could not be reached: no connection or no answer. Try again later. If "
        "it keeps happening, ask the administrator to check the server's connection to "
        "Mailchimp."),
    mailchimp.BAD_KEY: _l("Mailchimp did not accept the API key. Check the API key "
                          "(CRM_MAILCHIMP_API_KEY)."),
    mailchimp.NO_AUDIENCE: _l("Mailchimp did not find the audience. Check the audience's "
                              "id (CRM_MAILCHIMP_AUDIENCE_ID)."),
    mailchimp.BUSY: _l("Mailchimp was busy or out of order and did not answer even after "
                       "several tries. Try again later."),
    mailchimp.REFUSED: _l("Mailchimp refused the request (error %(status)s). If it happens "
                          "again, ask the administrator to look into it."),
}

#: Counts of how a run went rather than of what it did: shown apart.
TECHNICAL = {"batches": _l("Batches"), "longest_lock_ms": _l("Longest batch lock (ms)")}

#: Count keys of the retention jobs besides the policies' codes (crm.services.retention
#: and crm.privacy.anonymise COUNTS): what anonymising or deleting contacts also did.
_RETENTION_COUNTS = {
    "contacts": _l("Contacts"),
    "suppressed": _l("Added to the suppression list"),
    "identifiers": _l("Identifiers deleted"),
    "consents": _l("Consents deleted"),
    "purposes": _l("Purpose links deleted"),
    "activities": _l("Activities emptied or deleted"),
    "provenance": _l("Provenance records updated or deleted"),
    "callback_requests": _l("Callback requests anonymised"),
    "requests": _l("Data subject requests anonymised"),
    "organisations": _l("Billing emails removed from organisations"),
    "sessions": _l("Sign-in sessions cleaned"),
    "contact_change": _l("Change history entries deleted"),
    "skipped": _l("Skipped: changed meanwhile"),
    "unsupported_policies": _l("Policies skipped: their clock does not apply"),
}
_NOTIFICATION_COUNTS = {"raised": _l("Reminders raised"), "resolved": _l("Reminders resolved"),
                        "emailed": _l("Reminders mailed")}
#: The jobs that count what they did under each retention policy's code.
POLICY_JOBS = ("retention", "audit_pruning")
#: Job -> count key -> label. Keys the job does not name are shown as they are.
COUNT_LABELS: dict[str, dict[str, object]] = {
    "retention": _RETENTION_COUNTS,
    "audit_pruning": _RETENTION_COUNTS,
    "consent_expiry": {"consents": _l("Consents lapsed"),
                       "unsubscribed": _l("Contacts unsubscribed from marketing")},
    "request_reminders": {"due_soon": _l("Requests due soon"),
                          "overdue": _l("Requests overdue"), **_NOTIFICATION_COUNTS},
    # Only those due within CRM_ART14_REMINDER_DAYS or overdue are counted: the others
    # are owed one too, so the label says which.
    "art14_notices": {"owed": _l("People whose Art. 14 notice is due soon or overdue"),
                      "overdue": _l("Of them overdue"), "lists": _l("Purchased lists"),
                      **_NOTIFICATION_COUNTS},
    "session_purge": {"sessions": _l("Expired sign-in sessions deleted")},
    "mailchimp_sync": {
        "audience": _l("Contacts in the audience"), "sent": _l("Sent to Mailchimp"),
        "created": _l("Added at Mailchimp"), "updated": _l("Updated at Mailchimp"),
        "refused": _l("Refused by Mailchimp"), "unchanged": _l("Unchanged"),
        "unsubscribed": _l("Unsubscribed at Mailchimp"),
        "archived": _l("Archived at Mailchimp"),
        "deleted": _l("Deleted permanently at Mailchimp"),
        "not_configured": _l("Mailchimp is not configured"),
    },
}


def error_text(error: str | None, mailchimp_errors: dict | None = None) -> str:
    """Return a run's recorded error in the reader's language where it is a known one.

    :param mailchimp_errors: texts of Mailchimp's failure kinds instead of
        `MAILCHIMP_ERRORS`' (the audience page's readers do not know the settings).
    """
    if not error:
        return ""
    if error in ERRORS:
        return str(ERRORS[error])
    failure = mailchimp.failure_kind(error)
    if failure is not None:
        kind, status = failure
        text = {**MAILCHIMP_ERRORS, **(mailchimp_errors or {})}[kind]
        return str(text) % {"status": status}
    return error


def trigger_label(trigger: str | None) -> str:
    if not trigger:
        return ""
    return str(TRIGGERS.get(trigger, trigger))


def started_by(runs: list[tuple[int, str | None]]) -> dict[int, str]:
    """Return run id -> who or what started it, for (id, trigger) pairs of runs.

    The scheduler's and the command line's runs by that; a run started on a screen by the
    user, read from the run's audit event (the runner records (user id, username) there),
    as the users screen names them today; by the username it was started under if the
    account is gone. Until the run's event is written (while it runs; never, if its
    process died) it is shown by the screen.
    """
    shown = {run_id: trigger_label(trigger) for run_id, trigger in runs}
    by_hand = [str(run_id) for run_id, trigger in runs if trigger == "screen"]
    if not by_hand:
        return shown
    events = db.session.execute(
        sa.select(AuditEvent.object_id, AuditEvent.actor_id, AuditEvent.actor)
        .where(AuditEvent.action == "job", AuditEvent.object_type == "JobRun",
               AuditEvent.object_id.in_(by_hand))).all()
    users = user_texts(actor_id for _run, actor_id, _name in events)
    for run_id, actor_id, actor in events:
        who = users.get(actor_id) or actor
        if who:
            shown[int(run_id)] = who
    return shown


def not_configured(name: str) -> Markup | None:
    """Return what the administrator must set before job `name` can work, as the jobs
    screen says it; None when it can work."""
    if name != MAILCHIMP_SYNC or mailchimp_job.configured(current_app.config):
        return None
    key, audience = mailchimp_job.SETTINGS
    return escape(str(MAILCHIMP_NOT_CONFIGURED)) % {
        "key": Markup("<code>{}</code>").format(key),
        "audience": Markup("<code>{}</code>").format(audience)}


def count_rows(job: str, counts: dict | None) -> tuple[list[tuple], list[tuple]]:
    """Return (key, label, value) rows of a run's counts, and apart its technical figures.

    The retention jobs count each policy under its code: labelled with the policy's name
    and shown first, in the policies' order. The other counts follow in the order of the
    job's labels (the stored counts come back sorted by key, which in English is no order
    in Finnish, and differently on PostgreSQL). A key no label is known for is shown as
    it is, last.
    """
    rows: list[tuple] = []
    technical: list[tuple] = []
    if not counts:
        return rows, technical
    labels = COUNT_LABELS.get(job, {})
    # The retention jobs count under each policy's code first of all; other jobs' keys
    # are their own (a policy coded like one of them does not rename it).
    by_policy = job in POLICY_JOBS
    policies: dict[str, str] = {}
    if by_policy or any(key not in labels and key not in TECHNICAL for key in counts):
        policies = dict(db.session.execute(
            sa.select(RetentionPolicy.code, RetentionPolicy.name)
            .order_by(RetentionPolicy.id)).all())
    for key, value in counts.items():
        if key in TECHNICAL:
            technical.append((key, str(TECHNICAL[key]), value))
            continue
        label = policies.get(key) if by_policy else None
        if label is None:
            label = labels.get(key)
        if label is None:
            code, _sep, suffix = key.rpartition("_")
            if key in policies:
                label = policies[key]
            elif suffix == "deferred" and code in policies:
                label = _("%(policy)s: left for a later run (locked by a user)",
                          policy=policies[code])
            elif suffix == "retry" and code in policies:
                label = _("%(policy)s: changed meanwhile, left for the next run",
                          policy=policies[code])
        rows.append((key, str(label) if label is not None else key, value))
    policy_order = {code: index for index, code in enumerate(policies)} if by_policy else {}
    label_order = {key: index for index, key in enumerate(labels)}
    stored_order = {row[0]: index for index, row in enumerate(rows)}

    def place(row: tuple) -> tuple[int, int, int]:
        # What each policy removed (and left for later) first, then what else that
        # changed, then the unknown.
        key = row[0]
        if key in policy_order:
            return 0, policy_order[key], 0
        code = key.rpartition("_")[0]
        if code in policy_order:
            return 0, policy_order[code], 1
        if key in label_order:
            return 1, label_order[key], 0
        return 2, stored_order[key], 0

    rows.sort(key=place)
    return rows, technical


def counts_text(job: str, counts: list[tuple[str, int]]) -> str:
    """Return (key, value) counts of a run of `job` in words, in the order given and
    labelled as its page labels them: "Sent to Mailchimp 120, Unchanged 0"."""
    labels = COUNT_LABELS.get(job, {})
    return ", ".join(f"{labels.get(key, key)} {value}" for key, value in counts)


def summary_text(job: str, counts: dict | None) -> str:
    """Return what a run did in a line: the counts its job sums up (`Job.summary`).

    Empty when the job sums up none, or the run counted none of them (it was skipped).
    """
    keys = JOBS[job].summary if job in JOBS else ()
    return counts_text(job, [(key, counts[key]) for key in keys if key in (counts or {})])


def reminder_text(notification: Notification) -> str:
    """Return the reminder's line as `describe` writes it, its date as the reader writes
    dates (25.11.2026, 11/25/26) rather than as in the mails (2026-11-25)."""
    # An Art. 14 reminder names its purchased list, as the list's page does.
    name = list_names(db.session, [notification]).get(notification.object_id)
    return describe(notification, show_date=lambda day: format_date(day, "short"),
                    list_name=name)


def audience_text(notification: Notification) -> str:
    """Return the roles a reminder is for, in the reader's language.

    The CRM's roles that receive reminders are named like the menus they work in
    ("Privacy", "Marketing"), whose names are translated.
    """
    return ", ".join(_(role) for role in notification.audience.split(",") if role)


def _unanswered(notifications: list[Notification]) -> list[Notification]:
    """Return the reminders without those about a request closed since they were raised.

    The reminders job resolves them at its next run (daily); until then they are not
    shown, so a request just completed does not still read as due or overdue.
    """
    about = {int(n.object_id) for n in notifications if n.object_type == "DataSubjectRequest"}
    still_open = set(db.session.scalars(sa.select(DataSubjectRequest.id).where(
        DataSubjectRequest.id.in_(about), DataSubjectRequest.status.in_(OPEN)))) \
        if about else set()
    return [n for n in notifications if n.object_type != "DataSubjectRequest"
            or int(n.object_id) in still_open]


def next_run(crontab: str | None, zone: ZoneInfo, now: datetime | None = None):
    """Return when the scheduler next runs a job on `crontab`, in `zone` (None: never)."""
    if not crontab:
        return None
    try:
        trigger = crontab_trigger(crontab, zone)
    except ValueError:
        return None
    return trigger.get_next_fire_time(None, now or datetime.now(zone))


def schedule_text(crontab: str) -> str | None:
    """Return the crontab in words in the reader's language ("Daily at 02:30"), or None
    when it is of a shape not described here (the screen then shows the crontab)."""
    fields = crontab.split()
    if len(fields) != 5:
        return None
    minute, hour, day, month, weekday_field = fields
    if day != "*" or month != "*":
        return None
    if minute.startswith("*/") and minute[2:].isdigit() and hour == "*" == weekday_field:
        every = int(minute[2:])
        return _("Every minute") if every == 1 else _("Every %(num)d minutes", num=every)
    if minute.isdigit() and hour == "*" == weekday_field:
        return ngettext("Every hour at %(num)d minute past", "Every hour at %(num)d minutes past",
                        int(minute))
    if not (minute.isdigit() and hour.isdigit()):
        return None
    try:
        days = weekdays(weekday_field)
        at = format_time(time(int(hour), int(minute)), "short")
    except ValueError:
        return None
    if days is None or len(days) == 7:
        return _("Daily at %(time)s", time=at)
    locale = get_locale()
    # Babel numbers weekdays from Monday (0); cron from Sunday.
    names = get_day_names("wide", context="stand-alone", locale=locale)
    listed = format_list([names[(d - 1) % 7] for d in sorted(days, key=lambda d: (d - 1) % 7)],
                         locale=locale)
    return _("Every %(days)s at %(time)s", days=listed, time=at)


class RunForm(CrmForm):
    """No fields: the CSRF token only."""


class JobsView(ExpiredFormOnScreen, BaseView):
    route_base = "/jobs"
    default_view = "index"
    class_permission_name = roles.JOB_RUN
    method_permission_name = {"index": "read", "forecast": "read", "run": "run",
                              "confirm": "run"}
    base_permissions = [roles.READ, roles.RUN]

    def csrf_refused(self, error: CSRFError):
        """A run or dry run posted from a page left open while the session ended (a stale
        or missing CSRF token): refused by the app-wide check before `run` runs; say so on
        the jobs screen rather than on an error page."""
        flash(_("The form had expired. Nothing was run; please try again."), "danger")
        return redirect(url_for("JobsView.index"))

    @expose("/")
    @has_access
    def index(self):
        crontabs = schedules(current_app.config)
        zone = ZoneInfo(current_app.config["CRM_TIMEZONE"])
        rows = []
        for name, job in JOBS.items():
            last = db.session.scalar(
                sa.select(JobRun).where(JobRun.job == name, shown_runs())
                .order_by(JobRun.started_at.desc(), JobRun.id.desc()).limit(1))
            upcoming = next_run(crontabs[name], zone)
            rows.append({"name": name, "title": job_title(name),
                         "not_configured": not_configured(name),
                         "last_error": error_text(last.error) if last else "",
                         "last_summary": summary_text(name, last.counts) if last else "",
                         "description": job.description, "schedule": crontabs[name],
                         "schedule_text": schedule_text(crontabs[name]) if crontabs[name]
                         else None,
                         "last": last, "next_run": upcoming,
                         "next_run_text": format_datetime(upcoming, "short", rebase=False)
                         if upcoming else ""})
        notifications = _unanswered(db.session.scalars(
            sa.select(Notification).where(Notification.resolved_at.is_(None))
            .order_by(Notification.due_on, Notification.id)).all())
        return self.render_template(
            "jobs/index.html", jobs=rows, csrf=RunForm().csrf_token.current_token,
            may_run=self.appbuilder.sm.can(roles.RUN, roles.JOB_RUN),
            # A reminder links to its request or list for those who may open it; the
            # others (Admin, Maintainer) read its line only, not a link to a refusal.
            may_open={"DataSubjectRequest": self.appbuilder.sm.can(
                roles.READ, roles.DATA_SUBJECT_REQUEST),
                "Source": self.appbuilder.sm.can(roles.READ, roles.SOURCE)},
            notifications=[(n, reminder_text(n), audience_text(n)) for n in notifications],
            timezone=current_app.config["CRM_TIMEZONE"])

    @expose("/run/<name>", methods=["POST"])
    @has_access
    def run(self, name: str):
        """A dry run (dry_run=1); else the dry run to confirm, or the confirmed run."""
        if name not in JOBS:
            abort(404)
        if not RunForm().validate_on_submit():
            flash(_("The form had expired. Nothing was run; please try again."), "danger")
            return redirect(url_for(".index"))
        if not_configured(name):
            # The screen offers no run then; a post all the same is refused. The job
            # skips itself, so the attempt is recorded as the scheduler's runs are, as
            # skipped and why, and audited with who made it.
            self._run(name, dry_run=request.form.get("dry_run") == "1")
            key, audience = mailchimp_job.SETTINGS
            flash(_("%(job)s was not run: Mailchimp is not configured. The administrator "
                    "must set %(key)s and %(audience)s.", job=job_title(name), key=key,
                    audience=audience), "warning")
            return redirect(url_for(".index"))
        if request.form.get("dry_run") == "1":
            outcome = self._run(name, dry_run=True)
            title = job_title(name)
            if outcome.status is JobStatus.succeeded:
                flash(_("Dry run of %(job)s: %(status)s. Nothing was changed.", job=title,
                        status=outcome.status.label), "success")
            else:
                flash(_("Dry run of %(job)s: %(status)s. %(error)s Nothing was changed.",
                        job=title, status=outcome.status.label,
                        error=error_text(outcome.error)),
                      "warning")
            return redirect(url_for("JobRunView.show", pk=outcome.run_id))
        dry = self._dry_run(name, request.form.get("confirm", type=int))
        stale = dry is not None and (dry.started_at < utcnow() - PREVIEW_MAX_AGE
                                     or self._run_since(dry))
        if dry is None or dry.status is not JobStatus.succeeded or stale:
            # Not confirmed (or on an old or unfinished dry run, or one a run followed
            # already: a second press): count first, change nothing.
            if stale:
                flash(_("The dry run shown was out of date: here is a new one."), "info")
            outcome = self._run(name, dry_run=True)
            return redirect(url_for(".confirm", name=name, run_id=outcome.run_id))
        outcome = self._run(name, dry_run=False)
        title = job_title(name)
        if outcome.status is JobStatus.succeeded:
            flash(_("Job %(name)s: %(status)s.", name=title, status=outcome.status.label),
                  "success")
        else:
            flash(_("Job %(name)s: %(status)s. %(error)s", name=title,
                    status=outcome.status.label, error=error_text(outcome.error)), "warning")
        return redirect(url_for("JobRunView.show", pk=outcome.run_id))

    @expose("/confirm/<name>/<int:run_id>")
    @has_access
    def confirm(self, name: str, run_id: int):
        """Show what the dry run `run_id` of job `name` counted and ask to confirm the run."""
        if name not in JOBS:
            abort(404)
        dry = self._dry_run(name, run_id)
        if dry is None:
            abort(404)
        rows, technical = count_rows(name, dry.counts)
        return self.render_template(
            "jobs/confirm.html", job=JOBS[name], title=job_title(name), dry=dry, rows=rows,
            technical=technical, csrf=RunForm().csrf_token.current_token,
            succeeded=dry.status is JobStatus.succeeded,
            skipped=dry.status is JobStatus.skipped, error=error_text(dry.error))

    def _run(self, name: str, *, dry_run: bool) -> RunOutcome:
        return run_job(current_app._get_current_object(), name, dry_run=dry_run,
                       trigger="screen", actor=(g.user.id, g.user.username))

    @staticmethod
    def _dry_run(name: str, run_id: int | None) -> JobRun | None:
        """Return the dry run `run_id` of job `name`; None if it is not one."""
        dry = db.session.get(JobRun, run_id) if run_id is not None else None
        if dry is None or dry.job != name or not dry.dry_run:
            return None
        return dry

    @staticmethod
    def _run_since(dry: JobRun) -> bool:
        """Return whether the job has run (not dry) since the dry run `dry`."""
        return db.session.scalar(sa.select(sa.exists().where(
            JobRun.job == dry.job, JobRun.id > dry.id, JobRun.dry_run.is_(False),
            JobRun.status != JobStatus.skipped)))

    @expose("/forecast")
    @has_access
    def forecast(self):
        days = request.args.get("days", 30, type=int)
        if not 1 <= days <= 366:
            days = 30
        contacts, total = [], 0
        show_contacts = self.appbuilder.sm.can(roles.READ, roles.CONTACT)
        if show_contacts:
            contacts, total = expiring_contacts(db.session, days)
        rows = forecast(db.session, days)
        return self.render_template(
            "jobs/forecast.html", days=days, rows=rows, contacts=contacts, total=total,
            show_contacts=show_contacts, policy_names={row.code: row.name for row in rows},
            # Past their period is overdue only if the job did not run: when it last did.
            last_run=last_real_run(db.session), now=utcnow())
