"""Times typed on the register's clock and dates in the filter box, in a real browser.

Playwright drives Debian's Chromium against `live_server`, on Finnish pages (the
default) and on English ones. Selectors use ids and names, never label texts.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from crm.models import Activity, DataSubjectRequest
from tests.factories import make_activity, make_contact
from tests.test_browser import sign_in

pytestmark = pytest.mark.browser


def _occurred_at(session, pk: int) -> datetime:
    session.expire_all()
    return session.scalar(sa.select(Activity.occurred_at).where(Activity.id == pk))



def _pick_day(page: Page, day: str, opens_on: str | None = None) -> None:
    """Open the form's calendar (showing `opens_on` as the field's day) and pick `day`
    of the month shown."""
    page.locator("form#model_form .crm-date .input-group-addon").click()
    if opens_on is not None:
        expect(page.locator(".datepicker-dropdown .datepicker-days td.day.active")
               ).to_have_text(opens_on)
    page.locator(".datepicker-dropdown .datepicker-days td.day:not(.old):not(.new)",
                 has_text=day).first.click()

def test_an_activitys_time_is_typed_on_the_helsinki_clock(page: Page, session):
    stored = datetime(2026, 6, 5, 9, 39, tzinfo=UTC)  # 12.39 in Helsinki (summer time)
    pk = make_activity(session, make_contact(session), occurred_at=stored).id
    session.commit()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    sign_in(page, "sales")
    page.goto(f"/activityview/edit/{pk}")
    field = page.locator("form#model_form input#occurred_at")
    expect(field).to_have_value("5.6.2026 12.39")  # not 2026-06-05 09:39:00, UTC

    # A time that does not exist: refused beside the field, what was typed kept.
    field.fill("")
    field.press_sequentially("25.11.2026 25.51")
    field.press("Tab")
    page.locator("form#model_form button[type=submit]").click()
    page.wait_for_load_state()
    expect(page.locator("form#model_form .alert-danger")).to_have_count(1)
    expect(page.locator("form#model_form input#occurred_at")).to_have_value("25.11.2026 25.51")
    assert _occurred_at(session, pk) == stored

    # Typed the Finnish way, in winter time: the calendar leaves the text as typed.
    field = page.locator("form#model_form input#occurred_at")
    field.fill("")
    field.press_sequentially("25.11.2026 10.51")
    field.press("Tab")
    expect(field).to_have_value("25.11.2026 10.51")
    page.locator("form#model_form button[type=submit]").click()
    page.wait_for_load_state()
    assert _occurred_at(session, pk) == datetime(2026, 11, 25, 8, 51, tzinfo=UTC)

    # A day picked from the calendar keeps the time typed after the date.
    page.goto(f"/activityview/edit/{pk}")
    field = page.locator("form#model_form input#occurred_at")
    expect(field).to_have_value("25.11.2026 10.51")
    _pick_day(page, "20")
    expect(field).to_have_value("20.11.2026 10.51")
    page.locator("form#model_form button[type=submit]").click()
    page.wait_for_load_state()
    assert _occurred_at(session, pk) == datetime(2026, 11, 20, 8, 51, tzinfo=UTC)
    assert errors == []


def test_a_date_filter_is_added_and_typed_the_finnish_way(page: Page, session):
    contact = make_contact(session)
    for subject, at in [("Tammikuun toinen", datetime(2026, 1, 2, 10, tzinfo=UTC)),
                        ("Helmikuun ensimmäinen", datetime(2026, 2, 1, 10, tzinfo=UTC))]:
        make_activity(session, contact, subject=subject, occurred_at=at)
    session.commit()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    sign_in(page, "sales")
    page.goto("/activityview/list/")
    page.locator('a.accordion-toggle[href="#accordion1_href"]').click()  # "Haku"
    filters = page.locator("form#filter_form")
    filters.locator("button.dropdown-toggle").click()
    filters.locator('a.filter[name="occurred_at"]').click()
    # FAB's own set-up called a picker the page does not have, and stopped here.
    field = filters.locator('input[name="_flt_0_occurred_at"]')
    field.press_sequentially("01.02.2026")
    field.press("Tab")
    expect(field).to_have_value("01.02.2026")
    filters.locator("button[type=submit]").click()
    page.wait_for_load_state()
    listing = page.locator("table.table").last
    expect(listing).to_contain_text("Helmikuun ensimmäinen")
    expect(listing).not_to_contain_text("Tammikuun toinen")
    assert errors == []


def test_a_time_is_typed_on_an_english_page_as_its_lists_write_dates(page: Page, session):
    stored = datetime(2026, 11, 24, 9, 38, tzinfo=UTC)
    pk = make_activity(session, make_contact(session), occurred_at=stored).id
    session.commit()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    sign_in(page, "sales")
    page.goto("/lang/en?next=/activityview/list/")
    # The English list writes the day first, with slashes (en_GB)...
    expect(page.locator("table.table").last).to_contain_text("24/11/2026, 11:38")

    # ...and so does the form, on a 24-hour clock; it reads a time written as the list wrote it.
    page.goto(f"/activityview/edit/{pk}")
    field = page.locator("form#model_form input#occurred_at")
    expect(field).to_have_value("24/11/2026 11:38")
    field.fill("")
    field.press_sequentially("23/11/2026, 14:30")
    field.press("Tab")
    expect(field).to_have_value("23/11/2026, 14:30")
    # Its calendar opens on that day, and a day picked keeps the typed time.
    _pick_day(page, "20", opens_on="23")
    expect(field).to_have_value("20/11/2026 14:30")
    page.locator("form#model_form button[type=submit]").click()
    page.wait_for_load_state()
    assert _occurred_at(session, pk) == datetime(2026, 11, 20, 12, 30, tzinfo=UTC)
    assert errors == []


def test_a_day_picked_on_an_english_page_is_written_and_saved_as_that_day(page: Page, session):
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    sign_in(page, "privacy")
    page.goto("/lang/en?next=/datasubjectrequestview/add")
    form = page.locator("form#model_form")
    form.locator("select#type").select_option("access")
    form.locator("input#requester_name").fill("Elsa English")
    form.locator("select#channel").select_option("letter")
    field = form.locator("input#received_on")
    field.fill("")
    field.press_sequentially("20/10/2026")  # as English lists write dates
    field.press("Tab")
    # The 5th: day first, as the field shows dates, so that it is not read as 10 May.
    _pick_day(page, "5", opens_on="20")
    expect(field).to_have_value("05/10/2026")
    page.locator("form#model_form button[type=submit]").click()
    page.wait_for_load_state()
    session.expire_all()
    assert session.scalars(sa.select(DataSubjectRequest.received_on)).all() == [
        date(2026, 10, 5)]
    assert errors == []
