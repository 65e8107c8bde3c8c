"""Sales links a new contact to an organisation picked by name, in a real browser.

Playwright drives Debian's Chromium against `live_server`; the type-ahead list is
FAB's select2 (crm/templates/crm/link_picker.html), driven from the keyboard.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from crm.models import Contact
from tests.factories import make_organisation
from tests.test_browser import sign_in

pytestmark = pytest.mark.browser


def test_sales_picks_the_organisation_of_a_new_contact_by_name(page: Page, session,
                                                                screenshot_dir):
    wanted = make_organisation(session, name="Selainvalinta Oy", visiting_city="Hamina")
    make_organisation(session, name="Selainvalinta Kakkonen Oy", visiting_city="Kotka")
    make_organisation(session, name="Aivan Muu Oy")
    session.commit()

    sign_in(page, "sales")
    page.goto("/lang/en")
    page.goto("/contactview/add")
    page.fill("input#first_name", "Veera")
    page.fill("input#last_name", "Valittu")
    # The number box has become a list: focus it and type part of the name.
    selection = page.locator("select#organisation + .select2 .select2-selection")
    expect(selection).to_contain_text("Search by name or business ID")
    selection.focus()
    page.keyboard.type("selainv")
    options = page.locator(".select2-results__option")
    expect(options).to_have_count(2)
    expect(options.first).to_contain_text("Selainvalinta")
    expect(page.locator(".select2-results")).to_contain_text("Hamina")
    expect(page.locator(".select2-results")).not_to_contain_text("Aivan Muu Oy")
    page.screenshot(path=str(screenshot_dir / "link-organisation-matches.png"), full_page=True)
    # The first match is "Selainvalinta Kakkonen Oy" (by name): down once, then Enter.
    expect(options.nth(1)).to_contain_text("Selainvalinta Oy")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(selection).to_contain_text("Selainvalinta Oy")
    expect(page.locator("select#organisation")).to_have_value(str(wanted.id))
    page.locator("form#model_form [type=submit]").click()
    page.wait_for_load_state()

    session.expire_all()
    contact = session.scalar(sa.select(Contact).where(Contact.last_name == "Valittu"))
    assert contact is not None and contact.organisation_id == wanted.id
    # Its page names the organisation, and its edit form shows it picked, by name.
    page.goto(f"/contactview/show/{contact.id}")
    expect(page.locator("body")).to_contain_text("Selainvalinta Oy")
    page.goto(f"/contactview/edit/{contact.id}")
    expect(page.locator("select#organisation + .select2 .select2-selection")).to_contain_text(
        "Selainvalinta Oy")
    page.screenshot(path=str(screenshot_dir / "link-organisation-edit.png"), full_page=True)
