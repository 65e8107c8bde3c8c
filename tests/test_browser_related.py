"""Sales links a new contact to an organisation picked by name, in a real browser.

Playwright drives Debian's Chromium against `live_server`; the type-ahead list is
FAB's select2 (crm/templates/crm/link_picker.html), driven from the keyboard.
"""

from __future__ import annotations

import re

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


def _new_contact_organisation_picker(page: Page):
    """Sign in as Sales, open a new contact's form in English and focus its
    organisation picker; return the picker's selection box."""
    sign_in(page, "sales")
    page.goto("/lang/en")
    page.goto("/contactview/add")
    selection = page.locator("select#organisation + .select2 .select2-selection")
    selection.focus()
    return selection


def test_the_picker_opens_on_arrow_down_and_tab_picks_the_highlighted_match(page: Page,
                                                                            session):
    wanted = make_organisation(session, name="Nuolivalinta Oy", visiting_city="Hamina")
    session.commit()

    selection = _new_contact_organisation_picker(page)
    page.keyboard.press("ArrowDown")
    search = page.locator(".select2-container--open .select2-search__field")
    expect(search).to_be_focused()
    page.keyboard.type("nuoliv")
    expect(page.locator(".select2-results__option").first).to_contain_text("Nuolivalinta Oy")
    page.keyboard.press("Tab")
    expect(selection).to_contain_text("Nuolivalinta Oy")
    expect(page.locator("select#organisation")).to_have_value(str(wanted.id))
    expect(page.locator(".select2-container--open")).to_have_count(0)


def test_the_picked_record_keeps_its_details_after_a_refused_form(page: Page, session):
    make_organisation(session, name="Kaima Oy", visiting_city="Hamina")
    wanted = make_organisation(session, name="Kaima Oy", visiting_city="Kotka")
    session.commit()

    selection = _new_contact_organisation_picker(page)
    page.keyboard.type("kaima")
    page.locator(".select2-results__option", has_text="Kotka").click()
    expect(selection).to_contain_text(re.compile(r"Kaima Oy · .*Kotka"))
    page.fill("input#first_name", "")  # refused: no first name
    page.locator("form#model_form [type=submit]").click()
    page.wait_for_load_state()
    expect(page.locator("select#organisation")).to_have_value(str(wanted.id))
    expect(selection).to_contain_text(re.compile(r"Kaima Oy · .*Kotka"))
