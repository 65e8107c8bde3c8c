"""A contact's change history in the reader's words.

The history stores each old and new value as text (crm.services.rectification):
an enum by its code ("unsubscribed"), a yes-or-no as "true" or "false", a timestamp
in ISO 8601 and UTC. Stored as they are; shown here as the contact's own page shows
the field: the choice's label ("Perunut tilauksen"), "Kyllä" or "Ei", a date and
time in the reader's language and the CRM's time zone ("26.11.2026 0.06").
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import format_date, format_datetime, get_locale
from flask_babel import lazy_gettext as _l

from crm.extensions import db
from crm.models import Contact, ContactChange, Purpose
from crm.models.base import AwareDateTime, LabelledEnum
from crm.services.validation import format_phone
from crm.views.interface import CrmSQLAInterface

#: The history's columns that hold a contact's old or new value.
VALUE_COLUMNS = ("old_value", "new_value")
PHONE_FIELDS = {"phone", "mobile"}
COUNTRY_FIELDS = {"country"}
#: The contact's purposes, stored by their codes.
PURPOSES_FIELD = "purposes"


def country_name(code: str | None) -> str:
    """Return a country code (FI) as the reader names the country (Suomi, Finland)."""
    if not code:
        return ""
    return get_locale().territories.get(code.upper(), code)


def purpose_names(codes: str) -> str:
    """Return purposes stored by their codes ("marketing, newsletter") by their names in
    the reader's language; a code no purpose has any longer as it is."""
    wanted = [code.strip() for code in codes.split(",")]
    purposes = {p.code: str(p) for p in db.session.scalars(
        sa.select(Purpose).where(Purpose.code.in_(wanted)))}
    return ", ".join(purposes.get(code, code) for code in wanted)


def _typed_text(kind: sa.types.TypeEngine, value: str) -> str:
    """Return `value` stored as text from a column of type `kind` as the screens show it."""
    labelled = getattr(kind, "enum_class", None)
    if labelled is not None and issubclass(labelled, LabelledEnum):
        return labelled(value).label
    if isinstance(kind, sa.Boolean) and value in ("true", "false"):
        return str(_l("Yes") if value == "true" else _l("No"))
    if isinstance(kind, AwareDateTime | sa.DateTime):
        return format_datetime(datetime.fromisoformat(value), "short")
    if isinstance(kind, sa.Date):
        return format_date(date.fromisoformat(value), "short")
    return value


def change_value_text(field: str | None, value: str | None) -> str:
    """Return a contact's old or new `value` of `field`, stored as text, as its field
    shows it; a value its column no longer reads (a choice since removed) as stored."""
    if value is None or value == "":
        return ""
    if field in PHONE_FIELDS:
        return format_phone(value) or value
    if field in COUNTRY_FIELDS:
        return country_name(value)
    if field == PURPOSES_FIELD:
        return purpose_names(value)
    column = Contact.__table__.c.get(field) if field else None
    if column is None:
        return value
    try:
        return _typed_text(column.type, value)
    except ValueError:
        return value


class ContactChangeInterface(CrmSQLAInterface):
    """The history's data for its list and page: old and new values in the reader's words
    (`change_value_text`), read with the row's field."""

    def __init__(self, obj=ContactChange, session=None):
        super().__init__(obj, session)

    @staticmethod
    def _get_attr_value(item, col):
        value = CrmSQLAInterface._get_attr_value(item, col)
        if col in VALUE_COLUMNS and isinstance(item, ContactChange):
            return change_value_text(item.field, value)
        return value
