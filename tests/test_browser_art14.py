"""Marketing records Art. 14 notices as sent in a real browser: for a purchased list on
its page, and for one person on their provenance tab.

Selectors use ids and data attributes, never label texts (the UI is in Finnish).
"""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest
from playwright.sync_api import Page, expect

from crm.models import Provenance
from crm.models.base import register_today
from tests.test_art14_notices import bought_list
from tests.test_browser import sign_in

pytestmark = pytest.mark.browser


def sent_days(session, rows) -> list:
    session.expire_all()
    return [(at.astimezone(UTC).date() if at else None) for at in
            (session.get(Provenance, row.id).art14_notified_at for row in rows)]


def test_marketing_marks_a_lists_notices_sent_from_its_page(page: Page, session,
                                                           screenshot_dir):
    source, rows = bought_list(session, people=2)
    sign_in(page, "marketing")
    page.goto(f"/sourceview/show/{source.id}")
    field = page.locator("form.crm-art14-list input#sent_on")
    today = register_today()
    # The form starts at today, written as the page writes dates.
    expect(field).to_have_value(f"{today.day}.{today.month}.{today.year}")
    yesterday = today - timedelta(days=1)
    field.fill(f"{yesterday.day}.{yesterday.month}.{yesterday.year}")
    page.click("#art14-mark-list")
    page.wait_for_load_state()
    expect(page.locator("#art14-mark-list")).to_have_count(0)
    expect(page.locator('tr[data-notice="owed"] td')).to_have_text("0")
    expect(page.locator('tr[data-notice="sent"] td')).to_have_text("2")
    page.screenshot(path=str(screenshot_dir / "art14-list-marked.png"), full_page=True)
    assert sent_days(session, rows) == [yesterday, yesterday]


def test_marketing_marks_one_persons_notice_sent_on_their_provenance_tab(page: Page, session):
    _source, rows = bought_list(session, people=2)
    sign_in(page, "marketing")
    page.goto(f"/contactview/show/{rows[0].contact_id}")
    page.click('a[href="#ProvenanceView"]')
    row = page.locator(f'form[data-provenance="{rows[0].id}"]')
    expect(row).to_be_visible()
    row.locator("button[type=submit]").click()
    page.wait_for_load_state()
    expect(page.locator(f'form[data-provenance="{rows[0].id}"]')).to_have_count(0)
    assert sent_days(session, rows) == [register_today(), None]
