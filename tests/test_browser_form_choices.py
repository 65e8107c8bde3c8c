"""The lists of related records on add and edit forms, in a real browser: each is named
by its field's label, speaks the page's language (not FAB's "Select Value" or select2's
"Remove all items" and "No results found"), and is cleared only when the field may be
left empty.

Playwright drives Debian's Chromium against the app served by `live_server`. The boxes
are FAB's select2s (crm/templates/crm/accessibility.html) and the type-ahead lists of
contacts and organisations (crm/templates/crm/link_picker.html).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.factories import make_activity, make_contact, make_identifier
from tests.test_browser import sign_in

pytestmark = pytest.mark.browser

#: language -> the words a user reads on the forms.
WORDS = {
    "fi": {"purpose": "Käyttötarkoitus", "purposes": "Käyttötarkoitukset",
           "contact": "Yhteyshenkilö", "organisation": "Organisaatio",
           "direct_marketing": "Suoramarkkinointi ja muut osoitteelliset lähetykset",
           "choose": "Valitse…", "no_matches": "Ei osumia.", "remove_link": "Poista linkitys",
           "find_organisation": "Hae nimellä tai Y-tunnuksella"},
    "en": {"purpose": "Purpose", "purposes": "Purposes",
           "contact": "Contact", "organisation": "Organisation",
           "direct_marketing": "Direct marketing and other addressed mailings",
           "choose": "Choose…", "no_matches": "No matches.", "remove_link": "Remove the link",
           "find_organisation": "Search by name or business ID"},
}
#: FAB's and select2's own English, which no form may show in either language.
FAB_WORDS = ("Select a State", "Select Value", "Remove all items", "No results found",
             "Searching…")


def named(label: str) -> re.Pattern:
    """A box's name that is its field's label (a required field's with its star), and not
    what the box shows."""
    return re.compile(rf"^{re.escape(label)}( \*)?$")


def no_fab_words(page: Page) -> None:
    html = page.locator("main").inner_html()
    assert not [word for word in FAB_WORDS if word in html], html


def find_nothing(page: Page, box) -> None:
    """Open `box`'s list, type what matches nothing, and leave the list open."""
    box.click()
    page.locator(".select2-container--open .select2-search__field").fill("zzqx")


@pytest.mark.parametrize("lang", ["fi", "en"])
def test_a_consents_purpose_is_named_and_cannot_be_emptied(page: Page, session, lang,
                                                            screenshot_dir):
    """A consent is for one purpose: its box offers no way to leave it empty."""
    words = WORDS[lang]
    sign_in(page, "marketing")
    page.goto(f"/lang/{lang}")
    page.goto("/consentview/add")
    purpose = page.get_by_role("combobox", name=named(words["purpose"]))
    expect(purpose).to_have_count(1)
    expect(purpose).to_have_text(words["direct_marketing"])
    expect(page.locator("select#purpose + .select2 .select2-selection__clear")).to_have_count(0)
    # Delete and Backspace on the box do not empty it either.
    purpose.focus()
    page.keyboard.press("Delete")
    page.keyboard.press("Backspace")
    expect(purpose).to_have_text(words["direct_marketing"])
    expect(page.locator("select#purpose")).not_to_have_value("")

    find_nothing(page, purpose)
    expect(page.locator(".select2-container--open .select2-results")).to_have_text(
        words["no_matches"])
    page.screenshot(path=screenshot_dir / f"form-choice-no-matches-{lang}.png", full_page=True)
    no_fab_words(page)


@pytest.mark.parametrize("lang", ["fi", "en"])
def test_a_contacts_purposes_keep_one_and_ask_for_one_when_emptied(page: Page, session, lang,
                                                                    screenshot_dir):
    """A contact is kept for at least one purpose: nothing removes all of them at once,
    and a box emptied one by one asks for a choice, which the browser insists on."""
    words = WORDS[lang]
    sign_in(page, "sales")
    page.goto(f"/lang/{lang}")
    page.goto("/contactview/add")
    purposes = page.get_by_role("combobox", name=named(words["purposes"]))
    expect(purposes).to_have_count(1)
    chosen = page.locator("select#purposes + .select2 .select2-selection__choice")
    expect(chosen).to_have_count(1)
    expect(page.locator("select#purposes + .select2 .select2-selection__clear")).to_have_count(0)
    no_fab_words(page)

    chosen.locator(".select2-selection__choice__remove").click()
    page.keyboard.press("Escape")  # removing a choice opens the list
    expect(chosen).to_have_count(0)
    expect(page.get_by_role("searchbox", name=named(words["purposes"]))).to_have_attribute(
        "placeholder", words["choose"])
    page.fill("input#first_name", "Valinta")
    page.fill("input#last_name", "Tyhjänä")
    page.locator("form#model_form [type=submit]").click()
    # The browser keeps the form, a purpose missing: the server's message never comes.
    assert page.eval_on_selector("select#purposes", "select => select.validity.valueMissing")
    expect(page.locator("form#model_form .alert-danger")).to_have_count(0)
    expect(page).to_have_url(re.compile(r"/contactview/add$"))

    find_nothing(page, purposes)
    expect(page.locator(".select2-container--open .select2-results")).to_have_text(
        words["no_matches"])
    page.screenshot(path=screenshot_dir / f"form-purposes-emptied-{lang}.png", full_page=True)
    no_fab_words(page)


@pytest.mark.parametrize("lang", ["fi", "en"])
def test_record_pickers_are_named_by_their_labels(page: Page, session, lang):
    """A box is named by its field, not by the record it shows or its hint; an activity's
    contact may be unlinked, an identifier's may not."""
    words = WORDS[lang]
    contact = make_contact(session)
    activity = make_activity(session, contact)
    identifier = make_identifier(session, contact)
    session.commit()
    sign_in(page, "sales")
    page.goto(f"/lang/{lang}")

    page.goto(f"/activityview/edit/{activity.id}")
    linked = page.get_by_role("combobox", name=named(words["contact"]))
    expect(linked).to_contain_text(contact.last_name)
    expect(page.locator("select#contact + .select2 .select2-selection__clear")).to_have_attribute(
        "title", words["remove_link"])
    organisation = page.get_by_role("combobox", name=named(words["organisation"]))
    expect(organisation).to_have_text(words["find_organisation"])
    no_fab_words(page)

    page.goto(f"/identifierview/edit/{identifier.id}")
    linked = page.get_by_role("combobox", name=named(words["contact"]))
    expect(linked).to_contain_text(contact.last_name)
    expect(page.locator("select#contact + .select2 .select2-selection__clear")).to_have_count(0)
    no_fab_words(page)
