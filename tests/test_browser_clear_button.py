"""A type-ahead box that can be cleared reads its choice alone, and its clear control is
a button of its own, named in the page's language and reached by Tab
(crm/templates/crm/accessibility.html). select2 had put its "×" in the box's text, so
a screen reader read "× Acme Oy" and no key reached it.

Chromium's own accessibility tree is read (its DevTools protocol): what a screen reader
is given, not what the page's markup suggests.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.factories import make_contact, make_organisation
from tests.test_browser import sign_in

pytestmark = pytest.mark.browser

#: language -> the words a user hears: the box's label and its clear button's name.
WORDS = {
    "fi": {"organisation": "Organisaatio", "remove_link": "Poista linkitys"},
    "en": {"organisation": "Organisation", "remove_link": "Remove the link"},
}


def accessible_values(page: Page, role: str, name: str) -> list[str | None]:
    """Return the values Chromium gives screen readers for each `role` named `name`."""
    cdp = page.context.new_cdp_session(page)
    try:
        nodes = cdp.send("Accessibility.getFullAXTree")["nodes"]
    finally:
        cdp.detach()
    return [node.get("value", {}).get("value") for node in nodes
            if not node.get("ignored") and node.get("role", {}).get("value") == role
            and node.get("name", {}).get("value") == name]


@pytest.fixture
def linked_contact(session):
    """A contact linked to "Acme Oy"."""
    contact = make_contact(session, organisation=make_organisation(session, name="Acme Oy"))
    session.commit()
    return contact


@pytest.mark.parametrize("lang", ["fi", "en"])
def test_a_clearable_box_reads_its_choice_alone_and_its_clear_button_apart(
        page: Page, linked_contact, lang, screenshot_dir):
    words = WORDS[lang]
    sign_in(page, "sales")
    page.goto(f"/lang/{lang}")
    page.goto(f"/contactview/edit/{linked_contact.id}")
    organisation = page.get_by_role("combobox", name=words["organisation"], exact=True)
    expect(organisation).to_contain_text("Acme Oy")
    chosen = accessible_values(page, "combobox", words["organisation"])
    assert len(chosen) == 1 and chosen[0].startswith("Acme Oy"), chosen
    assert "×" not in chosen[0]
    unlink = page.get_by_role("button", name=words["remove_link"], exact=True)
    expect(unlink).to_have_count(1)
    expect(unlink).to_have_attribute("title", words["remove_link"])

    # Tab goes from the box to its button; Enter clears the box, as the "×" did.
    organisation.focus()
    page.keyboard.press("Tab")
    expect(unlink).to_be_focused()
    page.locator("select#organisation + .select2").screenshot(
        path=screenshot_dir / f"clear-button-{lang}.png")
    page.keyboard.press("Enter")
    expect(page.locator("select#organisation")).to_have_value("")
    expect(unlink).to_have_count(0)  # nothing left to clear
