"""The language menu in a real browser: the reader stays on the page they were on.

Playwright drives Debian's Chromium against the app served by `live_server`.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.factories import make_contact
from tests.test_browser import result_row, sign_in

pytestmark = pytest.mark.browser

FILTERED = "/contactview/list/?_flt_2_last_name=Kielivalitsin"


def test_switching_language_keeps_the_filtered_contact_list(page: Page, session,
                                                            screenshot_dir):
    shown = make_contact(session, first_name="Kaija", last_name="Kielivalitsin")
    hidden = make_contact(session, first_name="Otto", last_name="Muukalainen")
    session.commit()
    sign_in(page, "sales")
    page.goto(FILTERED)
    expect(page.locator(".navbar a.dropdown-toggle i.flag.fi")).to_have_count(1)

    page.locator(".navbar a.dropdown-toggle:has(i.flag)").click()
    page.locator(".navbar a[href^='/lang/en?']").click()
    page.wait_for_load_state()

    # The same page, filter and all, now in English.
    expect(page).to_have_url(re.compile(re.escape(FILTERED) + "$"))
    expect(page.locator(".navbar a.dropdown-toggle i.flag.gb")).to_have_count(1)
    expect(page.locator("table.table-bordered th", has_text="Last name")).to_have_count(1)
    expect(result_row(page, shown.id)).to_have_count(1)
    expect(result_row(page, hidden.id)).to_have_count(0)
    page.screenshot(path=screenshot_dir / "language-switch-kept-page.png", full_page=True)

    # The choice stays for the next page, and the menu now offers Finnish.
    page.goto("/organisationview/list/")
    expect(page.locator(".navbar a.dropdown-toggle i.flag.gb")).to_have_count(1)
    expect(page.locator(".navbar a[href^='/lang/fi?next=']")).to_have_count(1)
