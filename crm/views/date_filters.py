"""List filters on dates and timestamps, read as the reader writes them (crm.views.dates).

FAB reads a filter's date with dateutil, month first: 01.02.2026 is 2 January, and a
time is taken as UTC. Here a date is read day first (01.02.2026) or as ISO 8601, a
time on the register's clock. A timestamp filtered by a day alone is filtered by that
whole day on the register's clock: "equal to 1.2.2026" is any time that day, "greater
than 1.2.2026" from 2 February on; a typed time is a span of one minute (or second).
A value that cannot be read matches nothing and says how to write it.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask import flash, g, has_request_context
from flask_appbuilder.models.sqla import filters as fab

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


def _unreadable(query):
    """Match nothing, and tell the reader once per page how to write a date."""
    if has_request_context() and not g.get("_crm_unreadable_date_filter"):
        g._crm_unreadable_date_filter = True
        flash(invalid_date_message(), "warning")
    return query.filter(sa.false())


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
    def compare_value(self, field, value):
        return field > value

    def compare_span(self, field, start, end):
        return field >= end


class FilterDateSmaller(_DateFilter, fab.FilterSmaller):
    def compare_value(self, field, value):
        return field < value

    def compare_span(self, field, start, end):
        return field < start


#: The same filters in FAB's order: a list's URL names a filter by its place (_flt_1_).
DATE_FILTERS = [FilterDateEqual, FilterDateGreater, FilterDateSmaller, FilterDateNotEqual]


class CrmFilterConverter(fab.SQLAFilterConverter):
    """FAB's filters by column type, with dates read as the reader writes them."""

    conversion_table = tuple(
        (kind, DATE_FILTERS) if kind in ("is_date", "is_datetime") else (kind, filters)
        for kind, filters in fab.SQLAFilterConverter.conversion_table
    )
