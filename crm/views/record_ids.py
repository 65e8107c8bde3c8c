"""Record numbers read from an address, a list's filter or a form, checked before any
query sees them.

A number no record can have (past the largest integer the database holds, or
negative) made the query itself fail: SQLite cannot bind a Python integer past 64
bits, PostgreSQL refuses text past its column's integer range, and either was the
error page. Here such a number is "not found" wherever it comes from:

* a route's `<int:...>` argument (Werkzeug's converter, replaced app-wide by
  `RecordIdConverter`) does not match past `MAX_ID`: the address is a 404;
* FAB's record routes (`/<view>/show/<pk>`, `/edit/<pk>`, `/delete/<pk>`, ...) name the
  record as text: `check_record_address` answers 404 for one that is not a number the
  view's model can hold;
* filters and form fields read numbers with `record_id`, which returns None for one
  that names no possible record.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask, abort, current_app, flash, g, has_request_context, request
from flask_appbuilder.models.filters import BaseFilter, FilterRelation
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.routing import IntegerConverter
from wtforms import IntegerField
from wtforms.validators import ValidationError

#: The largest integer any id column holds: SQLite's INTEGER, PostgreSQL's bigint.
MAX_ID = 2**63 - 1
#: The largest PostgreSQL `integer` (the type of every id column but the audit trail's).
MAX_INTEGER = 2**31 - 1
#: The route argument FAB's record routes name the record by.
PK_ARG = "pk"


def largest_id(column_type: sa.types.TypeEngine | None = None) -> int:
    """Return the largest value a column of `column_type` holds (any id column's if None)."""
    if column_type is None or isinstance(column_type, sa.BigInteger):
        return MAX_ID
    return MAX_INTEGER


def record_id(value, column_type: sa.types.TypeEngine | None = None) -> int | None:
    """Return `value` (text or a number) as a record's number, or None if no record of a
    `column_type` column can have it: not a whole number, negative or too large."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    else:
        text = str(value if value is not None else "").strip()
        if not text.isdigit() or not text.isascii():
            return None
        number = int(text)
    return number if 0 <= number <= largest_id(column_type) else None


class RecordIdConverter(IntegerConverter):
    """Werkzeug's `int` converter, matching no number past `MAX_ID` (a 404)."""

    def __init__(self, map, fixed_digits=0, min=None, max=MAX_ID, signed=False):  # noqa: A002
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def _view_model(blueprint: str | None) -> type | None:
    """Return the model of the FAB view that owns `blueprint`, if it has one."""
    for view in current_app.appbuilder.baseviews:
        if getattr(view, "blueprint", None) is not None and view.blueprint.name == blueprint:
            datamodel = getattr(view, "datamodel", None)
            return getattr(datamodel, "obj", None)
    return None


def check_record_address() -> None:
    """Answer 404 for a record route (`<pk>`) whose record number its model cannot hold."""
    value = (request.view_args or {}).get(PK_ARG)
    if not isinstance(value, str):
        return
    model = _view_model(request.blueprint)
    if model is None:
        return
    keys = sa.inspect(model).primary_key
    if len(keys) == 1 and isinstance(keys[0].type, sa.Integer) \
            and record_id(value, keys[0].type) is None:
        abort(404)


def _fits_column(value, column: sa.Column, signed: bool) -> bool:
    text = str(value).strip()
    if signed and text.startswith("-"):
        text = text[1:]
    return record_id(text, column.type) is not None


def filter_value_fits(datamodel, column_name: str, value) -> bool:
    """Tell whether a list filter's `value` can be put to the database: on a link to
    another record a number that record's id column holds, on a whole-number column a
    whole number that column holds. Any other column's value is the filter's to read;
    an empty value is left to the filter too (FAB's "—")."""
    values = value if isinstance(value, list | tuple) else [value]
    if all(v is None or not str(v).strip() for v in values):
        return True
    if datamodel.is_relation(column_name):
        keys = sa.inspect(datamodel.get_related_model(column_name)).primary_key
        signed = False
    elif datamodel.is_integer(column_name):
        keys = [datamodel.list_columns[column_name]]
        signed = True
    else:
        return True
    if len(keys) != 1 or not isinstance(keys[0].type, sa.Integer):
        return True
    return all(_fits_column(v, keys[0], signed) for v in values)


class NoSuchNumber(BaseFilter):
    """Stands for a list filter whose number no record can have: nothing matches it.
    Never offered on the list's filter menu, so it has no name of its own."""

    def apply(self, query, value):
        if has_request_context() and not g.get("_crm_no_such_number"):
            g._crm_no_such_number = True
            flash(_("A filter's number is not one that any record can have, so nothing "
                    "matches it."), "warning")
        return query.filter(sa.false())


class NoSuchRecord(NoSuchNumber, FilterRelation):
    """`NoSuchNumber` on a link to another record: still that link's filter, so a form
    opened with it names the link and says why no record is linked
    (crm.views.base `_preset_links`)."""


def no_such_number(datamodel, column_name: str) -> NoSuchNumber:
    """Return the filter standing for a number no record can have on `column_name`."""
    kind = NoSuchRecord if datamodel.is_relation(column_name) else NoSuchNumber
    return kind(column_name, datamodel)


class RecordIdField(IntegerField):
    """A record's number typed or sent in a form: one no record can have is the field's
    error, not a failed query."""

    def pre_validate(self, form) -> None:
        if self.data is not None and record_id(self.data, sa.Integer()) is None:
            raise ValidationError(_l("No record has this number."))


def init_app(app: Flask) -> None:
    """Bound every `<int:...>` route argument; call before any view is registered."""
    app.url_map.converters["int"] = RecordIdConverter
    app.before_request(check_record_address)
