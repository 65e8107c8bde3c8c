"""The privacy officer's desk for data subject requests (DESIGN §9.1–9.3), a contact's
change history, and the Art. 30 record of processing.

Every step of a request is a POST form on the request's page, guarded by CSRF and by
the request resource's permissions (crm.security.roles): read to look, edit to act
(finding the person for a request is a step of handling it: edit too), export to
download the access export. The rules themselves are in
crm.services.requests and its neighbours; the views only translate their answers.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import Response, abort, current_app, flash, g, redirect, request, session, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.datastructures import MultiDict

from crm.extensions import db
from crm.models import (
    CallbackRequest,
    DataSubjectRequest,
    DeliveryMethod,
    RequestType,
)
from crm.privacy.anonymise import StaleContact
from crm.privacy.export import (
    audit_export,
    build_access_export,
    export_file_name,
    export_json,
    render_access_export_html,
)
from crm.privacy.notice import build_notice
from crm.privacy.processors import processor_title
from crm.privacy.record import render_record_of_processing
from crm.security import roles
from crm.services import requests as workflow
from crm.services.audit import record_event
from crm.services.audit_details import reason_text
from crm.services.erasure import erase_subject, outcome_text
from crm.services.objection import object_to_marketing
from crm.services.rectification import RectificationError, rectify
from crm.services.subjects import find_subject, same_callbacks, same_person
from crm.views import list_audit
from crm.views.base import CrmModelView, can
from crm.views.change_values import ContactChangeInterface
from crm.views.jobs import error_text
from crm.views.privacy import answered_late_label
from crm.views.subject_forms import (
    FIELD_LABELS,
    ConfirmForm,
    DeliverForm,
    ExportForm,
    ExtendForm,
    FindForm,
    LinkCallbackForm,
    LinkForm,
    RectifyForm,
    RejectForm,
    VerifyForm,
)


def _actor() -> tuple[int, str]:
    return g.user.id, g.user.username


#: How find_subject says it matched a person: shown in words (its identifiers by system).
MATCH_REASONS = {"email": _l("Email"), "phone": _l("Phone"), "name": _l("Name")}


def match_reason(reason: str) -> str:
    """Return a match's reason ("email", "identifier:Portal") in the reader's language."""
    kind, _sep, system = reason.partition(":")
    if kind == "identifier" and system:
        return f"{_('Identifier')}: {system}"
    return str(MATCH_REASONS.get(reason, reason))


def _errors(form: FlaskForm) -> str:
    return " ".join(f"{form[name].label.text}: {' '.join(map(str, messages))}"
                    for name, messages in form.errors.items())


#: Where a step's form the page refused waits for the page, to be shown filled in again
#: (`keep_refused`): the session, for the one page view after the refusal.
REFUSED_STEP = "crm_refused_step"
#: Fields never filled in again: a confirmation is given anew, the contact's version
#: is the current one.
_NOT_KEPT = {"csrf_token", "confirm", "version"}


def keep_refused(pk: int, step: str) -> None:
    """Keep what was typed into the step `step` of request `pk`, which was refused."""
    session[REFUSED_STEP] = {"pk": pk, "step": step, "data": {
        name: request.form.getlist(name) for name in request.form if name not in _NOT_KEPT}}


def _refused_step(pk: int) -> tuple[str | None, MultiDict | None]:
    """Return the step of request `pk` refused just before and what was typed into it."""
    kept = session.pop(REFUSED_STEP, None)
    if not kept or kept.get("pk") != pk:
        return None, None
    return kept.get("step"), MultiDict([(name, value) for name, values
                                        in kept.get("data", {}).items() for value in values])


def processor_failures(erasure_result: dict | None) -> list[tuple[str, str]]:
    """Return (processor's name, why it failed in the reader's language) of an erasure's
    failed processors."""
    processors = (erasure_result or {}).get("processors")
    if not isinstance(processors, list):
        return []
    return [(processor_title(p["processor"]), error_text(p["detail"]))
            for p in processors if not p["ok"]]


def request_page(pk) -> dict:
    """Return what the request's page shows beside its fields: its state and its forms,
    the one refused just before filled in as it was sent."""
    item = db.session.get(DataSubjectRequest, int(pk))
    if item is None:
        return {}
    contact = item.contact
    # Someone not in the register: the callback request the request is linked to.
    callback = item.callback_request if contact is None else None
    callback_erased = callback is not None and workflow.is_emptied(callback)
    version = str(contact.version) if contact is not None else ""
    refused, typed = _refused_step(item.id)
    done = workflow.steps_done(db.session, item)

    def form(step: str, form_class, **kwargs):
        return form_class(formdata=typed if step == refused else None, **kwargs)

    return {
        "dsr": item,
        "dsr_open": workflow.is_open(item),
        "dsr_verified": workflow.is_verified(item),
        "dsr_deadline": workflow.deadline(item),
        "dsr_overdue": workflow.is_overdue(item),
        # "Answered 10 days late", as its list says; nothing when in time.
        "dsr_answered_late": answered_late_label(workflow.days_late(item)),
        "dsr_latest": workflow.latest_extension(item.received_on),
        "dsr_contact": contact,
        "dsr_callback": callback,
        "dsr_callback_erased": callback_erased,
        # Which steps are taken, and the one to take next: it is marked on the page.
        "dsr_done": done,
        "dsr_next": workflow.next_step(item, done),
        "may_edit": can(roles.EDIT, roles.DATA_SUBJECT_REQUEST),
        "may_export": can(roles.EXPORT, roles.DATA_SUBJECT_REQUEST),
        "may_read_contact": can(roles.READ, roles.CONTACT),
        "may_read_callback": can(roles.READ, roles.CALLBACK_REQUEST),
        "forms": {
            "verify": form("verify", VerifyForm),
            "extend": form("extend", ExtendForm),
            "rectify": form("rectify", RectifyForm, version=version),
            "erase": ConfirmForm(formdata=None),
            "objection": ConfirmForm(formdata=None),
            "export": form("export", ExportForm),
            "deliver": form("deliver", DeliverForm),
            "reject": form("reject", RejectForm),
        },
        "refused_step": refused,
        # The erasure's outcome in the reader's language; why a processor failed in
        # words, as the jobs screen says it (the request keeps the technical detail).
        "erasure_outcome": outcome_text(item.erasure_result) if item.erasure_result else "",
        "erasure_failures": processor_failures(item.erasure_result),
        "types": RequestType,
        # An erasure takes every contact with one of the person's addresses: shown first.
        "to_erase": same_person(db.session, contact)
        if item.type is RequestType.erasure and contact is not None
        and contact.anonymised_at is None else [],
        "to_erase_callbacks": same_callbacks(db.session, callback)
        if item.type is RequestType.erasure and callback is not None
        and not callback_erased else [],
    }


class RequestDeskView(BaseView):
    """Open requests by deadline, and each step of a request (POST, from its page)."""

    route_base = "/requests"
    default_view = "open_requests"
    class_permission_name = roles.DATA_SUBJECT_REQUEST
    base_permissions = [roles.READ, roles.EDIT, roles.EXPORT]
    method_permission_name = {
        "open_requests": "read", "find": "edit", "verify": "edit", "extend": "edit",
        "link": "edit", "link_callback": "edit", "rectify": "edit", "erase": "edit",
        "objection": "edit", "deliver": "edit", "reject": "edit", "export": "export",
    }

    # -- pages -------------------------------------------------------------------

    @expose("/")
    @has_access
    def open_requests(self):
        deadline = sa.func.coalesce(DataSubjectRequest.extended_due_on,
                                    DataSubjectRequest.due_on)
        rows = db.session.scalars(
            sa.select(DataSubjectRequest)
            .where(DataSubjectRequest.status.in_(workflow.OPEN))
            .order_by(deadline, DataSubjectRequest.id)).all()
        today = workflow.today()
        return self.render_template(
            "privacy/open_requests.html", today=today,
            rows=[(r, workflow.deadline(r), (workflow.deadline(r) - today).days) for r in rows])

    @expose("/<int:pk>/find", methods=["GET", "POST"])
    @has_access
    def find(self, pk: int):
        item = self._request(pk)
        if not workflow.is_open(item):
            # Nobody is looked for on a closed request: the person can no longer be
            # linked (crm.services.requests), and an erased one is not to be found again.
            flash(_("The request is closed."), "danger")
            return redirect(self._page(pk))
        form = FindForm()
        if request.method == "POST":
            if not form.validate():
                flash(_errors(form), "danger")
                texts = []
            else:
                texts = [form.q.data]
        else:
            # The requester's own details; typed terms come by POST, never in the URL.
            texts = [t for t in (item.requester_email, item.requester_phone,
                                 item.requester_name) if t]
        matches: dict[tuple[str, int], object] = {}
        for text in texts:
            for match in find_subject(db.session, text):
                known = matches.setdefault(match.key, match)
                if known is not match:
                    known.reasons.extend(r for r in match.reasons if r not in known.reasons)
        found = sorted(matches.values(), key=lambda m: (-len(m.reasons), m.display, m.key))
        record_event("find", item, detail=f"matches {len(found)}", commit=True)
        return self.render_template(
            "privacy/find.html", dsr=item, form=form, matches=found, reason_label=match_reason,
            searched=bool(texts), may_edit=can(roles.EDIT, roles.DATA_SUBJECT_REQUEST),
            may_read_contact=can(roles.READ, roles.CONTACT),
            may_read_callback=can(roles.READ, roles.CALLBACK_REQUEST))

    # -- steps -------------------------------------------------------------------

    @expose("/<int:pk>/verify", methods=["POST"])
    @has_access
    def verify(self, pk: int):
        return self._step(pk, VerifyForm(), lambda item, form: workflow.verify_identity(
            db.session, item, how=form.how.data, by=_actor()), _("Identity verified."))

    @expose("/<int:pk>/extend", methods=["POST"])
    @has_access
    def extend(self, pk: int):
        return self._step(pk, ExtendForm(), lambda item, form: workflow.extend_deadline(
            db.session, item, new_due_on=form.new_due_on.data, reason=form.reason.data,
            notified_on=form.notified_on.data, actor=_actor()), _("Deadline extended."))

    @expose("/<int:pk>/link", methods=["POST"])
    @has_access
    def link(self, pk: int):
        return self._step(pk, LinkForm(), lambda item, form: workflow.link_contact(
            db.session, item, form.contact_id.data, actor=_actor()),
            _("The request is now linked to the person."))

    @expose("/<int:pk>/link-callback", methods=["POST"])
    @has_access
    def link_callback(self, pk: int):
        return self._step(pk, LinkCallbackForm(), lambda item, form: workflow.link_callback(
            db.session, item, form.callback_id.data, actor=_actor()),
            _("The request is now linked to the person."))

    @expose("/<int:pk>/rectify", methods=["POST"])
    @has_access
    def rectify(self, pk: int):
        def run(item, form):
            version = int(form.version.data) if (form.version.data or "").isdigit() else None
            change = rectify(db.session, item, field=form.field.data, value=form.value.data,
                             reason=form.reason.data, actor=_actor(),
                             expected_version=version)
            if change is None:
                raise RectificationError(_("The field already has that value."))
        return self._step(pk, RectifyForm(), run, _("Corrected; the change is in the "
                                                    "contact's history."))

    @expose("/<int:pk>/erase", methods=["POST"])
    @has_access
    def erase(self, pk: int):
        def run(item, form):
            erase_subject(current_app._get_current_object(), db.session, item.id,
                          actor=_actor())
        return self._step(pk, ConfirmForm(), run, _("The person's data was erased. Send "
                                                    "the confirmation where you noted, and "
                                                    "mark the answer delivered."))

    @expose("/<int:pk>/objection", methods=["POST"])
    @has_access
    def objection(self, pk: int):
        contact = self._request(pk).contact
        if contact is not None and contact.objected_at is not None:
            # A second post (the page open twice, a reload) changes nothing and writes no
            # event: the trail never records a change that did not happen.
            flash(_("The objection was recorded already on %(day)s: nothing was changed.",
                    day=format_date(contact.objected_at, "short")), "info")
            return redirect(self._page(pk))

        def run(item, form):
            contact = workflow.require_ready(item, RequestType.objection)
            object_to_marketing(db.session, contact.id, actor=_actor(), request_id=item.id)
            item.outcome = item.outcome or _(
                "Objection recorded: no direct marketing; consents to it withdrawn; "
                "addresses on the suppression list.")
        return self._step(pk, ConfirmForm(), run, _("The objection is recorded."))

    @expose("/<int:pk>/deliver", methods=["POST"])
    @has_access
    def deliver(self, pk: int):
        return self._step(pk, DeliverForm(), lambda item, form: workflow.mark_delivered(
            db.session, item, how=DeliveryMethod(form.how.data), outcome=form.outcome.data,
            actor=_actor()), _("The request is completed."))

    @expose("/<int:pk>/reject", methods=["POST"])
    @has_access
    def reject(self, pk: int):
        return self._step(pk, RejectForm(), lambda item, form: workflow.reject_request(
            db.session, item, reason=form.reason.data, how=DeliveryMethod(form.how.data),
            actor=_actor()), _("The request is refused."))

    @expose("/<int:pk>/export", methods=["POST"])
    @has_access
    def export(self, pk: int):
        item = self._request(pk)
        form = ExportForm()
        try:
            if not form.validate():
                raise workflow.RequestError(_errors(form))
            person = workflow.require_person(item)
        except workflow.RequestError as exc:
            flash(str(exc), "danger")
            return redirect(self._page(pk))
        fmt = form.format.data
        lang = fmt.removeprefix("html-") if fmt != "json" else "en"
        if isinstance(person, CallbackRequest):  # someone not in the register
            data = build_access_export(db.session, [], lang=lang,
                                       callback_requests=same_callbacks(db.session, person))
        else:
            data = build_access_export(db.session, [p.id for p in same_person(db.session,
                                                                              person)],
                                       lang=lang)
        audit_export(db.session, data, fmt=fmt, actor=_actor(), request_id=item.id)
        db.session.commit()
        if fmt == "json":
            body, mimetype = export_json(data), "application/json"
        else:
            body, mimetype = render_access_export_html(data, lang), "text/html"
        # The name is ASCII (crm.privacy.export_text), so a plain quoted filename suffices.
        return Response(body, mimetype=mimetype, headers={
            "Content-Disposition":
                f'attachment; filename="{export_file_name(data, fmt, item.id)}"'})

    # -- helpers -----------------------------------------------------------------

    def _request(self, pk: int) -> DataSubjectRequest:
        item = db.session.get(DataSubjectRequest, pk)
        if item is None:
            abort(404)
        return item

    @staticmethod
    def _page(pk: int) -> str:
        return url_for("DataSubjectRequestView.show", pk=pk)

    def _step(self, pk: int, form: FlaskForm, run, done: str):
        """Validate `form`, run the step, commit; flash what happened; back to the page.

        A step refused comes back filled in as it was sent (`keep_refused`), below
        the message saying why.
        """
        item = self._request(pk)
        step = request.endpoint.rsplit(".", 1)[-1]
        if not form.validate():
            flash(_errors(form), "danger")
            keep_refused(pk, step)
            return redirect(self._page(pk))
        try:
            run(item, form)
            db.session.commit()
        except (workflow.RequestError, RectificationError, LookupError) as exc:
            db.session.rollback()
            flash(str(exc), "danger")
            keep_refused(pk, step)
        except (StaleDataError, StaleContact):
            db.session.rollback()
            flash(_("Someone else changed this record meanwhile. Nothing was changed: "
                    "look at it again."), "danger")
        else:
            flash(done, "success")
        return redirect(self._page(pk))


class RecordOfProcessingView(BaseView):
    """The Art. 30 record of processing, generated from the registers, as a download."""

    route_base = "/record-of-processing"
    default_view = "index"
    class_permission_name = roles.RECORD_OF_PROCESSING
    base_permissions = [roles.READ]
    method_permission_name = {"index": "read", "download": "read"}

    @expose("/")
    @has_access
    def index(self):
        notice = build_notice(db.session, current_app.config)
        return self.render_template("privacy/record_index.html", notice=notice)

    @expose("/download")
    @has_access
    def download(self):
        lang = request.args.get("lang", "fi")
        if lang not in ("fi", "en"):
            abort(404)
        body = render_record_of_processing(db.session, current_app.config, lang)
        record_event("export", object_type="RecordOfProcessing", detail=lang)
        return Response(body, mimetype="text/html", headers={
            "Content-Disposition":
                f'attachment; filename="record-of-processing-{lang}.html"'})


def _field_label(value) -> str:
    return str(FIELD_LABELS.get(value, value))


def _request_label(value) -> str:
    return f"#{value.id} {value.type.label}" if value is not None else ""


class ContactChangeView(CrmModelView):
    """A contact's change history: what changed, when, by whom and why (DESIGN §9.2)."""

    resource = roles.CONTACT_CHANGE
    datamodel = ContactChangeInterface()  # values in the reader's words
    base_permissions = ["can_read"]
    audit_views = True
    list_people = list_audit.CONTACT
    list_title = _l("Change history")
    show_title = _l("Contact change")  # one change of the history
    label_columns = {
        "contact": _l("Contact"), "changed_at": _l("Changed"), "changed_by": _l("Changed by"),
        "field": _l("Field"), "old_value": _l("Old value"), "new_value": _l("New value"),
        "reason": _l("Reason"), "request": _l("Request"),
    }
    list_columns = ["changed_at", "field", "old_value", "new_value", "changed_by", "reason",
                    "request"]
    show_columns = ["contact", "changed_at", "field", "old_value", "new_value", "changed_by",
                    "reason", "request"]
    search_columns = ["field", "changed_at", "changed_by"]
    base_order = ("changed_at", "desc")
    formatters_columns = {"field": _field_label, "request": _request_label,
                          "reason": reason_text}
