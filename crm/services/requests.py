"""Data subject requests: deadlines (GDPR Art. 12(3))."""

from __future__ import annotations

import calendar
from datetime import date


def add_months(day: date, months: int) -> date:
    """Return the same day `months` later, or the month's last day when it has none.

    31 January plus one month is the last day of February.
    """
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def due_date(received_on: date) -> date:
    """Return the last day to answer a request received on `received_on`: one month."""
    return add_months(received_on, 1)


def latest_extension(received_on: date) -> date:
    """Return the furthest a deadline may be extended: two further months."""
    return add_months(received_on, 3)
