"""The access export downloaded in a real browser: named and written in its language.

Playwright drives Debian's Chromium against `live_server`, as test_browser_requests
does; the file name is the one the browser offers to save (Content-Disposition).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from html import unescape
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page

from crm.models import Recipient
from tests.factories import make_contact, make_organisation, make_request
from tests.test_browser import sign_in

pytestmark = pytest.mark.browser

EMAIL = "vilja.vientitesti@lataustesti.example"


@pytest.mark.parametrize("fmt, file_name, country, state", [
    ("html-fi", "tietopyynto-{id}-{day}-fi.html", "Suomi", "Yhdysvallat"),
    ("html-en", "tietopyynto-{id}-{day}-en.html", "Finland", "United States"),
])
def test_printable_export_downloads_in_its_language(page: Page, session, fmt, file_name,
                                                    country, state):
    person = make_contact(session, first_name="Vilja", last_name="Vientitesti", email=EMAIL,
                          phone="+358401239876", country="FI",
                          organisation=make_organisation(session, name="Lataustesti Oy"))
    request = make_request(session, contact=person, requester_name="Vilja Vientitesti",
                           requester_email=EMAIL, identity_verified_how="Signed letter",
                           identity_verified_at=datetime.now(UTC),
                           received_on=date.today())
    session.commit()

    sign_in(page, "privacy")
    page.goto(f"/datasubjectrequestview/show/{request.id}")
    export = page.locator("form#export-form")
    export.locator("select[name=format]").select_option(fmt)
    with page.expect_download() as info:
        export.locator("button[type=submit]").click()
    day = datetime.now(ZoneInfo("Europe/Helsinki")).date().isoformat()
    download = info.value
    assert download.suggested_filename == file_name.format(id=request.id, day=day)
    html = unescape(open(download.path(), encoding="utf-8").read())
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    # The number as people write it, the countries by name: the person's and Mailchimp's.
    assert "+358 40 1239876" in text and "+358401239876" not in text
    assert f"Maa {country}" in text or f"Country {country}" in text
    mailchimp = session.scalar(sa.select(Recipient).where(Recipient.name == "Mailchimp"))
    assert mailchimp.country == "US" and f"{state}:" in text
