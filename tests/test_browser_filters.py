"""The filter panel's rows in a real browser: each box is named after its field, and a
filter's condition cannot be cleared to nothing (FAB's select2 would leave "Select a
State"), in the page's language.

Playwright drives Debian's Chromium against the app served by `live_server`.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.factories import make_consent, make_contact
from tests.test_browser import sign_in

pytestmark = pytest.mark.browser

#: language -> the words a user reads: the fields, "condition" and "value", two conditions.
WORDS = {
    "fi": {"marketing": "Markkinointi", "given": "Annettu", "condition": "ehto",
           "value": "arvo", "equal": "Yhtä kuin", "not_equal": "Eri kuin",
           "later": "Myöhemmin kuin"},
    "en": {"marketing": "Marketing", "given": "Given", "condition": "condition",
           "value": "value", "equal": "Equal to", "not_equal": "Not Equal to",
           "later": "Later than"},
}
#: FAB's and select2's own English, which no filter row may show in either language.
FAB_WORDS = ("Select a State", "Remove all items")


def open_filters(page: Page) -> None:
    page.locator("a.accordion-toggle").first.click()
    page.locator(".panel-collapse.in").first.wait_for()
    page.wait_for_function("() => !document.querySelector('.collapsing')")


def no_fab_words(page: Page) -> None:
    rows = page.locator("#filter_form table.filters")
    html = rows.inner_html()
    assert not any(word in html for word in FAB_WORDS), html


@pytest.mark.parametrize("lang", ["fi", "en"])
def test_a_filter_added_names_its_boxes_and_keeps_its_condition(page: Page, session, lang,
                                                                 screenshot_dir):
    words = WORDS[lang]
    make_contact(session, first_name="Suodatin", last_name="Tilaaja")
    session.commit()
    sign_in(page, "marketing")
    page.goto(f"/lang/{lang}")
    page.goto("/contactview/list/")
    open_filters(page)
    page.locator("#filter_form button.dropdown-toggle").click()
    page.locator("#filter_form a.filter[name=marketing_status]").click()

    condition = page.get_by_role("combobox", name=f"{words['marketing']}: {words['condition']}")
    value = page.get_by_role("combobox", name=f"{words['marketing']}: {words['value']}")
    expect(condition).to_have_count(1)
    expect(value).to_have_count(1)
    expect(value).to_have_id("marketing_status")
    expect(condition).to_have_text(words["equal"])
    # Nothing to clear the condition with, and none of FAB's English.
    expect(page.locator("#filter_form .select2-selection__clear")).to_have_count(0)
    no_fab_words(page)

    # The conditions are offered in the page's language; the one chosen is sent.
    condition.click()
    options = page.locator(".select2-container--open .select2-results__option")
    expect(options).to_have_text([words["equal"], words["not_equal"]])
    options.filter(has_text=words["not_equal"]).click()
    expect(condition).to_have_text(words["not_equal"])
    # Delete and Backspace on the condition do not empty it either.
    condition.focus()
    page.keyboard.press("Delete")
    page.keyboard.press("Backspace")
    expect(condition).to_have_text(words["not_equal"])
    page.screenshot(path=screenshot_dir / f"filter-row-names-{lang}.png", full_page=True)

    value.select_option("never")
    page.locator("#apply-filters").click()
    page.wait_for_load_state()
    expect(page).to_have_url(re.compile(r"_flt_1_marketing_status=never"))


@pytest.mark.parametrize("lang", ["fi", "en"])
def test_a_filter_applied_names_its_boxes_after_the_page_loads(page: Page, session, lang):
    words = WORDS[lang]
    make_consent(session, make_contact(session))
    session.commit()
    sign_in(page, "marketing")
    page.goto(f"/lang/{lang}")
    # "Given later than 1.1.2026", as a bookmark or the filter panel leaves it.
    page.goto("/consentview/list/?_flt_1_given_at=2026-01-01")
    condition = page.get_by_role("combobox", name=f"{words['given']}: {words['condition']}")
    expect(condition).to_have_text(words["later"])
    expect(page.get_by_role("textbox", name=f"{words['given']}: {words['value']}")).to_have_id(
        "given_at")
    expect(page.locator("#filter_form .select2-selection__clear")).to_have_count(0)
    no_fab_words(page)


@pytest.mark.parametrize("lang, source, our_own", [("fi", "Lähde", "Oma toimintamme"),
                                                   ("en", "Source", "Our own activity")])
def test_a_related_records_filter_names_its_value_and_keeps_a_record(page: Page, session, lang,
                                                                    source, our_own):
    """A source must be chosen: its box is not cleared to nothing, nor in FAB's English."""
    words = WORDS[lang]
    sign_in(page, "privacy")
    page.goto(f"/lang/{lang}")
    page.goto("/provenanceview/list/")
    open_filters(page)
    page.locator("#filter_form button.dropdown-toggle").click()
    page.locator("#filter_form a.filter[name=source]").click()
    expect(page.get_by_role("combobox", name=f"{source}: {words['condition']}")).to_have_count(1)
    value = page.get_by_role("combobox", name=f"{source}: {words['value']}")
    expect(value).to_have_text(our_own)
    expect(page.locator("#filter_form .select2-selection__clear")).to_have_count(0)
    no_fab_words(page)
    assert "Select Value" not in page.locator("#filter_form table.filters").inner_html()
