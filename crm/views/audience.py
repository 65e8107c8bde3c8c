"""The marketing audience screen (DESIGN §9.8): its size, the CSV export, the Mailchimp sync.

Marketing and Communications only (`MarketingAudience` can_export). The export has
only what a mailing needs (email, names, language, organisation) and is audited
with its row count; the sync runs the `mailchimp_sync` job now.
"""

from __future__ import annotations

import re
import unicodedata

import sqlalchemy as sa
from flask import Response, current_app, flash, g, redirect, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError

from crm.extensions import db
from crm.forms import CrmForm
from crm.integrations import mailchimp
from crm.jobs.mailchimp import NOT_CONFIGURED, configured
from crm.jobs.runner import run_job, shown_runs
from crm.models import Contact, JobRun, JobStatus, MailchimpMember, MailchimpStatus
from crm.models.base import register_today
from crm.security import roles
from crm.services.audience import export_csv, in_audience, left_out_as_suppressed
from crm.views.errors import ExpiredFormOnScreen
from crm.views.jobs import error_text, summary_text

SYNC_JOB = "mailchimp_sync"
ASK_ADMINISTRATOR = _l("Ask the administrator to set up the Mailchimp connection.")
#: Failures only the administrator can put right, as the audience's users are told them.
MAILCHIMP_ERRORS = {
    mailchimp.BAD_KEY: _l("Mailchimp did not accept the API key. Ask the administrator to "
                          "check the API key."),
    mailchimp.NO_AUDIENCE: _l("Mailchimp did not find the audience. Ask the administrator "
                              "to check the audience's id."),
}


def sync_error_text(error: str | None) -> str:
    """Return a sync's error for the audience's users (Marketing, Communications).

    They cannot set environment variables, so a missing configuration, a refused API key
    or an unknown audience sends them to the administrator; the jobs screen (Privacy)
    names the variables (`crm.views.jobs.ERRORS`, `MAILCHIMP_ERRORS`).
    """
    if error == NOT_CONFIGURED:
        return f"{_('Mailchimp is not configured')}. {ASK_ADMINISTRATOR}"
    return error_text(error, MAILCHIMP_ERRORS)


def file_name_part(title: str) -> str:
    """Return `title` as a download's name may start: lower case ASCII words joined by
    hyphens ("Markkinoinnin vastaanottajat" -> "markkinoinnin-vastaanottajat"), so that
    a plain quoted filename suffices ("ä" is written "a", as the access export's are)."""
    ascii_text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-") or "audience"


class SyncForm(CrmForm):
    """No fields: the CSRF token only."""


class MarketingAudienceView(ExpiredFormOnScreen, BaseView):
    route_base = "/audience"
    default_view = "index"
    class_permission_name = roles.MARKETING_AUDIENCE
    base_permissions = [roles.EXPORT]
    method_permission_name = {"index": "export", "export": "export", "sync": "export"}

    def csrf_refused(self, error: CSRFError):
        """The sync posted with a stale or missing CSRF token: refused by the app-wide
        check before `sync` runs; say so on the audience page, not on a bare 400 page."""
        flash(_("The form had expired. Nothing was run; please try again."), "danger")
        return redirect(url_for("MarketingAudienceView.index"))

    @expose("/")
    @has_access
    def index(self):
        subscribed = db.session.scalar(sa.select(sa.func.count()).select_from(Contact)
                                       .where(in_audience()))
        # The audience as the export and the sync read it: the page gives the file's
        # number of rows.
        suppressed = left_out_as_suppressed(db.session)
        members = dict(db.session.execute(
            sa.select(MailchimpMember.status, sa.func.count())
            .group_by(MailchimpMember.status)).all())
        last = db.session.scalar(
            sa.select(JobRun).where(JobRun.job == SYNC_JOB, shown_runs())
            .order_by(JobRun.started_at.desc(), JobRun.id.desc()).limit(1))
        return self.render_template(
            "audience/index.html", subscribed=subscribed, audience=subscribed - suppressed,
            suppressed=suppressed,
            at_mailchimp=members.get(MailchimpStatus.subscribed, 0),
            unsubscribed_there=members.get(MailchimpStatus.unsubscribed, 0), last=last,
            last_error=sync_error_text(last.error) if last else "",
            last_summary=summary_text(SYNC_JOB, last.counts) if last else "",
            configured=configured(current_app.config), subscribed_url=self._subscribed_url(),
            ask_administrator=ASK_ADMINISTRATOR, csrf=SyncForm().csrf_token.current_token)

    def _subscribed_url(self) -> str | None:
        """Return the contacts list of the subscribed contacts with an email address (its
        filters' first on the status, third on the address: "contains @"), whose number
        the page gives; None for a reader who may not list them by marketing status."""
        sm = self.appbuilder.sm
        if not (sm.can(roles.READ, roles.CONTACT) and sm.can(roles.READ, roles.MARKETING_CONSENT)):
            return None
        return url_for("ContactView.list", _flt_0_marketing_status="subscribed",
                       _flt_2_email="@")

    @expose("/export.csv")
    @has_access
    def export(self):
        body, _count = export_csv(db.session, actor=(g.user.id, g.user.username))
        # Named as the page is titled, in the reader's language ("markkinoinnin-
        # vastaanottajat-2026-11-25.csv"), dated as the register counts days
        # (CRM_TIMEZONE), not by the server's clock.
        name = f"{file_name_part(_('Marketing audience'))}-{register_today().isoformat()}.csv"
        # "text/csv; charset=utf-8": Flask adds the charset to a text type's mimetype.
        return Response(body, mimetype="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})

    @expose("/sync", methods=["POST"])
    @has_access
    def sync(self):
        if not SyncForm().validate_on_submit():
            flash(_("The form had expired. Nothing was run; please try again."), "danger")
            return redirect(url_for(".index"))
        outcome = run_job(current_app._get_current_object(), SYNC_JOB, trigger="screen",
                          actor=(g.user.id, g.user.username))
        if outcome.status is JobStatus.succeeded:
            # What it did, as the jobs screen sums it up.
            flash(f'{_("Mailchimp sync: %(status)s.", status=outcome.status.label)} '
                  f"{summary_text(SYNC_JOB, outcome.counts)}", "success")
        else:
            flash(_("Mailchimp sync: %(status)s. %(error)s", status=outcome.status.label,
                    error=sync_error_text(outcome.error)), "warning")
        return redirect(url_for(".index"))
