"""The purchased-list import screens (DESIGN §9.4): upload, map the columns, check, import.

Marketing uploads a list (`PurchasedListImport` can_add); the privacy officer and
the DPO read the history of imported lists (can_read). Between the steps the file
waits in a private temporary folder under a random name kept in the user's
server-side session, and is deleted when imported or cancelled (and by any upload
after `KEEP_SECONDS`): it is never stored in the database, nor logged.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import itertools
import secrets
import tempfile
import time
from datetime import date
from pathlib import Path

import sqlalchemy as sa
from flask import abort, current_app, flash, g, redirect, request, session, url_for
from flask_appbuilder import BaseView, expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from flask_wtf.file import FileField, FileRequired
from werkzeug.exceptions import RequestEntityTooLarge
from wtforms import StringField
from wtforms.validators import InputRequired, Length
from wtforms.validators import Optional as OptionalValidator

from crm.extensions import db
from crm.forms import CrmForm
from crm.models import AuditEvent, Source, SourceKind
from crm.models.base import register_today
from crm.security import roles
from crm.services.art14 import notices_due
from crm.services.audit_details import IMPORT_COUNTS
from crm.services.imports import (
    FIELDS,
    ImportRefused,
    import_list,
    imported_already,
    missing_columns,
    read_layout,
)
from crm.services.imports.parsing import FIELD_LABELS, ParsedList
from crm.services.validation import NoSensitiveData
from crm.views.dates import LocalDateField
from crm.views.errors import ExpiredFormOnScreen
from crm.views.users import user_texts

#: An upload not imported or cancelled is deleted after this long.
KEEP_SECONDS = 2 * 3600
#: Bad lines shown on the check page; the count says how many there are.
SHOWN_ERRORS = 100
_SESSION_KEY = "crm_import"
#: Values of each column shown on the mapping page, and how much of each.
SAMPLE_VALUES = 3
SAMPLE_LENGTH = 40
#: The history's columns of lines not imported, apart, named as the result page names them.
SKIPPED = ("duplicate", "suppressed", "opted_out", "invalid")
#: Python's codec names as Excel's Save As dialog and the upload help name them.
ENCODING_NAMES = {"utf-8": "UTF-8", "cp1252": "Windows-1252"}


def upload_folder() -> Path:
    """Return the private folder where uploads wait between the steps (CRM_IMPORT_FOLDER)."""
    configured = current_app.config.get("CRM_IMPORT_FOLDER")
    folder = Path(configured) if configured else Path(tempfile.gettempdir()) / "crm-imports"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder


def _path(token: str) -> Path:
    # The file's name is a hash of the token: a folder listing gives no session's token.
    return upload_folder() / hashlib.sha256(token.encode()).hexdigest()


def _delete_stale() -> None:
    limit = time.time() - KEEP_SECONDS
    for path in upload_folder().iterdir():
        try:
            if path.stat().st_mtime < limit:
                path.unlink()
        except FileNotFoundError:
            pass


def delimiter_name(delimiter: str) -> str:
    """Name the file's separator in words, as the mapping page says it."""
    names = {";": _l("semicolons"), ",": _l("commas"), "\t": _l("tabs")}
    return str(names.get(delimiter, f"“{delimiter}”"))


def column_samples(parsed: ParsedList, count: int = SAMPLE_VALUES) -> list[list[str]]:
    """Return the first `count` values of each column (blank lines skipped), by column.

    Only for the uploader's own mapping page: the values are never logged nor stored.
    """
    samples: list[list[str]] = [[] for _header in parsed.headers]
    lines = csv.reader(io.StringIO(parsed.text, newline=""), delimiter=parsed.delimiter)
    try:
        next(lines, None)  # the header
        for line in itertools.islice((x for x in lines if any(v.strip() for v in x)), count):
            for index, values in enumerate(samples):
                value = line[index].strip() if index < len(line) else ""
                if len(value) > SAMPLE_LENGTH:
                    value = value[:SAMPLE_LENGTH - 1] + "…"
                values.append(value)
    except csv.Error:
        pass  # a line that is not CSV: the check reports it; show what was read
    return samples


def line_numbers(lines: list[int], count: int) -> str:
    """Name the file's lines of an outcome: "rivit 4, 17, 23" of the first `lines`, and
    "ja 12 muuta" when there are `count` lines in all. Numbers only, never values."""
    text = ngettext("line %(lines)s", "lines %(lines)s", count,
                    lines=", ".join(str(n) for n in lines))
    more = count - len(lines)
    if more > 0:
        text = ngettext("%(lines)s and %(num)d more", "%(lines)s and %(num)d more", more,
                        lines=text)
    return text


def _notices_due(upload: dict) -> dict:
    """Return when the list's Art. 14 notices are due, a month after it was received
    (today when no date was given, as the import takes it), and how many days late they
    are already."""
    today = register_today()
    received = date.fromisoformat(upload["received_on"]) if upload["received_on"] else today
    due_on, late_days = notices_due(received, today)
    return {"notices_due_on": due_on, "notices_late_days": late_days,
            "notices_received_on": received}


class UploadForm(CrmForm):
    file = FileField(_l("CSV file"), validators=[FileRequired()])
    name = StringField(_l("List name"), validators=[InputRequired(), Length(max=200),
                                                    NoSensitiveData()])
    supplier = StringField(_l("Supplier"), validators=[OptionalValidator(), Length(max=200),
                                                       NoSensitiveData.for_column(
                                                           Source.__table__.c.supplier)])
    received_on = LocalDateField(_l("Received"), validators=[OptionalValidator()])


class StepForm(CrmForm):
    """No fields of its own: the CSRF token; the step's values are read from the post."""


def has_any_access(*actions: str):
    """Like FAB's `has_access`, allowing the signed-in user holding any of `actions`."""

    def decorate(f):
        @functools.wraps(f)
        def wrapped(self, *args, **kwargs):
            if any(self.appbuilder.sm.has_access(a, self.class_permission_name)
                   for a in actions):
                return f(self, *args, **kwargs)
            if current_user.is_authenticated:
                abort(403)
            return redirect(url_for(self.appbuilder.sm.auth_view.__class__.__name__ + ".login",
                                    next=request.url))

        return wrapped

    return decorate


class PurchasedListImportView(ExpiredFormOnScreen, BaseView):
    route_base = "/imports"
    default_view = "index"
    class_permission_name = roles.PURCHASED_LIST_IMPORT
    base_permissions = [roles.READ, roles.ADD]

    def csrf_refused(self, error: CSRFError):
        """A step posted with a stale or missing CSRF token (say, the session ended while
        the page was open): the app-wide check refuses it before the step runs, so the
        step's own message is given here, on its page, not a bare "Bad Request"."""
        step = (request.endpoint or "").rpartition(".")[2]
        if step == "run":
            flash(_("The form had expired. Nothing was imported; please try again."),
                  "danger")
        else:
            flash(_("The form had expired. Please try again."), "danger")
        waiting = step in ("check", "run") and session.get(_SESSION_KEY)
        return redirect(url_for(f"{self.__class__.__name__}."
                                f"{'mapping' if waiting else 'index'}"))

    def create_blueprint(self, appbuilder, endpoint=None, static_folder=None):
        blueprint = super().create_blueprint(appbuilder, endpoint=endpoint,
                                             static_folder=static_folder)
        blueprint.register_error_handler(RequestEntityTooLarge, self.too_large)
        return blueprint

    def too_large(self, error: RequestEntityTooLarge):
        """An upload past the limit (crm.security.request_size), refused unread: said on
        the upload screen, as a file just over the limit is."""
        flash(_("The file is larger than %(mb)d MB.",
                mb=current_app.config["CRM_IMPORT_MAX_MB"]), "danger")
        return redirect(url_for(f"{self.__class__.__name__}.index"), 303)

    # -- the history, and the upload --------------------------------------------------

    @expose("/")
    @has_any_access(roles.READ, roles.ADD)
    def index(self):
        may_import = self.appbuilder.sm.has_access(roles.ADD, roles.PURCHASED_LIST_IMPORT)
        return self._index(UploadForm() if may_import else None)

    def _index(self, form: UploadForm | None):
        """Render the history and, for who may import, the upload `form` (with its errors)."""
        lists = db.session.scalars(
            sa.select(Source).where(Source.kind == SourceKind.purchased_list)
            .order_by(Source.created_at.desc(), Source.id.desc()).limit(100)).all()
        # Who imported each list, named as the users screen names them (by the username
        # the event recorded when the account is gone; "command" for `crm import`).
        events = db.session.execute(
            sa.select(AuditEvent.object_id, AuditEvent.actor_id, AuditEvent.actor)
            .where(AuditEvent.action == "import", AuditEvent.object_type == "Source",
                   AuditEvent.object_id.in_([str(s.id) for s in lists]))).all()
        users = user_texts(actor_id for _id, actor_id, _actor in events)
        importers = {object_id: users.get(actor_id) or actor
                     for object_id, actor_id, actor in events}
        return self.render_template("imports/index.html", lists=lists, importers=importers,
                                    skipped=[(key, IMPORT_COUNTS[key]) for key in SKIPPED],
                                    form=form, today=register_today().isoformat(),
                                    max_mb=current_app.config["CRM_IMPORT_MAX_MB"])

    @expose("/upload", methods=["POST"])
    @has_any_access(roles.ADD)
    def upload(self):
        form = UploadForm()
        too_big = (request.content_length or 0) > \
            current_app.config["CRM_IMPORT_MAX_MB"] * 1024 * 1024
        valid = not too_big and form.validate_on_submit()
        if valid and form.received_on.data and form.received_on.data > register_today():
            # Refused here, where the date can still be changed, not at the check.
            form.received_on.errors = [
                _("The date the list was received cannot be in the future.")]
            valid = False
        if not valid:
            if too_big:
                flash(_("The file is larger than %(mb)d MB.",
                        mb=current_app.config["CRM_IMPORT_MAX_MB"]), "danger")
            # The form comes back with what was typed (the file must be chosen again)
            # and each error beside its field; errors of no field (CSRF) are flashed.
            for field, messages in form.errors.items():
                if field not in ("file", "name", "supplier", "received_on"):
                    flash(f"{field}: {' '.join(str(m) for m in messages)}", "danger")
            return self._index(form)
        data = form.file.data.read()
        already = imported_already(db.session, data)
        if already is not None:
            # Said at once, beside the file, not after mapping and checking it.
            form.file.errors = [already]
            return self._index(form)
        _delete_stale()
        self._forget()
        token = secrets.token_urlsafe(32)
        path = _path(token)
        path.touch(mode=0o600)  # never readable by others, not even while written
        path.write_bytes(data)
        session[_SESSION_KEY] = {
            "token": token, "name": form.name.data.strip(),
            "supplier": (form.supplier.data or "").strip(),
            "received_on": form.received_on.data.isoformat() if form.received_on.data else "",
            "mapping": {}}
        return redirect(url_for(".mapping"))

    # -- mapping the columns, checking, importing -----------------------------------------

    @expose("/mapping")
    @has_any_access(roles.ADD)
    def mapping(self):
        upload, data = self._upload()
        try:
            parsed = read_layout(data, upload["mapping"] or None)
        except ImportRefused as exc:  # empty, wrong encoding: nothing to map
            self._forget()
            flash(str(exc), "danger")
            # Back to the upload with the list's details as typed: only the file is new.
            received = upload["received_on"]
            return self._index(UploadForm(
                name=upload["name"], supplier=upload["supplier"],
                received_on=date.fromisoformat(received) if received else None))
        problem = missing_columns(parsed)
        chosen = {f: parsed.headers[i] for f, i in parsed.columns.items()}
        return self.render_template(
            "imports/mapping.html", upload=upload, parsed=parsed, chosen=chosen,
            encoding_name=ENCODING_NAMES.get(parsed.encoding, parsed.encoding),
            fields=[(f, FIELD_LABELS[f]) for f in FIELDS], problem=problem,
            delimiter_name=delimiter_name(parsed.delimiter),
            samples=column_samples(parsed),
            csrf=StepForm().csrf_token.current_token)

    @expose("/check", methods=["POST"])
    @has_any_access(roles.ADD)
    def check(self):
        upload, data = self._upload()
        if not StepForm().validate_on_submit():
            flash(_("The form had expired. Please try again."), "danger")
            return redirect(url_for(".mapping"))
        upload["mapping"] = {f: request.form.get(f"map_{f}", "") for f in FIELDS}
        session[_SESSION_KEY] = upload
        try:
            if missing_columns(read_layout(data, upload["mapping"])):
                # The mapping page says what is missing, once, beside the mapping.
                return redirect(url_for(".mapping"))
        except ImportRefused:
            pass  # the import below says why
        result = self._import(upload, data, dry_run=True, valid_only=True)
        if result is None:
            return redirect(url_for(".mapping"))
        return self.render_template(
            "imports/check.html", upload=upload, result=result,
            errors=result.errors[:SHOWN_ERRORS], field_labels=FIELD_LABELS,
            line_numbers=line_numbers, csrf=StepForm().csrf_token.current_token,
            **_notices_due(upload))

    @expose("/run", methods=["POST"])
    @has_any_access(roles.ADD)
    def run(self):
        upload, data = self._upload()
        if not StepForm().validate_on_submit():
            flash(_("The form had expired. Nothing was imported; please try again."),
                  "danger")
            return redirect(url_for(".mapping"))
        valid_only = request.form.get("valid_only") == "1"
        result = self._import(upload, data, dry_run=False, valid_only=valid_only)
        if result is None:
            return redirect(url_for(".mapping"))
        if result.stored:
            self._forget()
        return self.render_template("imports/result.html", upload=upload, result=result,
                                    errors=result.errors[:SHOWN_ERRORS],
                                    field_labels=FIELD_LABELS, line_numbers=line_numbers,
                                    **_notices_due(upload))

    @expose("/cancel", methods=["POST"])
    @has_any_access(roles.ADD)
    def cancel(self):
        if StepForm().validate_on_submit():
            self._forget()
            flash(_("The upload was cancelled and the file deleted."), "info")
        return redirect(url_for(".index"))

    # -- helpers ------------------------------------------------------------------------

    def _upload(self) -> tuple[dict, bytes]:
        upload = session.get(_SESSION_KEY)
        path = _path(upload["token"]) if upload else None
        if path is None or not path.exists():
            session.pop(_SESSION_KEY, None)
            flash(_("No uploaded list is waiting: upload it again."), "warning")
            abort(redirect(url_for(".index")))
        return upload, path.read_bytes()

    def _forget(self) -> None:
        upload = session.pop(_SESSION_KEY, None)
        if upload:
            _path(upload["token"]).unlink(missing_ok=True)

    def _import(self, upload: dict, data: bytes, *, dry_run: bool, valid_only: bool):
        received = date.fromisoformat(upload["received_on"]) if upload["received_on"] else None
        try:
            return import_list(db.session, data, name=upload["name"],
                               supplier=upload["supplier"] or None, received_on=received,
                               mapping={f: h for f, h in upload["mapping"].items()},
                               dry_run=dry_run, valid_only=valid_only,
                               actor=(g.user.id, g.user.username))
        except ImportRefused as exc:
            flash(str(exc), "danger")
            return None
