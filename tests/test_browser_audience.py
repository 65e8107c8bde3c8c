"""Marketing presses "Sync to Mailchimp now" in a real browser: while the sync runs (seconds,
more while Mailchimp is retried) the button says so and cannot be pressed again.

Playwright drives Debian's Chromium against `live_server`; the fake Mailchimp answers
the first call 503 (the sync retries it).
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from crm.models import JobRun, JobStatus
from tests.test_browser import sign_in
from tests.test_mailchimp_errors import fake  # noqa: F401  (a fixture: a subscriber, the fake)

pytestmark = pytest.mark.browser


def test_the_sync_button_says_the_sync_is_under_way(page: Page, session, fake):  # noqa: F811
    fake.fail_next(503)  # retried: the sync takes its time
    sign_in(page, "marketing")
    page.goto("/lang/en")
    page.goto("/audience/")
    button = page.locator("button#audience-sync")
    expect(button).to_be_enabled()
    # The button as the page shows it from the press until the answer comes: kept
    # in the tab's storage when the form is sent, to be read on the next page.
    page.evaluate("""() => {
        const button = document.getElementById("audience-sync");
        document.getElementById("audience-sync-form").addEventListener("submit", () => {
            sessionStorage.setItem("sending", JSON.stringify(
                [button.disabled, button.textContent]));
        });
    }""")
    button.click()
    page.wait_for_url("**/audience/")
    expect(page.locator(".alert")).to_contain_text("Mailchimp sync: Succeeded.")
    sending = page.evaluate('() => JSON.parse(sessionStorage.getItem("sending"))')
    assert sending == [True, "Syncing…"]
    # Sent once, and the page it comes back to offers the button again.
    expect(page.locator("button#audience-sync")).to_be_enabled()
    expect(page.locator("button#audience-sync")).to_have_text("Sync to Mailchimp now")
    assert fake.status_of("tilaaja@firma.example") == "subscribed"
    session.expire_all()
    (run,) = session.scalars(sa.select(JobRun).where(JobRun.job == "mailchimp_sync"))
    assert run.status is JobStatus.succeeded
