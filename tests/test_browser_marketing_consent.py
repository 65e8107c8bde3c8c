"""Marketing withdraws a consent and subscribes a person, in a real browser, in Finnish.

Playwright drives Debian's Chromium against `live_server` (crm.services.consents).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from crm.models import Contact, MarketingStatus
from crm.models.base import register_today
from tests.factories import make_consent, make_contact
from tests.test_browser import sign_in

pytestmark = pytest.mark.browser


def _status(session, pk: int) -> MarketingStatus:
    session.expire_all()
    return session.scalar(sa.select(Contact.marketing_status).where(Contact.id == pk))


def test_withdrawing_the_only_consent_shows_the_person_unsubscribed(page: Page, session,
                                                                    screenshot_dir):
    contact = make_contact(session, marketing_status=MarketingStatus.subscribed)
    consent = make_consent(session, contact, given_at=datetime.now(UTC) - timedelta(days=30))
    session.commit()
    pk, consent_id = contact.id, consent.id

    sign_in(page, "marketing")
    page.goto(f"/contactview/show/{pk}")
    expect(page.locator("main")).to_contain_text("Tilannut")
    page.goto(f"/consentview/edit/{consent_id}")
    field = page.locator("form#model_form input#withdrawn_at")
    field.fill("")
    yesterday = register_today() - timedelta(days=1)
    field.press_sequentially(f"{yesterday.day}.{yesterday.month}.{yesterday.year} 12.00")
    field.press("Tab")
    page.locator("form#model_form button[type=submit]").click()
    page.wait_for_load_state()
    expect(page.locator("form#model_form .alert-danger")).to_have_count(0)
    assert _status(session, pk) is MarketingStatus.unsubscribed

    page.goto(f"/contactview/show/{pk}")
    expect(page.locator("main")).to_contain_text("Perunut tilauksen")
    page.screenshot(path=str(screenshot_dir / "marketing-consent-withdrawn.png"),
                    full_page=True)


def test_subscribing_without_a_consent_is_refused_beside_the_field(page: Page, session,
                                                                   screenshot_dir):
    pk = make_contact(session, marketing_status=MarketingStatus.never).id
    session.commit()

    sign_in(page, "marketing")
    page.goto(f"/contactview/edit/{pk}")
    page.select_option("form#model_form select#marketing_status", "subscribed")
    page.locator("form#model_form button[type=submit]").click()
    page.wait_for_load_state()
    cell = page.locator("form#model_form td", has=page.locator("select#marketing_status"))
    expect(cell.locator(".alert-danger")).to_have_count(1)
    expect(page.locator("form#model_form select#marketing_status")).to_have_value(
        "subscribed")  # what was chosen is kept, to be changed
    page.screenshot(path=str(screenshot_dir / "marketing-subscribe-refused.png"),
                    full_page=True)
    assert _status(session, pk) is MarketingStatus.never
