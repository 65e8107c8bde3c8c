"""What each role needs first: the panels of the home page."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from flask import current_app
from flask_babel import format_date, format_datetime, ngettext
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crm.jobs import job_title
from crm.models import (
    Activity,
    ActivityKind,
    AuditEvent,
    CallbackRequest,
    CallbackStatus,
    Contact,
    CustomerStatus,
    DataSubjectRequest,
    JobRun,
    MarketingStatus,
    Organisation,
    RelationshipRole,
    RequestStatus,
    Source,
    SourceKind,
)
from crm.security import roles
from crm.services.art14 import lists_owing
from crm.services.audit_labels import action_label, object_type_label
from crm.services.consents import consent_valid_since, on_consent_without_one


@dataclass
class Row:
    text: str
    href: str | None = None
    note: str | None = None
    #: The note is a warning (a deadline passed).
    late: bool = False


@dataclass
class Panel:
    key: str
    title: str
    rows: list[Row] = field(default_factory=list)
    count: int | None = None
    link: str | None = None


def home_panels(session: Session, can: Callable[[str, str], bool],
                url: Callable[[str, object], str], today: date) -> list[Panel]:
    """Return the panels the signed-in user's permissions allow, most urgent first.

    :param can: (permission, resource) -> bool for the signed-in user.
    :param url: (view endpoint, pk or None) -> URL.
    """
    panels: list[Panel] = []
    if can(roles.READ, roles.DATA_SUBJECT_REQUEST):
        open_ = (DataSubjectRequest.status.not_in([RequestStatus.completed,
                                                   RequestStatus.rejected]))
        due = func.coalesce(DataSubjectRequest.extended_due_on, DataSubjectRequest.due_on)
        requests = session.execute(
            select(DataSubjectRequest.id, DataSubjectRequest.type, due)
            .where(open_).order_by(due).limit(8)).all()
        panels.append(Panel(
            "requests", _("Open data subject requests"),
            [Row(f"#{i} {t.label}", url("DataSubjectRequestView.show", i),
                 (_("OVERDUE") + " " if d < today else "") + format_date(d, "short"),
                 late=d < today)
             for i, t, d in requests],
            session.scalar(select(func.count()).where(open_)),
            url("DataSubjectRequestView.list", None)))
    if can(roles.READ, roles.CONSENT) and can(roles.EDIT, roles.DATA_SUBJECT_REQUEST):
        panels.append(_without_basis_panel(session, url))
    if can(roles.EDIT, roles.PURCHASED_LIST_IMPORT):
        # Marketing, which imports the lists, owes their people the Art. 14 notice: the
        # lists still owing it, the earliest due first, each to its page to record it.
        owing, total = lists_owing(session, today)
        panels.append(Panel(
            "art14", _("Art. 14 notices"),
            [Row(ngettext("%(name)s: %(num)d person owed the notice",
                          "%(name)s: %(num)d people owed the notice", n.owed, name=n.name),
                 url("SourceView.show", n.source_id),
                 (_("OVERDUE") + " " if n.overdue_days else "") + format_date(n.due_on, "short"),
                 late=bool(n.overdue_days))
             for n in owing],
            total, url("SourceView.list", None)))
    if can(roles.ADD, roles.PURCHASED_LIST_IMPORT):
        # The lists Marketing imported last, each to its page (what the import did, its
        # notices), and the import screen with the whole history.
        bought = Source.kind == SourceKind.purchased_list
        rows = session.execute(select(Source.id, Source.name, Source.created_at)
                               .where(bought).order_by(Source.created_at.desc(),
                                                       Source.id.desc()).limit(6)).all()
        panels.append(Panel("imports", _("Latest purchased-list imports"),
                            [Row(name, url("SourceView.show", i), format_date(at, "short"))
                             for i, name, at in rows],
                            None, url("PurchasedListImportView.index", None)))
    if can(roles.EDIT, roles.CALLBACK_REQUEST):
        # Sales' work: the people to call back. Those who only read the requests
        # (Marketing, the privacy team) open them from the menu; on their home page the
        # list read as if the calls were theirs to make.
        # New ones and those being handled: one taken up and left "in progress" would
        # otherwise drop out of sight. New ones first, the newest first.
        open_ = CallbackRequest.status.in_([CallbackStatus.new, CallbackStatus.in_progress])
        rows = session.execute(select(CallbackRequest.id, CallbackRequest.name,
                                      CallbackRequest.status, CallbackRequest.received_at)
                               .where(open_)
                               .order_by(CallbackRequest.status != CallbackStatus.new,
                                         CallbackRequest.received_at.desc())
                               .limit(8)).all()
        panels.append(Panel(
            "callbacks", _("Open callback requests"),
            # Dates as the reader writes them, on the register's day (CRM_TIMEZONE).
            [Row(name if status is CallbackStatus.new else f"{name} ({status.label})",
                 url("CallbackRequestView.show", i), format_date(at, "short"))
             for i, name, status, at in rows],
            session.scalar(select(func.count()).where(open_)),
            url("CallbackRequestView.list", None)))
    if can(roles.ADD, roles.ACTIVITY):
        # The calls, meetings and support interactions of those who log them (Sales,
        # Support); those who only read them open them from the menu or a contact's page.
        support_only = not can(roles.ADD, roles.ORGANISATION)
        kind_filter = (Activity.kind == ActivityKind.support if support_only
                       else Activity.kind.is_not(None))
        # Each with whom it was: a list of "Demo", "Demo", "Tukipyyntö" says nothing.
        rows = session.execute(select(Activity.id, Activity.subject, Activity.occurred_at,
                                      Contact.first_name, Contact.last_name)
                               .outerjoin(Contact, Contact.id == Activity.contact_id)
                               .where(kind_filter)
                               .order_by(Activity.occurred_at.desc()).limit(8)).all()
        # Support's are support interactions only: the title says so, lest the others'
        # calls and meetings seem to be missing.
        title = _("Latest support interactions") if support_only else _("Latest activities")
        panels.append(Panel("activities", title,
                            [Row(f"{s} – {first} {last}" if last else s,
                                 url("ActivityView.show", i), format_date(at, "short"))
                             for i, s, at, first, last in rows],
                            None, url("ActivityView.list", None)))
    if can(roles.READ, roles.MARKETING_CONSENT) and can(roles.EXPORT, roles.MARKETING_AUDIENCE):
        # The work of those who market to the audience (Marketing, Communications): the
        # others who read marketing statuses (Sales, the privacy team) see a contact's on
        # its page; on their home page the counts read as if the mailings were theirs.
        counts = dict(session.execute(
            select(Contact.marketing_status, func.count())
            .where(Contact.anonymised_at.is_(None))
            .group_by(Contact.marketing_status)).all())
        # Contacts by marketing status: not the audience, which leaves out those without
        # an email address and those on the suppression list. Titled and counted as the
        # audience, it read a larger number than the audience page and its file, which
        # the panel links to. Each status opens the contacts list filtered by it
        # (FilterEnumEqual, the column's first filter), whose count this is: it lists no
        # anonymised contacts either.
        may_list = can(roles.READ, roles.CONTACT)
        panels.append(Panel("marketing", _("Marketing"),
                            [Row(s.label, url("ContactView.list",
                                              {"_flt_0_marketing_status": s.value})
                                 if may_list else None, str(counts.get(s, 0)))
                             for s in MarketingStatus],
                            None, url("MarketingAudienceView.index", None)))
    if can(roles.EDIT, roles.INVOICING):
        # No way to send an invoice: no e-invoice address, postal address or billing email.
        missing = ((Organisation.customer_status == CustomerStatus.customer)
                   & Organisation.e_invoice_address.is_(None)
                   & Organisation.invoicing_street.is_(None)
                   & Organisation.billing_email.is_(None))
        rows = session.execute(select(Organisation.id, Organisation.name).where(missing)
                               .order_by(Organisation.name).limit(8)).all()
        panels.append(Panel("invoicing", _("Customers without invoicing details"),
                            [Row(n, url("OrganisationView.show", i)) for i, n in rows],
                            session.scalar(select(func.count()).where(missing))))
        # Receivables' people: whom invoices go to, and the way to the whole list (its
        # filter by role in the customer relationship, a partial index's).
        billing = ((Contact.relationship_role == RelationshipRole.billing)
                   & Contact.anonymised_at.is_(None))
        rows = session.execute(select(Contact.id, Contact.first_name, Contact.last_name,
                                      Organisation.name)
                               .outerjoin(Organisation, Contact.organisation_id == Organisation.id)
                               .where(billing).order_by(Contact.last_name, Contact.id)
                               .limit(8)).all()
        panels.append(Panel(
            "billing_contacts", _("Billing contacts"),
            [Row(f"{first} {last}".strip(), url("ContactView.show", i), organisation)
             for i, first, last, organisation in rows],
            session.scalar(select(func.count()).where(billing)),
            url("ContactView.list", {"_flt_0_relationship_role": RelationshipRole.billing.value})))
    if can(roles.READ, roles.JOB_RUN):
        rows = session.execute(select(JobRun.id, JobRun.job, JobRun.status, JobRun.dry_run,
                                      JobRun.started_at)
                               .order_by(JobRun.started_at.desc()).limit(6)).all()
        # A dry run says so: "Retention: Succeeded" alone reads as if the job had run.
        panels.append(Panel("jobs", _("Latest job runs"),
                            [Row(f"{job_title(job)}: {status.label}"
                                 + (f" ({_('Dry run')})" if dry else ""),
                                 url("JobRunView.show", i), format_datetime(at, "short"))
                             for i, job, status, dry, at in rows], None,
                            url("JobRunView.list", None)))
    if can(roles.READ, roles.AUDIT_EVENT):
        rows = session.execute(select(AuditEvent.id, AuditEvent.action, AuditEvent.actor,
                                      AuditEvent.object_type, AuditEvent.object_id,
                                      AuditEvent.at)
                               .order_by(AuditEvent.id.desc()).limit(6)).all()
        # A job's run by its job and who started it, as the jobs screen names them.
        from crm.views.audit_trail import job_run_text, job_runs  # the views import this

        runs = job_runs(oid for _i, action, _a, otype, oid, _at in rows
                        if action == "job" and otype == "JobRun")
        panels.append(Panel("audit", _("Latest audit events"),
                            [Row(f"{runs[oid][1]}: {job_run_text(runs[oid][0], oid)}"
                                 if action == "job" and otype == "JobRun" and oid in runs
                                 else _audit_text(actor, action, otype),
                                 url("AuditEventView.show", i),
                                 format_datetime(at, "short"))
                             for i, action, actor, otype, oid, at in rows], None,
                            url("AuditEventView.list", None)))
    return panels


def _without_basis_panel(session: Session, url: Callable[[str, object], str]) -> Panel:
    """The privacy team's people on consent with no valid consent left, kept without a
    basis until it decides on another basis or on erasure: the first few by name, each
    to their page, and all of them on the contacts list (its consent filters)."""
    without = on_consent_without_one(
        consent_valid_since(current_app.config["CRM_CONSENT_VALID_DAYS"]))
    rows = session.execute(select(Contact.id, Contact.first_name, Contact.last_name,
                                  Organisation.name)
                           .outerjoin(Organisation, Contact.organisation_id == Organisation.id)
                           .where(without).order_by(Contact.last_name, Contact.id)
                           .limit(8)).all()
    return Panel(
        "consent_basis", _("Consent as the legal basis, but no valid consent"),
        [Row(f"{first} {last}".strip(), url("ContactView.show", i), organisation)
         for i, first, last, organisation in rows],
        session.scalar(select(func.count()).select_from(Contact).where(without)),
        url("ContactView.list", {"_flt_0_legal_basis": "consent", "_flt_0_consents": ""}))


def _audit_text(actor: str | None, action: str, object_type: str | None) -> str:
    """Return an audit event's line: who, what, to what kind of record.

    The kind follows in brackets ("Changed (Contact)"): run together, an action and a
    kind read as a sentence they are not ("Kirjautui sisään Käyttäjä"). It is left out
    where it adds nothing: a sign-in's object is the person signing in, and a job's run
    is "Job run" both as action and object.
    """
    what = str(action_label(action))
    kind = str(object_type_label(object_type)) if object_type else ""
    if kind and kind != what and action not in _ACTIONS_ON_ONESELF:
        what = f"{what} ({kind})"
    return f"{actor or '—'}: {what}"


#: Audit actions whose object is the actor's own account.
_ACTIONS_ON_ONESELF = frozenset({"login", "logout", "login_failed", "login_refused"})
