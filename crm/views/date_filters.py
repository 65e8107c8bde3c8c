"""List filters on dates and timestamps, read as the reader writes them (crm.views.dates),
and on enum columns, read by the column's own choices.

FAB reads a filter's date with dateutil, month first: 01.02.2026 is 2 January, and a
time is taken as UTC. Here a date is read day first (01.02.2026) or as ISO 8601, a
time on the register's clock. A timestamp filtered by a day alone is filtered by that
whole day on the register's clock: "equal to 1.2.2026" is any time that day, "greater
than 1.2.2026" from 2 February on; a typed time is a span of one minute (or second).
A value that cannot be read matches nothing and says how to write it.

An enum column (language, legal basis, customer status...) is filtered "equal to" or
"not equal to" one of its choices. FAB compared the address's text to the column as it
was, and a value not among the choices, or the filter box's "—", stopped the list
with an error page. Here "—" means "no value": "equal to —" finds the rows without
one (none, on a column every row has a value in), "not equal to —" those with one. A
row without a value is "not equal to" every choice. A value that is not a choice (a
hand-edited address) matches nothing and says so, as an unreadable date does.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask import flash, g, has_request_context
from flask_appbuilder.models.sqla import filters as fab
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from crm.views.dates import (
    invalid_date_message,
    local_day,
    read_date,
    read_datetime,
)


def _span(datamodel, column_name: str, value):
    """Return the (start, end) the filter's `value` covers, end excluded, or None.

    A date column's span is the day itself (start == end); a timestamp's is in UTC.
    """
    if isinstance(value, datetime):  # given by code, not typed
        return value, value
    text = str(value or "")
    if datamodel.is_date(column_name):
        day = read_date(text)
        return (day, day) if day is not None else None
    day = read_date(text)
    if day is not None:
        return local_day(day)
    read = read_datetime(text)
    return (read[0], read[0] + read[1]) if read is not None else None


def _match_nothing(query, told: str, message):
    """Match nothing, and tell the reader why once per page (`told` marks it said)."""
    if has_request_context() and not g.get(told):
        setattr(g, told, True)
        flash(message() if callable(message) else message, "warning")
    return query.filter(sa.false())


def _unreadable(query):
    """Match nothing, and tell the reader once per page how to write a date."""
    return _match_nothing(query, "_crm_unreadable_date_filter", invalid_date_message)


class _DateFilter:
    """A FAB filter whose value is a typed date, or date and time, on a date column."""

    def apply(self, query, value):
        query, field = fab.get_field_setup_query(query, self.model, self.column_name)
        span = _span(self.datamodel, self.column_name, value)
        if span is None:
            return _unreadable(query)
        start, end = span
        if start == end:  # a date column, or a given instant
            return query.filter(self.compare_value(field, start))
        return query.filter(self.compare_span(field, start, end))


class FilterDateEqual(_DateFilter, fab.FilterEqual):
    def compare_value(self, field, value):
        return field == value

    def compare_span(self, field, start, end):
        return sa.and_(field >= start, field < end)


class FilterDateNotEqual(_DateFilter, fab.FilterNotEqual):
    def compare_value(self, field, value):
        return field != value

    def compare_span(self, field, start, end):
        return sa.or_(field < start, field >= end)


class FilterDateGreater(_DateFilter, fab.FilterGreater):
    # A date is later, not "greater than" ("Suurempi kuin 1.2.2026").
    name = _l("Later than")

    def compare_value(self, field, value):
        return field > value

    def compare_span(self, field, start, end):
        return field >= end


class FilterDateSmaller(_DateFilter, fab.FilterSmaller):
    name = _l("Earlier than")

    def compare_value(self, field, value):
        return field < value

    def compare_span(self, field, start, end):
        return field < start


#: The same filters in FAB's order: a list's URL names a filter by its place (_flt_1_).
DATE_FILTERS = [FilterDateEqual, FilterDateGreater, FilterDateSmaller, FilterDateNotEqual]


def _choice(field, value):
    """Return the choice of enum column `field` that `value` names, or None."""
    enum_cls = getattr(field.type, "enum_class", None)
    if enum_cls is None:  # an enum of plain strings
        return value if value in getattr(field.type, "enums", ()) else None
    try:
        return enum_cls(value)
    except ValueError:
        return None


def _not_a_choice(query):
    return _match_nothing(query, "_crm_not_a_choice_filter",
                          lambda: _("A filter's value is not one of its choices, so nothing "
                                    "matches it. Choose the value from the list."))


class _EnumFilter:
    """A FAB filter on an enum column whose value is one of its choices, or "—" (none)."""

    def apply(self, query, value):
        query, field = fab.get_field_setup_query(query, self.model, self.column_name)
        if value is None or (isinstance(value, str) and not value.strip()):  # "—"
            return query.filter(self.compare_none(field))
        choice = _choice(field, value.strip() if isinstance(value, str) else value)
        if choice is None:
            return _not_a_choice(query)
        return query.filter(self.compare_value(field, choice))


class FilterEnumEqual(_EnumFilter, fab.FilterEqual):
    def compare_none(self, field):
        return field.is_(None)

    def compare_value(self, field, value):
        return field == value


class FilterEnumNotEqual(_EnumFilter, fab.FilterNotEqual):
    def compare_none(self, field):
        return field.is_not(None)

    def compare_value(self, field, value):
        # A row without a value is not of the named choice either (SQL's != leaves it out).
        if not getattr(field.expression, "nullable", True):
            return field != value
        return sa.or_(field != value, field.is_(None))


#: In FAB's order: "equal to" is _flt_0_, "not equal to" _flt_1_.
ENUM_FILTERS = [FilterEnumEqual, FilterEnumNotEqual]
#: FAB's filters by column kind that are replaced here.
REPLACED = {"is_date": DATE_FILTERS, "is_datetime": DATE_FILTERS, "is_enum": ENUM_FILTERS}


class CrmFilterConverter(fab.SQLAFilterConverter):
    """FAB's filters by column type, with dates read as the reader writes them and enum
    values read by the column's choices."""

    conversion_table = tuple(
        (kind, REPLACED.get(kind, filters))
        for kind, filters in fab.SQLAFilterConverter.conversion_table
    )
