"""Screens of the privacy officer and the DPO: requests, recipients, retention, audit."""

from __future__ import annotations

from urllib.parse import urlencode

import sqlalchemy as sa
from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import expose, has_access
from flask_appbuilder.models.sqla import filters as fab_filters
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.urltools import get_filter_args
from flask_babel import format_decimal, ngettext
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from wtforms import HiddenField, SelectField, StringField
from wtforms.validators import InputRequired, NumberRange, StopValidation

from crm.extensions import db
from crm.jobs import JOBS
from crm.models import (
    AuditEvent,
    DataSubjectRequest,
    JobRun,
    JobStatus,
    Recipient,
    RetentionPolicy,
    Source,
    TransferSafeguard,
)
from crm.models.provenance import shown_source_name
from crm.privacy.record import country_name
from crm.security import roles
from crm.services import validation as v
from crm.services.audit_details import detail_text, event_detail_text
from crm.services.audit_labels import FIELDS, action_label, object_type_label, table_label
from crm.services.requests import (
    OPEN,
    RECEIPT_FIXED,
    Lateness,
    RequestError,
    answered_late,
    due_date,
    is_open,
    require_editable,
    today,
)
from crm.views import checks, list_audit
from crm.views.art14 import list_notices_context
from crm.views.audit_export import audit_trail_csv, max_rows
from crm.views.audit_filters import CONTACT_FILTER, AuditEventInterface, label_select
from crm.views.audit_trail import event_object, job_runs, object_links, people_shown
from crm.views.base import METHOD_PERMISSIONS, CrmModelView, _show_date, can
from crm.views.date_filters import CrmFilterConverter
from crm.views.dates import LocalDateField
from crm.views.interface import CrmFilters, CrmSQLAInterface
from crm.views.jobs import count_rows, error_text, job_title, started_by

LABELS = {
    "name": _l("Name"), "role": _l("Role"), "country": _l("Country"), "purpose": _l("Purpose"),
    "transfer_safeguard": _l("Transfer safeguard"), "safeguard_notes": _l("Safeguard notes"),
    "active": _l("Active"), "type": _l("Type"), "contact": _l("Contact"),
    "requester_name": _l("Requester"), "requester_email": _l("Requester's email"),
    "requester_phone": _l("Requester's phone"), "channel": _l("Received by"),
    "received_on": _l("Received"), "identity_verified_how": _l("Identity verified how"),
    "identity_verified_by": _l("Identity verified by"), "due_on": _l("Due"),
    "extended_due_on": _l("Extended to"), "extension_reason": _l("Reason for extension"),
    "extension_notified_on": _l("Requester told of extension"), "status": _l("Status"),
    "outcome": _l("Outcome"), "delivered_at": _l("Delivered"), "code": _l("Code"),
    "record_kind": _l("Records"), "clock_start": _l("Clock starts at"),
    "period_days": _l("Period (days)"), "action": _l("Action"), "enabled": _l("Enabled"),
    "description": _l("Description"), "job": _l("Job"), "started_at": _l("Started"),
    "finished_at": _l("Finished"), "dry_run": _l("Dry run"), "counts": _l("Counts"),
    "error": _l("Error"), "at": _l("When"), "actor": _l("Who"), "object_type": _l("Object"),
    "object_id": _l("Object id"), "fields": _l("Fields"), "detail": _l("Detail"),
    "kind": _l("Kind"), "supplier": _l("Supplier"), "file_hash": _l("File SHA-256"),
    "row_count": _l("Rows"), "created_at": _l("Created"), "trigger": _l("Started by"),
    "identity_verified_at": _l("Identity verified"), "delivered_how": _l("Delivered how"),
    "deadline": _l("Answer due"), "lateness": _l("Overdue"),
}


def _rewrite_rows(widgets: dict, rewrite) -> dict:
    """Let `rewrite` change the rows of FAB's list widget: given [(pk, row)], each row a
    dict of column -> value, it changes the rows in place."""
    listed = widgets["list"].template_args
    values = list(listed["value_columns"])  # FAB's is a generator
    rewrite(list(zip(listed["pks"], values, strict=True)))
    listed["value_columns"] = values
    return widgets


def answered_late_label(days: int) -> Markup:
    """Return the mark of an answer delivered `days` after its deadline ("" in time)."""
    if days <= 0:
        return Markup("")
    return Markup('<span class="label label-warning crm-answered-late" data-days-late="{}">'
                  '{}</span>').format(days, ngettext("Answered %(num)d day late",
                                                     "Answered %(num)d days late", days))


def _lateness(value: Lateness) -> Markup:
    """A request's lateness on its list: open past its deadline, or answered after it."""
    if value.overdue:
        return Markup('<span class="label label-danger crm-overdue">{}</span>').format(
            _l("Overdue"))
    return answered_late_label(value.days_late)


def _safeguard(value) -> Markup:
    if not value:
        return Markup("")
    safeguard = TransferSafeguard(value)
    if safeguard.valid:
        return Markup("{}").format(safeguard.label)
    # The EU–US Privacy Shield, invalid since July 2020: flagged wherever it is shown.
    return Markup('<span class="label label-danger" data-flag="invalid-safeguard">{}</span>'
                  ).format(safeguard.label)


def _stop_if_unread(form, field) -> None:
    """Check nothing more of a number that could not be read: its own error says why.

    Otherwise "abc" reads "Not a valid integer value. Number must be between 1 and ...".
    """
    if field.data is None and field.process_errors:
        raise StopValidation()


def _field_names(fields: list | None) -> str:
    """Return an audit event's fields by the names the forms give them ("Legal hold"),
    not their column names ("legal_hold"); a field no form names, as it is stored."""
    if not fields:
        return ""
    from crm.views.register import LABELS as REGISTER_LABELS  # it imports this module's kin

    labels = {**LABELS, **REGISTER_LABELS, **FIELDS,
              "change_reason": _l("Reason for the change"),
              "erasure_result": _l("Result of the erasure"),
              # A list's search box (crm.views.list_audit), by name only.
              list_audit.SEARCH_BOX: _l("Search box")}
    # An access export's event names the tables it read ("activity", "contact_purpose").
    return ", ".join(str(labels[name]) if name in labels else table_label(name) or name
                     for name in fields)


def _country(code: str | None) -> str:
    """A recipient's country by name, with the code the form takes ("Yhdysvallat (US)")."""
    name = country_name(code)
    return f"{name} ({code})" if code and name != code else (code or "")


class RecipientView(CrmModelView):
    resource = roles.RECIPIENT
    datamodel = SQLAInterface(Recipient)
    list_title = _l("Recipients and processors")
    show_title = _l("Recipient or processor")
    add_title = _l("Add recipient or processor")
    edit_title = _l("Edit recipient or processor")
    record_label = _l("Recipient or processor")
    record_name_columns = ("name",)
    label_columns = LABELS
    list_columns = ["name", "role", "country", "transfer_safeguard", "active"]
    show_columns = ["name", "role", "country", "purpose", "transfer_safeguard",
                    "safeguard_notes", "active"]
    add_columns = edit_columns = show_columns
    search_columns = ["name", "country", "transfer_safeguard", "active"]
    formatters_columns = {"transfer_safeguard": _safeguard, "country": _country}


class FilterAnsweredLate(fab_filters.BaseFilter):
    """Requests answered after their deadline (crm.services.requests.answered_late), on
    each row's own dates: no query per row. The filter's value is not read."""

    name = _l("Answered late")
    arg_name = "answered_late"

    def apply(self, query, value):
        return query.filter(answered_late(db.session))


class RequestFilterConverter(CrmFilterConverter):
    """The CRM's filters, and "answered late" on a request's lateness."""

    def convert(self, col_name):
        if col_name == "lateness":
            return [FilterAnsweredLate(col_name, self.datamodel)]
        return super().convert(col_name)


class RequestFilters(CrmFilters):
    """The list's filters, "answered late" taken from the address too: FAB takes only
    those of the model's columns, and a request's lateness is worked out, not stored."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if "lateness" in self._search_filters:
            self._all_filters["lateness"] = self._search_filters["lateness"]


class RequestInterface(CrmSQLAInterface):
    filter_converter_class = RequestFilterConverter
    filters_class = RequestFilters


class DataSubjectRequestView(CrmModelView):
    """Requests of data subjects; each step of handling one is on its page (crm.views.subjects).

    A closed request (completed or refused) is not edited, and an open one's day of
    receipt is not changed on its edit form: its deadline counts from that day and moves
    only by an extension, with its reason (crm.services.requests).
    """

    resource = roles.DATA_SUBJECT_REQUEST
    datamodel = RequestInterface(DataSubjectRequest)
    # The page shows the requester's details: every view is in the audit trail.
    audit_views = True
    list_people = list_audit.CONTACT_OR_ROW
    show_template = "privacy/request_show.html"
    list_title = _l("Data subject requests")
    show_title = _l("Data subject request")
    add_title = _l("Add data subject request")
    edit_title = _l("Edit data subject request")
    label_columns = LABELS
    list_columns = ["received_on", "type", "requester_name", "status", "deadline",
                    "delivered_at", "lateness"]
    show_columns = ["type", "requester_name", "requester_email", "requester_phone", "channel",
                    "received_on", "contact", "identity_verified_how", "identity_verified_by",
                    "identity_verified_at", "due_on", "extended_due_on", "extension_reason",
                    "extension_notified_on", "status", "outcome", "delivered_at",
                    "delivered_how"]
    add_columns = ["type", "requester_name", "requester_email", "requester_phone", "channel",
                   "received_on"]
    # Identity, the person, the deadline (its extension) and the status change only
    # through the steps on the request's page, which enforce their rules. The day of
    # receipt is shown above the form, not in it.
    edit_columns = ["requester_name", "requester_email", "requester_phone", "channel",
                    "outcome"]
    edit_details = ["type", "received_on", "due_on"]
    search_columns = ["type", "status", "received_on", "due_on", "delivered_at", "lateness"]
    # "Answered late" reads no value (`FilterAnsweredLate`): an empty hidden one.
    search_form_extra_fields = {"lateness": HiddenField(LABELS["lateness"])}
    base_order = ("due_on", "asc")
    dates_until_today = ("received_on",)
    # A request is mostly recorded the day it arrives: a new one's day of receipt starts
    # as today where the register is kept, to be changed to the day it came (never later).
    add_form_extra_fields = {"received_on": LocalDateField(
        LABELS["received_on"], [InputRequired()], render_kw={"max": today}, default=today)}
    validators_columns = {"requester_email": [v.email()], "requester_phone": [v.phone()],
                          "received_on": [checks.received_by_today]}
    # The answer's due date as the reader writes dates (5.2.2026, 2/5/26), like "Due".
    formatters_columns = {"deadline": _show_date, "lateness": _lateness}

    def pre_add(self, item):
        item.due_on = due_date(item.received_on)

    def _edit(self, pk):
        self._refuse_edit(pk)
        return super()._edit(pk)

    def _refuse_edit(self, pk) -> None:
        """Back to the request's page, saying why, if request `pk` may not be changed:
        it is closed, or the post sends a day of receipt (its form has none)."""
        item = self.datamodel.get(pk, self._base_filters)
        if item is None:
            return  # FAB's own "Not found"
        try:
            require_editable(item)
            if request.method == "POST" and "received_on" in request.form:
                raise RequestError(RECEIPT_FIXED)
        except RequestError as exc:
            flash(str(exc), "danger")
            # A URL of this view's own, built here: nothing from the request goes into it.
            abort(redirect(url_for(f"{self.__class__.__name__}.show", pk=item.id)))

    def _get_show_widget(self, pk, item, widgets=None, actions=None, show_fieldsets=None):
        widgets = super()._get_show_widget(pk, item, widgets=widgets, actions=actions,
                                           show_fieldsets=show_fieldsets)
        if item is not None and not is_open(item):  # no edit offered (`_refuse_edit`)
            widgets["show"].template_args.pop("edit_url", None)
        return widgets

    def _get_list_widget(self, filters, **kwargs):
        widgets = super()._get_list_widget(filters, **kwargs)
        links = widgets["list"].template_args.get("row_links")

        def no_edit_when_closed(rows):
            if links is not None:
                links.read_only = links.read_only | {
                    pk for pk, row in rows if "status" in row and row["status"] not in OPEN}

        return _rewrite_rows(widgets, no_edit_when_closed)

    def render_template(self, template, **kwargs):
        if template == self.show_template and "pk" in kwargs:
            from crm.views.subjects import request_page

            kwargs.update(request_page(kwargs["pk"]))
        return super().render_template(template, **kwargs)


class RetentionPolicyView(CrmModelView):
    """Retention policies as data (DESIGN §8): the privacy officer edits periods and actions."""

    resource = roles.RETENTION_POLICY
    datamodel = SQLAInterface(RetentionPolicy)
    list_title = _l("Retention policies")
    show_title = _l("Retention policy")
    add_title = _l("Add retention policy")
    edit_title = _l("Edit retention policy")
    record_name_columns = ("name",)
    label_columns = LABELS
    list_columns = ["name", "record_kind", "clock_start", "period_days", "action", "enabled"]
    show_columns = ["code", "name", "record_kind", "clock_start", "period_days", "action",
                    "enabled", "description"]
    add_columns = show_columns
    edit_columns = ["name", "period_days", "action", "enabled", "description"]
    description_columns = {
        "period_days": _l("How long after the clock starts the records are kept."),
        "enabled": _l("Only enabled policies are applied by the retention job."),
    }
    validators_columns = {"period_days": [_stop_if_unread, NumberRange(min=1, max=36600)],
                          "clock_start": [checks.clock_for_records]}


class JobRunView(CrmModelView):
    """History of the scheduled jobs: counts and errors, never personal data.

    Runs are started from the jobs screen (crm.views.jobs), not created here. A run's
    page shows its counts with readable labels, and apart the figures of how it ran.
    """

    resource = roles.JOB_RUN
    datamodel = SQLAInterface(JobRun)
    base_permissions = ["can_read"]
    show_template = "jobs/run_show.html"
    list_title = _l("Job runs")
    show_title = _l("Job run")
    label_columns = LABELS
    list_columns = ["job", "started_at", "finished_at", "status", "dry_run", "trigger"]
    # The counts are shown below these, as tables (jobs/run_show.html).
    show_columns = ["job", "started_at", "finished_at", "status", "dry_run", "trigger",
                    "error"]
    search_columns = ["job", "status", "started_at", "dry_run"]
    base_order = ("started_at", "desc")
    formatters_columns = {"job": job_title, "error": error_text}
    # The list shows each job by its title: the filter offers the titles too, rather than
    # a text box matching the job's internal name ("retention").
    search_form_extra_fields = {"job": SelectField(
        _l("Job"), choices=lambda: [(name, job_title(name)) for name in JOBS])}

    # "Started by" (the trigger) is filled in below, where the runs are known: who started
    # a run on a screen comes from its audit event (crm.views.jobs.started_by).
    def _get_list_widget(self, filters, **kwargs):
        def name_who_started(rows):
            shown = started_by([(pk, row["trigger"]) for pk, row in rows])
            for pk, row in rows:
                row["trigger"] = shown[pk]

        return _rewrite_rows(super()._get_list_widget(filters, **kwargs), name_who_started)

    def _get_show_widget(self, pk, item, widgets=None, actions=None, show_fieldsets=None):
        widgets = super()._get_show_widget(pk, item, widgets=widgets, actions=actions,
                                           show_fieldsets=show_fieldsets)
        if item is not None:
            show = widgets["show"].template_args
            show["value_columns"][self.show_columns.index("trigger")] = started_by(
                [(item.id, item.trigger)])[item.id]
        # A skipped run's text says why it was skipped (Mailchimp not configured, another
        # run holding the lock): a reason, not an error.
        if item is not None and item.status is JobStatus.skipped:
            show = widgets["show"].template_args
            show["label_columns"] = {**show["label_columns"], "error": _l("Reason")}
        return widgets

    def render_template(self, template, **kwargs):
        if template == self.show_template and "pk" in kwargs:
            run = db.session.get(JobRun, kwargs["pk"])
            if run is not None:
                kwargs["rows"], kwargs["technical"] = count_rows(run.job, run.counts)
                kwargs["job_run"] = run
        return super().render_template(template, **kwargs)


#: The list event's page's row of the people the list showed (`people_shown`).
PEOPLE_SHOWN = "people_shown"


class AuditEventView(CrmModelView):
    resource = roles.AUDIT_EVENT
    # Action and object type are filtered by the labels the list shows (crm.views.audit_filters).
    datamodel = AuditEventInterface(AuditEvent)
    # Read, and download what the list's filters select as CSV (crm.views.audit_export).
    base_permissions = [roles.READ, roles.EXPORT]
    method_permission_name = {**METHOD_PERMISSIONS, "export_csv": "export"}
    list_template = "privacy/audit_list.html"
    list_title = _l("Audit trail")
    show_title = _l("Audit event")
    label_columns = LABELS
    # The detail says why a sign-in failed, and a job's run its job and outcome.
    list_columns = ["at", "actor", "action", "object_type", "object_id", "fields", "detail"]
    show_columns = ["at", "actor", "action", "object_type", "object_id", "fields", "detail"]
    # Filter by who, what, which object (its id exactly) and a date range ("at" greater /
    # smaller than); a contact's page links to its events and its records' ("contact").
    search_columns = ["at", "actor", "action", "object_type", "object_id", CONTACT_FILTER]
    base_order = ("at", "desc")
    formatters_columns = {"fields": _field_names, "action": action_label,
                          "object_type": object_type_label, "detail": detail_text}
    search_form_extra_fields = {"action": label_select("action", LABELS["action"]),
                                "object_type": label_select("object_type",
                                                            LABELS["object_type"]),
                                CONTACT_FILTER: StringField(LABELS["contact"])}

    @expose("/export.csv")
    @has_access
    def export_csv(self):
        """Download the events the list's filters (in the address) select, as CSV."""
        get_filter_args(self._filters)
        return audit_trail_csv(self._filters.get_joined_filters(self._base_filters),
                               self.label_columns, _field_names)

    def render_template(self, template, **kwargs):
        if template == self.list_template and can(roles.EXPORT, self.resource):
            # The download takes the list's filters along, not its page or order.
            kept = [(key, value) for key, value in request.args.items(multi=True)
                    if key.startswith("_flt_")]
            kwargs["export_url"] = url_for(".export_csv") + (
                f"?{urlencode(kept)}" if kept else "")
            kwargs["export_max_rows"] = format_decimal(max_rows())
        return super().render_template(template, **kwargs)

    # Each object's id links to its record's page (`object_links`); a job's run is
    # shown as started by whom the jobs screen says (`job_runs`).
    def _get_list_widget(self, filters, **kwargs):
        def link_objects(rows):
            events = {pk: (action, object_type, object_id, detail)
                      for pk, action, object_type, object_id, detail in db.session.execute(
                          sa.select(AuditEvent.id, AuditEvent.action, AuditEvent.object_type,
                                    AuditEvent.object_id, AuditEvent.detail)
                          .where(AuditEvent.id.in_([pk for pk, _row in rows])))}
            self._link_objects([(row, *events[pk]) for pk, row in rows if pk in events])

        return _rewrite_rows(super()._get_list_widget(filters, **kwargs), link_objects)

    def _get_show_widget(self, pk, item, widgets=None, actions=None, show_fieldsets=None):
        widgets = super()._get_show_widget(pk, item, widgets=widgets, actions=actions,
                                           show_fieldsets=show_fieldsets)
        if item is not None:
            show = widgets["show"].template_args
            row = dict(zip(self.show_columns, show["value_columns"], strict=False))
            self._link_objects([(row, item.action, item.object_type, item.object_id,
                                 item.detail)])
            columns = list(self.show_columns)
            if item.action == "view_list":  # the people the list showed, linked
                row[PEOPLE_SHOWN] = people_shown(item.id)
                columns.append(PEOPLE_SHOWN)
                show["label_columns"] = {**show["label_columns"],
                                         PEOPLE_SHOWN: _l("People shown")}
            show["include_columns"] = columns
            show["value_columns"] = [row.get(column) for column in columns]
        return widgets

    @staticmethod
    def _link_objects(rows: list[tuple[dict, str, str | None, str | None, str | None]]
                      ) -> None:
        rows = [(row, action, *event_object(action, otype, oid, detail), detail)
                for row, action, otype, oid, detail in rows]
        links = object_links((otype, oid) for _row, _action, otype, oid, _detail in rows)
        runs = job_runs(oid for _row, action, otype, oid, _detail in rows
                        if action == "job" and otype == "JobRun")
        for row, action, otype, oid, detail in rows:
            if action == "job" and otype == "JobRun" and oid in runs:
                row["actor"] = runs[oid][1]
            if "detail" in row:  # a failed sign-in says why it failed
                row["detail"] = event_detail_text(action, detail)
            if action == "access_denied" and oid:
                row["object_type"], row["object_id"] = otype, oid
            link = links.get((otype, oid))
            if link:
                row["object_id"] = Markup('<a href="{}">{}</a>').format(link, oid)


class SourceView(CrmModelView):
    resource = roles.SOURCE
    datamodel = SQLAInterface(Source)
    base_permissions = ["can_read"]
    list_title = _l("Sources and purchased lists")
    show_title = _l("Source")
    label_columns = LABELS
    list_columns = ["name", "kind", "supplier", "received_on", "row_count"]
    show_columns = ["name", "kind", "supplier", "received_on", "file_hash", "row_count",
                    "created_at"]
    search_columns = ["name", "kind", "supplier", "received_on"]
    base_order = ("created_at", "desc")
    # A purchased list's page says where its Art. 14 notices stand and, for Marketing,
    # records them as sent (crm.views.art14).
    show_template = "crm/source_show.html"

    # A standing source named as it was made reads in the reader's language, as on the
    # contacts' pages (crm.models.provenance, `shown_source_name`).
    def _get_list_widget(self, filters, **kwargs):
        def shown_names(rows):
            for _pk, row in rows:
                row["name"] = shown_source_name(row["kind"], row["name"])

        return _rewrite_rows(super()._get_list_widget(filters, **kwargs), shown_names)

    def _get_show_widget(self, pk, item, widgets=None, actions=None, show_fieldsets=None):
        widgets = super()._get_show_widget(pk, item, widgets=widgets, actions=actions,
                                           show_fieldsets=show_fieldsets)
        if item is not None:
            shown = widgets["show"].template_args["value_columns"]
            shown[self.show_columns.index("name")] = shown_source_name(item.kind, item.name)
        return widgets

    def render_template(self, template, **kwargs):
        if template == self.show_template and "pk" in kwargs:
            source = db.session.get(Source, kwargs["pk"])
            if source is not None:
                kwargs.update(list_notices_context(source))
        return super().render_template(template, **kwargs)
