"""The privacy officer takes an access request from receipt to the download, in a real browser.

Playwright drives Debian's Chromium against `live_server`. Selectors use ids and
names, never label texts (the UI is in Finnish by default).
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from crm.models import AuditEvent, DataSubjectRequest, RequestStatus
from crm.services.requests import due_date
from tests.factories import make_contact, make_organisation, make_request
from tests.test_browser import sign_in

pytestmark = pytest.mark.browser

EMAIL = "selma.selaintesti@pyytaja.example"


def test_access_request_from_receipt_to_download(page: Page, session, screenshot_dir):
    org = make_organisation(session, name="Selaintesti Oy")
    person = make_contact(session, first_name="Selma", last_name="Selaintesti", email=EMAIL,
                          organisation=org, notes="Selma asked for a demo in May")
    colleague = make_contact(session, first_name="Kalle", last_name="Kollega",
                             email="kalle.kollega@pyytaja.example", organisation=org)
    session.commit()
    received = date.today() - timedelta(days=2)

    sign_in(page, "privacy")
    # Receipt: the request is recorded from the letter or email it came in.
    page.goto("/datasubjectrequestview/add")
    form = page.locator("form#model_form")
    form.locator("select#type").select_option("access")
    form.locator("input#requester_name").fill("Selma Selaintesti")
    form.locator("input#requester_email").fill(EMAIL)
    form.locator("select#channel").select_option("email")
    # The day of receipt starts as today (the register's, in Helsinki); this one came
    # two days ago.
    today = datetime.now(ZoneInfo("Europe/Helsinki")).date()
    field = form.locator("input#received_on")
    expect(field).to_have_value(f"{today.day}.{today.month}.{today.year}")
    # Typed, as a person types it; the date picker leaves typed dates alone.
    field.fill("")
    field.press_sequentially(received.isoformat())
    field.press("Tab")
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()
    session.expire_all()
    request = session.scalars(sa.select(DataSubjectRequest)).one()
    assert request.due_on == due_date(received)

    # Identity verified, on the request's page.
    page.goto(f"/datasubjectrequestview/show/{request.id}")
    page.locator("#verify-form input[name=how]").fill("Reply from the address on file")
    page.locator("#verify-form button[type=submit]").click()
    page.wait_for_load_state()
    expect(page.locator("#identity")).to_contain_text("Reply from the address on file")

    # Finding the person: by the requester's email, the match says why.
    page.locator("a#find-person").click()
    page.wait_for_load_state()
    row = page.locator(f'tr[data-contact="{person.id}"]')
    expect(row.locator('[data-reason="email"]')).to_have_count(1)
    expect(page.locator(f'tr[data-contact="{colleague.id}"]')).to_have_count(0)
    row.locator("button.crm-link").click()
    page.wait_for_load_state()
    expect(page.locator("a#linked-contact")).to_have_attribute(
        "href", f"/contactview/show/{person.id}")
    page.screenshot(path=screenshot_dir / "access-request-ready.png", full_page=True)

    # The download: machine-readable, then printable in English.
    export = page.locator("form#export-form")
    export.locator("select[name=format]").select_option("json")
    with page.expect_download() as info:
        export.locator("button[type=submit]").click()
    download = info.value
    day = datetime.now(ZoneInfo("Europe/Helsinki")).date().isoformat()
    assert download.suggested_filename == f"tietopyynto-{request.id}-{day}.json"
    data = json.loads(open(download.path(), encoding="utf-8").read())
    assert [c["email"] for c in data["records"]["contact"]] == [EMAIL]
    assert data["records"]["contact"][0]["notes"] == "Selma asked for a demo in May"
    assert data["records"]["organisation"] == [{"id": org.id, "name": "Selaintesti Oy"}]
    assert "kalle" not in json.dumps(data).lower()

    export.locator("select[name=format]").select_option("html-en")
    with page.expect_download() as info:
        export.locator("button[type=submit]").click()
    html = open(info.value.path(), encoding="utf-8").read()
    assert EMAIL in html and "Data Protection Ombudsman" in html and "Mailchimp" in html

    # The printable export as the person sees it.
    report = page.context.new_page()
    report.set_content(html)
    report.screenshot(path=screenshot_dir / "access-export-en.png", full_page=True)
    report.close()

    # Delivered: the request is completed and leaves the open requests.
    page.locator("#deliver-form select[name=how]").select_option("email")
    page.locator("#deliver-form textarea[name=outcome]").fill("Export sent by secure email")
    page.locator("#deliver-form button[type=submit]").click()
    page.wait_for_load_state()
    expect(page.locator("#request-steps")).to_have_attribute("data-status", "completed")
    page.goto("/requests/")
    expect(page.locator(f'tr[data-request="{request.id}"]')).to_have_count(0)

    session.expire_all()
    assert session.get(DataSubjectRequest, request.id).status is RequestStatus.completed
    exports = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "export")
                              .order_by(AuditEvent.id)).all()
    assert [(e.actor, e.object_id, e.detail) for e in exports] == [
        ("privacy", str(person.id), f"json request {request.id}"),
        ("privacy", str(person.id), f"html-en request {request.id}")]


# -- dates typed the Finnish way (crm.views.dates) ---------------------------------------


def test_a_date_typed_the_finnish_way_is_saved_and_a_bad_one_refused(page: Page, session):
    received = date.today() - timedelta(days=2)
    typed = received.strftime("%d.%m.%Y")  # 20.11.2026, as a Finnish user types it

    sign_in(page, "privacy")
    page.goto("/datasubjectrequestview/add")
    form = page.locator("form#model_form")
    form.locator("select#type").select_option("access")
    form.locator("input#requester_name").fill("Päivi Päivämäärä")
    form.locator("select#channel").select_option("email")
    # First a day that does not exist: refused beside the field, nothing stored.
    field = form.locator("input#received_on")
    field.fill("")  # it starts as today
    field.press_sequentially("31.02.2026")
    field.press("Tab")
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()
    expect(page.locator("form#model_form .alert-danger")).to_have_count(1)
    expect(page.locator("input#received_on")).to_have_value("31.02.2026")
    session.expire_all()
    assert session.scalars(sa.select(DataSubjectRequest)).all() == []

    field = page.locator("form#model_form input#received_on")
    field.fill("")
    field.press_sequentially(typed)
    field.press("Tab")
    # The calendar leaves the typed date as it is (FAB's own set-up rewrote it).
    expect(field).to_have_value(typed)
    page.locator("form#model_form button[type=submit]").click()
    page.wait_for_load_state()
    session.expire_all()
    request = session.scalars(sa.select(DataSubjectRequest)).one()
    assert (request.received_on, request.due_on) == (received, due_date(received))

    # The edit page shows the day as it was typed, not as 2026-11-20, above the form:
    # the deadline counts from it, and it is not changed there.
    page.goto(f"/datasubjectrequestview/edit/{request.id}")
    expect(page.locator(".crm-edit-details")).to_contain_text(
        f"{received.day}.{received.month}.{received.year}")
    expect(page.locator("form#model_form input#received_on")).to_have_count(0)


def test_a_date_picked_from_the_finnish_calendar_is_saved(page: Page, session):
    from babel.dates import format_date

    today = date.today()
    sign_in(page, "privacy")
    page.goto("/datasubjectrequestview/add")
    form = page.locator("form#model_form")
    form.locator("select#type").select_option("access")
    form.locator("input#requester_name").fill("Kalle Kalenteri")
    form.locator("select#channel").select_option("email")
    form.locator("input#received_on").fill("")  # it starts as today: picked here instead
    form.locator(".crm-date .input-group-addon").click()
    calendar = page.locator(".datepicker-dropdown .datepicker-days")
    expect(calendar.locator(".datepicker-switch")).to_have_text(
        format_date(today, "LLLL y", locale="fi"))  # marraskuu 2026
    calendar.locator("td.day.today").click()
    expect(form.locator("input#received_on")).to_have_value(
        f"{today.day}.{today.month}.{today.year}")
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()
    session.expire_all()
    assert session.scalars(sa.select(DataSubjectRequest.received_on)).one() == today


def test_the_deadline_is_extended_with_dates_typed_the_finnish_way(page: Page, session):
    received = date.today() - timedelta(days=2)
    request = make_request(session, received_on=received)
    session.commit()
    new_due_on = request.due_on + timedelta(days=10)

    sign_in(page, "privacy")
    page.goto(f"/datasubjectrequestview/show/{request.id}")
    page.locator("details#extend summary").click()
    extend = page.locator("form#extend-form")
    extend.locator("input[name=new_due_on]").press_sequentially(new_due_on.strftime("%d.%m.%Y"))
    # Each calendar opens below its field, over what follows: closed as a person closes it.
    extend.locator("input[name=new_due_on]").press("Tab")
    extend.locator("textarea[name=reason]").fill("Many systems to search")
    extend.locator("input[name=notified_on]").press_sequentially(received.strftime("%d.%m.%Y"))
    extend.locator("input[name=notified_on]").press("Tab")
    extend.locator("button[type=submit]").click()
    page.wait_for_load_state()
    session.expire_all()
    request = session.get(DataSubjectRequest, request.id)
    assert (request.extended_due_on, request.extension_notified_on) == (new_due_on, received)
