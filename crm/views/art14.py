"""Recording that the Art. 14 notice was sent: for a purchased list, or for one person.

Marketing, which imports the lists (`PurchasedListImport` edit), records on a list's
page the day the notices went out to all its people still owed one, and on a
contact's provenance tab the day one person was told. The privacy officer and the DPO
see the same counts and dates, without the form. The posts are checked on the server
and audited by `crm.services.art14`.
"""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_babel import format_date, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from markupsafe import Markup

from crm.extensions import db
from crm.forms import CrmForm
from crm.models import Provenance, Source, SourceKind
from crm.models.base import register_today
from crm.security import roles
from crm.services.art14 import (
    NoticeRefused,
    list_notices,
    mark_contact_notified,
    mark_list_notified,
    owed_among,
)
from crm.views.base import can
from crm.views.dates import LocalDateField, typed_date
from crm.views.errors import ExpiredFormOnScreen
from crm.views.imports import has_any_access


class NoticeSentForm(CrmForm):
    sent_on = LocalDateField(_l("Date sent"))


def may_record_notices() -> bool:
    """Return whether the signed-in user may record Art. 14 notices as sent."""
    return can(roles.EDIT, roles.PURCHASED_LIST_IMPORT)


def overdue_text(days: int) -> str:
    """Return "overdue by N days" in the reader's language."""
    return ngettext("overdue by %(num)d day", "overdue by %(num)d days", days)


def list_notices_context(source: Source) -> dict:
    """Return what a purchased list's page shows of its Art. 14 notices (nothing for
    another kind of source): counts, dates and, for Marketing while any is owed, the
    form recording them as sent."""
    if source.kind is not SourceKind.purchased_list:
        return {}
    today = register_today()
    notices = list_notices(db.session, source, today)
    form = (NoticeSentForm(formdata=None, sent_on=today)
            if notices.owed and may_record_notices() else None)
    return {"notices": notices, "notice_form": form, "today": today.isoformat(),
            "overdue": overdue_text(notices.overdue_days) if notices.overdue_days else ""}


def notice_sent_cell(value) -> str:
    """Show the day a notice was sent (kept as noon of that day), or a row's form."""
    if isinstance(value, Markup):
        return value
    return format_date(value, "short") if value else ""


def with_row_forms(widgets: dict) -> dict:
    """Give each row of a provenance list whose person is still owed the notice the form
    recording it as sent, in its "sent" cell, for whoever may record notices."""
    listed = widgets["list"].template_args
    if not may_record_notices() or "art14_notified_at" not in listed["include_columns"]:
        return widgets
    values = list(listed["value_columns"])  # FAB's is a generator
    owed = owed_among(db.session, list(listed["pks"]))
    for pk, row in zip(listed["pks"], values, strict=True):
        if pk in owed:
            row["art14_notified_at"] = row_form(pk, owed[pk])
    listed["value_columns"] = values
    return widgets


def row_form(provenance_id: int, received_on) -> Markup:
    """Return the small form of a provenance row on a contact's page: the day sent
    (today unless changed) and the button."""
    form = NoticeSentForm(formdata=None, sent_on=register_today())
    today = register_today().isoformat()
    earliest = received_on.isoformat() if received_on else ""
    return Markup(
        '<form method="post" action="{action}" class="form-inline crm-art14-row" '
        'data-provenance="{pk}">{csrf}'
        '<label class="sr-only" for="sent_on-{pk}">{label}</label>{field} '
        '<button type="submit" class="btn btn-default btn-xs">{button}</button></form>'
    ).format(action=url_for("Art14NoticeView.contact_sent", pk=provenance_id),
             pk=provenance_id, csrf=form.csrf_token, label=form.sent_on.label.text,
             field=form.sent_on(id=f"sent_on-{provenance_id}", class_="form-control input-sm",
                                max=today, min=earliest),
             button=_("Mark the Art. 14 notice as sent"))


class Art14NoticeView(ExpiredFormOnScreen, BaseView):
    route_base = "/art14"
    class_permission_name = roles.PURCHASED_LIST_IMPORT
    base_permissions = [roles.EDIT]

    def csrf_refused(self, error: CSRFError):
        flash(_("The form had expired. Nothing was recorded; please try again."), "danger")
        return redirect(self._back())

    @expose("/list/<int:pk>", methods=["POST"])
    @has_any_access(roles.EDIT)
    def list_sent(self, pk: int):
        return self._record(mark_list_notified, db.session.get(Source, pk) or abort(404),
                            lambda count, day: ngettext(
                                "The Art. 14 notice was recorded as sent on %(date)s to "
                                "%(num)d person.",
                                "The Art. 14 notice was recorded as sent on %(date)s to "
                                "%(num)d people.", count, date=day),
                            lambda: _("Nobody on the list is owed the notice any more: "
                                      "nothing was changed."))

    @expose("/contact/<int:pk>", methods=["POST"])
    @has_any_access(roles.EDIT)
    def contact_sent(self, pk: int):
        return self._record(mark_contact_notified,
                            db.session.get(Provenance, pk) or abort(404),
                            lambda count, day: _("The Art. 14 notice was recorded as sent "
                                                 "on %(date)s.", date=day),
                            lambda: _("The notice was recorded before, or is owed no more: "
                                      "nothing was changed."))

    def _record(self, mark, target, recorded, nothing):
        """Record `target`'s notices sent on the posted day (`mark`); say what was done."""
        form = NoticeSentForm()
        form.validate()
        try:
            count = mark(db.session, target, form.sent_on.data or None, register_today())
        except NoticeRefused as exc:
            flash(" ".join([*map(str, form.sent_on.errors)] or [str(exc)]), "danger")
            return redirect(self._back())
        if count:
            flash(recorded(count, typed_date(form.sent_on.data)), "success")
        else:
            flash(nothing(), "info")
        return redirect(self._back())

    def _back(self) -> str:
        """The page the form was on: a list's page, or the contact's provenance tab."""
        pk = (request.view_args or {}).get("pk")
        if request.endpoint and request.endpoint.endswith(".contact_sent"):
            provenance = db.session.get(Provenance, pk) if pk else None
            if provenance is not None:
                return url_for("ContactView.show", pk=provenance.contact_id) + \
                    "#ProvenanceView"
        return url_for("SourceView.show", pk=pk) if pk else url_for("SourceView.list")
