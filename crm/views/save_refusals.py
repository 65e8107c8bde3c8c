"""A save the database refuses, said plainly: no SQL on the screen, no values in the log.

FAB's data interface logged a refused save with its traceback ("Add item database
error ... DETAIL: Key (system, identifier)=(Portal, someone@example) already exists.")
and its add form flashed the driver's message, SQL and all. Here:

* a value another record already has is refused by the form, beside its field, before
  anything is saved (`unique_validators`): every unique column and unique constraint
  of the model, so a new one is checked too;
* whatever the database still refuses (two people saving the same value at once, a
  row another one still refers to) is rolled back by the CRM's data interface
  (`CrmSQLAInterface`), logged by the error's kind and the constraint's name only
  (`refusal`), and told to the user in plain words; an add or edit form comes back
  with what was typed (`RefusedSaves`).
"""

from __future__ import annotations

import logging
import re

import sqlalchemy as sa
from flask import g, has_app_context, request, session
from flask_appbuilder.exceptions import DatabaseException
from flask_appbuilder.urltools import get_order_args, get_page_args, get_page_size_args
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from wtforms.validators import ValidationError

from crm.extensions import db

log = logging.getLogger(__name__)

CONFLICT = _l("Not saved: the data conflicts with another record. Check the values and "
              "try again.")
IN_USE = _l("Not deleted: other records still refer to this record.")
FAILED = _l("Not saved because of a database error. Try again; if it happens again, tell "
            "the CRM's administrator.")
#: SQLite's messages that name a constraint's columns and nothing else.
_SQLITE_SAFE = re.compile(r"(UNIQUE|NOT NULL|CHECK|FOREIGN KEY) constraint failed"
                          r"(: [\w.]+(, [\w.]+)*)?")
_REFUSED_KEY = "_crm_save_refused"


class SaveRefused(DatabaseException):
    """The database refused a save; the exception's text is the message for the user."""

    def __init__(self, message) -> None:
        super().__init__(str(message))
        self.message = message

    def __str__(self) -> str:
        return str(self.message)


def _constraint(error: SQLAlchemyError) -> str | None:
    """Return the refusing constraint's name, or what of SQLite's message names no value."""
    orig = getattr(error, "orig", None)
    name = getattr(getattr(orig, "diag", None), "constraint_name", None)  # psycopg
    if name:
        return name
    text = str(orig) if orig is not None else ""
    return text if _SQLITE_SAFE.fullmatch(text) else None


def refusal(error: SQLAlchemyError, action: str, model: type) -> SaveRefused:
    """Log a refused save without its values and return what to tell the user.

    :param action: "add", "edit" or "delete".
    """
    orig = getattr(error, "orig", None)
    kind = type(orig if orig is not None else error)
    constraint = _constraint(error)
    log.warning("The database refused to %s a record of %s: %s.%s%s", action, model.__name__,
                kind.__module__, kind.__qualname__,
                f" ({constraint})" if constraint else "")
    if isinstance(error, IntegrityError):
        message = IN_USE if action == "delete" else CONFLICT
    else:
        message = FAILED
    return refused_with(message)


def refused_with(message) -> SaveRefused:
    """Return a refused save saying `message`, kept for the view to show (`RefusedSaves`)."""
    refused = SaveRefused(message)
    if has_app_context():
        setattr(g, _REFUSED_KEY, refused)  # for the view (`RefusedSaves`)
    return refused


# -- values another record already has ---------------------------------------


class UniqueValues:
    """Refuse a value of `column` (with `together`, the combination of the columns) that
    another record of `model` already has.

    Runs after the field's own checks (a business ID is compared as stored); an empty
    value is left to the field's required check.
    """

    def __init__(self, model: type, column: str, together: tuple[str, ...] = ()) -> None:
        self.model, self.column, self.together = model, column, together

    def __call__(self, form, field) -> None:
        values = {self.column: field.data}
        for name in self.together:
            if name not in form:  # not on this form: the database still checks it
                return
            values[name] = form[name].data
        if any(value in (None, "") for value in values.values()):
            return
        query = sa.select(self.model).where(
            *(getattr(self.model, name) == value for name, value in values.items()))
        pk = getattr(form, "_id", None)  # an edit form's record (FAB sets it)
        if pk is not None:
            query = query.where(sa.inspect(self.model).primary_key[0] != pk)
        with db.session.no_autoflush:
            taken = db.session.scalar(sa.select(query.exists()))
        if not taken:
            return
        if not self.together:
            raise ValidationError(_l("%(field)s is already in use in another record.",
                                     field=field.label.text))
        others = ", ".join(str(form[name].label.text).lower() for name in self.together)
        raise ValidationError(_l(
            "%(field)s is already in use in another record with the same %(others)s.",
            field=field.label.text, others=others))


def unique_validators(model: type) -> dict[str, list[UniqueValues]]:
    """Return column -> the checks of every unique column and unique constraint of
    `model`; a constraint's check is on its last column."""
    table = model.__table__
    checks: dict[str, list[UniqueValues]] = {}
    for column in table.columns:
        if column.unique and not column.primary_key:
            checks.setdefault(column.key, []).append(UniqueValues(model, column.key))
    for constraint in table.constraints:
        if isinstance(constraint, sa.UniqueConstraint) and len(constraint.columns) > 1:
            *others, last = [c.key for c in constraint.columns]
            checks.setdefault(last, []).append(UniqueValues(model, last, tuple(others)))
    return checks


# -- the view ------------------------------------------------------------------


def _say_refusal(refused: SaveRefused, *replaced) -> None:
    """Show the refusal as an error, in place of FAB's flash of it (or of `replaced`)."""
    texts = {str(refused), *(str(r) for r in replaced)}
    flashes = session.get("_flashes") or []
    kept = [(c, m) for c, m in flashes if str(m) not in texts]
    session["_flashes"] = [*kept, ("danger", str(refused))]


class RefusedSaves:
    """A model view mixin: a save the database refused comes back as the form, filled in
    as it was sent, with a plain message; a refused delete says so as an error.

    FAB's add and edit went on to the next page (what was typed was lost), flashing the
    driver's message or "Database Error".
    """

    def __init__(self, **kwargs):
        validators = dict(self.validators_columns or {})
        for column, checks in unique_validators(self.datamodel.obj).items():
            validators[column] = [*validators.get(column, ()), *checks]
        self.validators_columns = validators
        super().__init__(**kwargs)

    def _add(self):
        widgets = super()._add()
        refused = g.pop(_REFUSED_KEY, None)
        if widgets is not None or refused is None:
            return widgets
        _say_refusal(refused)
        form = self.add_form.refresh()  # the posted values
        exclude_cols = self._filters.get_relation_cols()
        self._fill_form_exclude_cols(exclude_cols, form)
        return self._get_add_widget(form=form, exclude_cols=exclude_cols)

    def _edit(self, pk):
        widgets = super()._edit(pk)
        refused = g.pop(_REFUSED_KEY, None)
        if widgets is not None or refused is None:
            return widgets
        _say_refusal(refused, self.database_error_message)
        item = self.datamodel.get(pk, self._base_filters)
        if item is None:  # deleted meanwhile: FAB's next page says so
            return None
        form = self.edit_form.refresh(request.form)  # the posted values
        form._id = self.datamodel.get_pk_value(item)
        exclude_cols = self._filters.get_relation_cols()
        self._fill_form_exclude_cols(exclude_cols, form)
        widgets = self._get_edit_widget(form=form, exclude_cols=exclude_cols)
        return self._get_related_views_widgets(
            item, filters={}, orders=get_order_args(), pages=get_page_args(),
            page_sizes=get_page_size_args(), widgets=widgets)

    def _delete(self, pk):
        result = super()._delete(pk)
        refused = g.pop(_REFUSED_KEY, None)
        if refused is not None:
            _say_refusal(refused)
        return result

