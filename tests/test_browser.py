"""A salesperson adds a contact in a real browser, fixes a bad phone number and finds it again.

Playwright drives Debian's Chromium (/usr/bin/chromium) against the app served by
`live_server`. Selectors use element ids and names, never label texts: the Finnish
translations change under these tests.
"""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from flask_babel import force_locale
from playwright.sync_api import Page, expect

from crm.models import Contact, MarketingStatus
from crm.services.validation import InvalidValue, normalise_phone
from tests.conftest import PASSWORD
from tests.factories import make_contact

pytestmark = pytest.mark.browser

FIRST, LAST = "Kaisa", "Selainkokeilu"
EMAIL = "kaisa.selainkokeilu@firma.example"
BAD_PHONE = "12345"
GOOD_PHONE, GOOD_PHONE_E164 = "050 000 1234", "+358500001234"


def sign_in(page: Page, username: str) -> None:
    page.goto("/login/")
    page.fill("input#username", username)
    page.fill("input#password", PASSWORD)
    page.click("form[name=login] [type=submit]")
    page.wait_for_load_state()
    # Signed in: the login form is gone and the user menu offers to sign out.
    expect(page.locator("input#password")).to_have_count(0)
    expect(page.locator('form[action="/logout/"]')).to_have_count(1)


def contacts_named(session, last_name: str) -> list[Contact]:
    """Read the contacts from the database as the live server left them."""
    session.expire_all()
    return list(session.scalars(sa.select(Contact).where(Contact.last_name == last_name)))


def phone_error_in_finnish(value: str) -> str:
    """The message the phone validator gives for `value`, in Finnish (or its fallback)."""
    with force_locale("fi"):
        try:
            normalise_phone(value)
        except InvalidValue as exc:
            return str(exc)
    raise AssertionError(f"{value!r} was expected to be an invalid phone number")


def search(page: Page, text: str) -> None:
    box = page.locator("form.crm-quick-search input[name=q]")
    box.fill(text)
    box.press("Enter")
    page.wait_for_load_state()
    expect(page.locator("form.crm-quick-search input[name=q]")).to_have_value(text)


def result_row(page: Page, contact_id: int):
    """The list row whose show link goes to the contact `contact_id`."""
    return page.locator("table.table-bordered tr").filter(
        has=page.locator(f'a[href="/contactview/show/{contact_id}"]'))


def test_sales_adds_contact_fixes_phone_and_finds_it(page: Page, session, screenshot_dir):
    other = make_contact(session, first_name="Otto", last_name="Muukalainen",
                         email="otto.muukalainen@toinen.example", phone="+358401112222")
    session.commit()  # the live server's requests use their own database session

    sign_in(page, "sales")

    # The UI speaks Finnish by default: the language menu shows the Finnish flag and
    # offers English as the other language.
    language_menu = page.locator(".navbar li.dropdown:has(a[href^='/lang/en?'])")
    expect(language_menu.locator("a.dropdown-toggle i.flag.fi")).to_have_count(1)
    expect(page.locator("a[href^='/lang/fi']")).to_have_count(0)

    # From the contact list to its add form.
    page.goto("/contactview/list/")
    page.click('a.btn[href^="/contactview/add"]')
    expect(page).to_have_url(re.compile(r"/contactview/add"))

    form = page.locator("form#model_form")
    form.locator("input#first_name").fill(FIRST)
    form.locator("input#last_name").fill(LAST)
    form.locator("input#email").fill(EMAIL)
    form.locator("input#phone").fill(BAD_PHONE)
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()

    # The form comes back with the error beside the phone field, and only there.
    expect(page).to_have_url(re.compile(r"/contactview/add"))
    phone_cell = page.locator("form#model_form td:has(> input#phone)")
    error = phone_cell.locator(".alert-danger")
    expect(error).to_be_visible()
    expect(error).to_have_text(phone_error_in_finnish(BAD_PHONE))
    expect(page.locator("form#model_form .alert-danger")).to_have_count(1)
    expect(page.locator("input#phone")).to_have_value(BAD_PHONE)
    expect(page.locator("input#last_name")).to_have_value(LAST)
    page.locator("input#phone").scroll_into_view_if_needed()
    page.screenshot(path=screenshot_dir / "contact-invalid-phone.png", full_page=True)
    assert contacts_named(session, LAST) == [], "a contact with an invalid phone was saved"

    # Corrected, it is saved, the phone in E.164 form.
    page.locator("input#phone").fill(GOOD_PHONE)
    page.locator("form#model_form button[type=submit]").click()
    page.wait_for_load_state()
    expect(page).not_to_have_url(re.compile(r"/contactview/add"))
    saved = contacts_named(session, LAST)
    assert len(saved) == 1, f"expected one saved contact, found {len(saved)}"
    contact = saved[0]
    assert (contact.first_name, contact.email, contact.phone) == (FIRST, EMAIL, GOOD_PHONE_E164)
    # Untouched, the marketing select keeps the model's default: never subscribed.
    assert contact.marketing_status is MarketingStatus.never

    # The quick search finds it by the phone as people write it, and by last name.
    page.goto("/contactview/list/")
    expect(result_row(page, other.id)).to_have_count(1)  # both listed before searching
    for text in (GOOD_PHONE, LAST):
        search(page, text)
        expect(result_row(page, contact.id)).to_have_count(1)
        expect(result_row(page, contact.id)).to_contain_text(LAST)
        expect(result_row(page, other.id)).to_have_count(0)
    expect(page.get_by_text("Muukalainen")).to_have_count(0)
    page.screenshot(path=screenshot_dir / "contact-found.png", full_page=True)


def test_sales_pages_through_the_contacts_with_next_and_previous(page: Page, session):
    made = [make_contact(session, last_name=f"Sivutus{n:02d}") for n in range(7)]
    session.commit()
    ids = [c.id for c in sorted(made, key=lambda c: c.last_name)]
    sign_in(page, "sales")
    page.goto("/contactview/list/?psize_ContactView=3&_flt_2_last_name=Sivutus")

    def listed() -> list[int]:
        links = page.locator('table.table-bordered a[href^="/contactview/show/"]')
        return [int(h.rsplit("/", 1)[1]) for h in
                dict.fromkeys(a.get_attribute("href") for a in links.all())]

    assert listed() == ids[:3]
    page.click("ul.pagination a[rel=next]")
    page.wait_for_load_state()
    expect(page).to_have_url(re.compile(r"seek_ContactView="))
    assert listed() == ids[3:6]
    expect(page.locator("ul.pagination li.active")).to_have_text("2")
    page.click("ul.pagination a[rel=next]")
    page.wait_for_load_state()
    assert listed() == ids[6:]
    page.click("ul.pagination a[rel=prev]")
    page.wait_for_load_state()
    assert listed() == ids[3:6]
