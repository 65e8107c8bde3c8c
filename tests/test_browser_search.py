"""In a real browser, in Finnish: a salesperson logging an activity types a common part
of a name into the contact picker, whose list shows its first twenty matches and says
there are more (crm/templates/crm/link_picker.html); Receivables search among the
billing contacts they filtered, and filter what they searched
(crm/templates/crm/list.html)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from crm.models import RelationshipRole
from tests.factories import make_contact, make_organisation
from tests.test_browser import sign_in

pytestmark = pytest.mark.browser


def test_the_contact_picker_says_when_it_shows_only_the_first_matches(page: Page, session,
                                                                      screenshot_dir):
    for n in range(21):
        make_contact(session, first_name="Outi", last_name=f"Monilainen{n:02d}")
    session.commit()

    sign_in(page, "sales")
    page.goto("/lang/fi")
    page.goto("/activityview/add")
    page.locator("select#contact + .select2 .select2-selection").focus()
    page.keyboard.type("monilai")
    options = page.locator(".select2-results__option")
    expect(options.first).to_contain_text("Outi Monilainen00")
    # Twenty matches, then the note (select2 hid it while its id was the placeholder's).
    expect(options).to_have_count(21)
    note = options.last
    expect(note).to_have_text("Vain 20 ensimmäistä osumaa näytetään: tarkenna hakua "
                              "kirjoittamalla lisää.")
    expect(note).to_have_attribute("aria-disabled", "true")
    page.screenshot(path=str(screenshot_dir / "picker-first-twenty.png"), full_page=True)
    # Typing more narrows the list down, and the note goes.
    page.keyboard.type("nen07")
    expect(options).to_have_count(1)
    expect(options.first).to_contain_text("Outi Monilainen07")


def test_receivables_search_among_the_billing_contacts_they_filtered(page: Page, session,
                                                                     screenshot_dir):
    star = make_organisation(session, name="Tähtitekniikka Oy")
    make_contact(session, first_name="Laura", last_name="Laskuttaja", organisation=star,
                 relationship_role=RelationshipRole.billing)
    make_contact(session, first_name="Timo", last_name="Laskuttaja", organisation=star,
                 relationship_role=RelationshipRole.technical)
    make_contact(session, first_name="Lasse", last_name="Laskuttaja",
                 relationship_role=RelationshipRole.billing)
    session.commit()

    sign_in(page, "ar")
    page.goto("/lang/fi")
    page.goto("/contactview/list/")
    page.get_by_text("Suodattimet").click()
    page.get_by_text("Lisää suodatin").click()
    page.locator("#filter_form .dropdown-menu a", has_text="Rooli asiakassuhteessa").click()
    page.select_option("select#relationship_role", label="Laskutuksen yhteyshenkilö")
    page.locator("#apply-filters").click()
    page.wait_for_load_state()
    rows = page.locator("table tbody tr:has(a[href*='/contactview/show/'])")
    expect(rows).to_have_count(2)
    # A part of the organisation's name, typed into the search box: within the filter.
    page.fill("input#q", "tekniikka")
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Laura")
    expect(page.locator("select#relationship_role")).to_have_value("billing")
    page.screenshot(path=str(screenshot_dir / "search-within-filter.png"), full_page=True)
    # The filter changed: the text searched stays.
    page.locator("#filter_form .remove-filter").first.click()
    page.locator("#apply-filters").click()
    page.wait_for_load_state()
    expect(page.locator("input#q")).to_have_value("tekniikka")
    expect(rows).to_have_count(2)  # Laura and Timo, at Tähtitekniikka
    # Clearing the box leaves the filters as they are (none now): everyone.
    page.get_by_role("link", name="Tyhjennä").click()
    page.wait_for_load_state()
    expect(rows).to_have_count(3)
