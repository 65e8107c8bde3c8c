"""A visitor leaves a callback request in a real browser; Sales finds it on the home page.

Playwright drives Debian's Chromium against `live_server`; selectors are ids and
names, never texts that translations change.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from crm.models import CallbackRequest, Consent
from tests.test_browser import sign_in

pytestmark = pytest.mark.browser

NAME = "Selma Selainpyyntö"


def test_a_visitor_leaves_a_callback_request_and_sales_sees_it(page: Page, browser,
                                                               live_server, session,
                                                               screenshot_dir):
    page.goto("/contact?lang=en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    # The honeypot is there for robots, but off the screen for people.
    box = page.locator("input#website").bounding_box()
    assert box is not None and box["x"] + box["width"] <= 0
    page.fill("input#name", NAME)
    page.fill("input#organisation", "Selainyhtiö Oy")
    page.fill("input#email", "selma@selainyhtio.example")
    page.fill("textarea#message", "Could you show us a demo?")
    page.click("button#contact-submit")
    # Without consent the form comes back, naming what is missing, with the values kept.
    expect(page.locator("#contact-errors [data-field=consent]")).to_be_visible()
    expect(page.locator("input#name")).to_have_value(NAME)
    page.screenshot(path=str(screenshot_dir / "contact-form-errors.png"), full_page=True)
    page.check("input#consent")
    page.click("button#contact-submit")
    expect(page.locator("#contact-thanks")).to_be_visible()
    page.screenshot(path=str(screenshot_dir / "contact-thanks.png"), full_page=True)

    session.expire_all()
    callback = session.scalar(sa.select(CallbackRequest).where(CallbackRequest.name == NAME))
    assert callback is not None and callback.email == "selma@selainyhtio.example"
    assert session.scalar(sa.select(Consent).where(Consent.contact_id == callback.contact_id))

    context = browser.new_context(base_url=live_server, viewport={"width": 1280, "height": 900})
    sales = context.new_page()
    try:
        sign_in(sales, "sales")
        sales.goto("/")
        link = sales.locator(f'a[href="/callbackrequestview/show/{callback.id}"]')
        expect(link).to_have_text(NAME)
        sales.screenshot(path=str(screenshot_dir / "contact-sales-home.png"), full_page=True)
    finally:
        context.close()
