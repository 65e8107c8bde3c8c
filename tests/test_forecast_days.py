"""The retention forecast counts "ended N days ago" in the register's calendar days
(Europe/Helsinki), as it shows the period's end date: not in UTC, and not in whole
24-hour periods, which said a day less between midnight and 02.00 local time."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from crm.services.retention import ExpiringContact

#: 00.30 on 26 November 2026 in Helsinki: 22.30 on the 25th in UTC.
NOW = datetime(2026, 11, 25, 22, 30, tzinfo=UTC)


@pytest.mark.parametrize(("ended", "days"), [
    # 26.11.2025 at noon in Helsinki: a year (365 days) before 26.11.2026.
    (datetime(2025, 11, 26, 10, 0, tzinfo=UTC), 365),
    # 26.11.2025 at 00.00 in Helsinki.
    (datetime(2025, 11, 25, 22, 0, tzinfo=UTC), 365),
    # 25.11.2026 at 23.00 in Helsinki: yesterday, an hour and a half ago.
    (datetime(2026, 11, 25, 21, 0, tzinfo=UTC), 1),
    # 26.11.2026 at 00.10 in Helsinki: today.
    (datetime(2026, 11, 25, 22, 10, tzinfo=UTC), 0),
    # Not yet ended.
    (datetime(2026, 11, 27, 10, 0, tzinfo=UTC), 0),
])
def test_days_since_the_period_ended_are_the_register_calendars(ended, days):
    contact = ExpiringContact(1, "Aino", "Aaltonen", "prospects", ended)
    assert contact.days_past(NOW) == days


def test_the_forecast_page_counts_local_days_after_midnight(session, login_as, monkeypatch):
    """Between 00.00 and 02.00 in Helsinki the page says a year, not a day less."""
    from crm.views import jobs

    monkeypatch.setattr(jobs, "utcnow", lambda: NOW)
    shown = [ExpiringContact(1, "Aino", "Aaltonen", "prospects",
                             datetime(2025, 11, 26, 10, 0, tzinfo=UTC))]
    monkeypatch.setattr(jobs, "expiring_contacts", lambda *args, **kwargs: (shown, 1))
    page = login_as("privacy").get("/jobs/forecast").get_data(as_text=True)
    assert 'data-days-past="365"' in page
