"""A business ID copied from an invoice, as its VAT number, is typed into a real browser.

The field takes the VAT number with spaces around ("FI 0737546-2 ") whole, though the
business ID is stored in nine characters: the browser must not cut it short.
"""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from crm.models import Organisation
from tests.test_browser import sign_in

pytestmark = pytest.mark.browser

NAME = "Laskukopio Oy"


@pytest.mark.parametrize("typed", [" FI 07375462 ", "FI 0737546 - 2"])
def test_sales_types_a_vat_number_and_the_business_id_is_stored(page: Page, session, typed):
    sign_in(page, "sales")
    page.goto("/organisationview/add")
    form = page.locator("form#model_form")
    form.locator("input#name").fill(NAME)
    # Typed key by key, as a person types or pastes: the browser applies maxlength.
    form.locator("input#business_id").press_sequentially(typed)
    expect(form.locator("input#business_id")).to_have_value(typed)
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()

    expect(page).not_to_have_url(re.compile(r"/organisationview/add"))
    expect(page.get_by_text("0737546-2")).to_have_count(1)
    session.expire_all()
    assert session.scalars(sa.select(Organisation.business_id).where(
        Organisation.name == NAME)).all() == ["0737546-2"]


def test_a_vat_number_with_a_wrong_check_digit_is_refused_beside_the_field(page: Page,
                                                                           session):
    sign_in(page, "sales")
    page.goto("/lang/en")
    page.goto("/organisationview/add")
    form = page.locator("form#model_form")
    form.locator("input#name").fill(NAME)
    form.locator("input#business_id").press_sequentially("FI07375463")
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()

    expect(page).to_have_url(re.compile(r"/organisationview/add"))
    error = page.locator("form#model_form td:has(> input#business_id) .alert-danger")
    expect(error).to_have_text("The business ID's check digit is wrong.")
    expect(page.locator("input#business_id")).to_have_value("FI07375463")
    session.expire_all()
    assert session.scalar(sa.select(sa.func.count()).select_from(Organisation)) == 0
