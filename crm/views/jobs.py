"""The jobs screen: the scheduled jobs, 'run now' and 'dry run', open reminders, and the
retention forecast (what expires in the next 30 days)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, current_app, flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_babel import gettext as _
from flask_wtf import FlaskForm

from crm.extensions import db
from crm.jobs import JOBS, schedules
from crm.jobs.reminders import describe
from crm.jobs.runner import run_job
from crm.models import JobRun, JobStatus
from crm.models.privacy import Notification
from crm.security import roles
from crm.services.retention import expiring_contacts, forecast


class RunForm(FlaskForm):
    """No fields: the CSRF token only."""


class JobsView(BaseView):
    route_base = "/jobs"
    default_view = "index"
    class_permission_name = roles.JOB_RUN
    method_permission_name = {"index": "read", "forecast": "read", "run": "run"}
    base_permissions = [roles.READ, roles.RUN]

    @expose("/")
    @has_access
    def index(self):
        crontabs = schedules(current_app.config)
        rows = []
        for name, job in JOBS.items():
            last = db.session.scalar(
                sa.select(JobRun).where(JobRun.job == name, JobRun.status != JobStatus.skipped)
                .order_by(JobRun.started_at.desc(), JobRun.id.desc()).limit(1))
            rows.append({"name": name, "description": job.description,
                         "schedule": crontabs[name], "last": last})
        notifications = db.session.scalars(
            sa.select(Notification).where(Notification.resolved_at.is_(None))
            .order_by(Notification.due_on, Notification.id)).all()
        return self.render_template(
            "jobs/index.html", jobs=rows, csrf=RunForm().csrf_token.current_token,
            may_run=self.appbuilder.sm.can(roles.RUN, roles.JOB_RUN),
            notifications=[(n, describe(n)) for n in notifications],
            timezone=current_app.config["CRM_TIMEZONE"])

    @expose("/run/<name>", methods=["POST"])
    @has_access
    def run(self, name: str):
        if name not in JOBS:
            abort(404)
        if not RunForm().validate_on_submit():
            flash(_("The form had expired. Nothing was run; please try again."), "danger")
            return redirect(url_for(".index"))
        dry_run = request.form.get("dry_run") == "1"
        outcome = run_job(current_app._get_current_object(), name, dry_run=dry_run,
                          trigger="screen", actor=(g.user.id, g.user.username))
        # A dry run's message says so: it looks like a run's but changed nothing.
        prefix = f"{_('Dry run')} – " if dry_run else ""
        if outcome.status is JobStatus.succeeded:
            flash(prefix + _("Job %(name)s: %(status)s.", name=name,
                             status=outcome.status.label), "success")
        else:
            flash(prefix + _("Job %(name)s: %(status)s. %(error)s", name=name,
                             status=outcome.status.label, error=outcome.error or ""),
                  "warning")
        return redirect(url_for("JobRunView.show", pk=outcome.run_id))

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
            show_contacts=show_contacts, policy_names={row.code: row.name for row in rows})
