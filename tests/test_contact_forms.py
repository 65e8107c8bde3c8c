"""The contact and organisation forms as a salesperson uses them (DESIGN §2, §5, §11).

Bad input is shown next to its field and changes nothing; good input is stored
normalised; an edit made on a stale form is refused instead of overwriting
someone else's change.

FAB's add and edit views answer a form with errors by rendering it again (200)
and a saved form with a redirect (302); a refusal raised while saving is
flashed and followed by a redirect too.

Each request runs in its own app context (conftest's IsolatedClient); the
test's own session is closed before it reads what a request stored.
"""

from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from crm.extensions import db
from crm.models import Contact, Organisation, SourceKind
from tests.conftest import csrf_token
from tests.factories import make_contact, make_organisation, purpose_ids
from tests.health_examples import (
    HEALTH_NOTES,
    HEALTH_TITLES,
    OCCUPATION_TITLES,
    ORGANISATION_NAMES,
)

STALE_MESSAGE = "Someone else changed this record while you were editing it."
#: The field is named: FAB said "Already exists." (crm.views.save_refusals).
TAKEN_BUSINESS_ID = "Business ID is already in use in another record."


class _FormParser(HTMLParser):
    """Collect what a browser would submit from the page's form fields."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.fields: list[tuple[str, str]] = []
        self._select: str | None = None
        self._textarea: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        name = a.get("name")
        if tag == "input" and name:
            if a.get("type") in ("checkbox", "radio"):
                if "checked" in a:
                    self.fields.append((name, a.get("value") or "on"))
            elif a.get("type") not in ("submit", "button", "file"):
                self.fields.append((name, a.get("value") or ""))
        elif tag == "select":
            self._select = name
        elif tag == "option" and self._select and "selected" in a:
            self.fields.append((self._select, a.get("value") or ""))
        elif tag == "textarea" and name:
            self._textarea, self._text = name, []

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea" and self._textarea:
            text = "".join(self._text)
            # Browsers drop the one newline that follows <textarea>.
            text = text[2:] if text.startswith("\r\n") else text[1:] if text.startswith(
                "\n") else text
            self.fields.append((self._textarea, text))
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            self._text.append(data)


def form_data(html: str, **changes: str) -> MultiDict:
    parser = _FormParser()
    parser.feed(html)
    data = MultiDict(parser.fields)
    for name, value in changes.items():
        data.setlist(name, [value])
    return data


def field_errors(html: str, field: str) -> list[str]:
    """Return the error messages FAB shows in the table cell of `field`."""
    match = re.search(rf'<(?:input|select|textarea)[^>]*\bid="{field}"', html)
    assert match, f"no field {field} on the page"
    cell = html[match.start():html.index("</td>", match.start())]
    return [" ".join(unescape(m).split())
            for m in re.findall(r'class="alert alert-danger">(.*?)</div>', cell, re.S)]


def all_errors(html: str) -> list[str]:
    return [" ".join(unescape(m).split())
            for m in re.findall(r'class="alert alert-danger">(.*?)</div>', html, re.S)]


def _read_afresh() -> None:
    """Forget what the test's own session holds, so the next read sees the database."""
    db.session.remove()


def count(model) -> int:
    _read_afresh()
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


@pytest.fixture
def sales(signed_in):
    return signed_in("sales")


CONTACT = {"first_name": "Aino", "last_name": "Aaltonen", "country": "FI", "language": "fi",
           "legal_basis": "position", "marketing_status": "never",
           "email": "aino.aaltonen@esimerkki.fi"}


def contact_form(**fields) -> dict:
    """Return a valid new contact's form data (CONTACT, kept for a purpose), with `fields`."""
    return {**CONTACT, "purposes": purpose_ids(db.session, "customer_relationship"), **fields}


def post_contact(client, **fields):
    data = {**contact_form(**fields), "csrf_token": csrf_token(client, "/contactview/add")}
    return client.post("/contactview/add", data=data)


# -- adding a contact -----------------------------------------------------------


@pytest.mark.parametrize("field, value, message", [
    ("phone", "123", "This is not a valid phone number."),
    ("phone", "soita iltaisin", "This is not a phone number."),
    ("mobile", "+358 40", "This is not a valid phone number."),
    ("email", "aino@", "This is not a valid email address."),
    ("postal_code", "0010", "A Finnish postal code has five digits."),
])
def test_contact_with_bad_value_is_refused_next_to_its_field(sales, field, value, message):
    response = post_contact(sales, **{field: value})
    assert response.status_code == 200  # the form again, not a redirect
    html = response.get_data(as_text=True)
    assert field_errors(html, field) == [message]
    assert all_errors(html) == [message]
    assert f'value="{value}"' in html  # what was typed is kept for correcting
    assert count(Contact) == 0


@pytest.mark.parametrize("field, value, message", [
    ("notes", "Henkilötunnus 131052-308T, soita iltaisin", "henkilötunnus"),
    ("notes", "Maksoi kortilla 4111 1111 1111 1111", "payment card number"),
    ("relationship_notes", "Sairaslomalla toukokuuhun", "health"),
    ("title", "CIO (diagnosed with cancer)", "health"),
])
def test_contact_with_sensitive_data_is_refused(sales, field, value, message):
    response = post_contact(sales, **{field: value})
    assert response.status_code == 200
    errors = field_errors(response.get_data(as_text=True), field)
    assert len(errors) == 1 and message in errors[0]
    assert count(Contact) == 0


@pytest.mark.parametrize("title", OCCUPATION_TITLES)
def test_contact_whose_title_names_an_occupation_with_a_health_word_is_stored(sales, title):
    response = post_contact(sales, title=title)
    assert response.status_code == 302, all_errors(response.get_data(as_text=True))
    _read_afresh()
    assert db.session.scalars(sa.select(Contact.title)).one() == title


def test_contact_on_a_street_named_for_a_hospital_is_stored(sales):
    response = post_contact(sales, street_address="Sairaalakatu 3", city="Helsinki")
    assert response.status_code == 302, all_errors(response.get_data(as_text=True))
    _read_afresh()
    assert db.session.scalars(sa.select(Contact.street_address)).one() == "Sairaalakatu 3"


@pytest.mark.parametrize("title", HEALTH_TITLES)
def test_contact_whose_title_names_no_occupation_is_refused_for_its_health_word(sales, title):
    response = post_contact(sales, title=title)
    assert response.status_code == 200
    errors = field_errors(response.get_data(as_text=True), "title")
    assert errors == ["Mentions health information; the register must not hold any."]
    assert count(Contact) == 0


@pytest.mark.parametrize("notes", [*HEALTH_NOTES,
                                   "Diabeteshoitaja, hänellä on itsellään diabetes"])
def test_contact_notes_about_health_are_refused_whatever_the_title(sales, notes):
    response = post_contact(sales, title="Diabeteshoitaja", notes=notes)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert field_errors(html, "notes") == [
        "Mentions health information; the register must not hold any."]
    assert field_errors(html, "title") == []
    assert count(Contact) == 0


def test_valid_contact_is_stored_normalised(sales):
    response = post_contact(sales, phone="040 123 4567", mobile="+46 70 123 45 67",
                            email="Aino.Aaltonen@Esimerkki.FI", postal_code=" 00100",
                            notes="Tapasimme messuilla, kiinnostunut MFA:sta")
    assert response.status_code == 302, all_errors(response.get_data(as_text=True))
    _read_afresh()
    contact = db.session.scalars(sa.select(Contact)).one()
    assert (contact.first_name, contact.last_name) == ("Aino", "Aaltonen")
    assert contact.phone == "+358401234567"
    assert contact.mobile == "+46701234567"
    assert contact.email == "Aino.Aaltonen@esimerkki.fi"
    assert contact.postal_code == "00100"
    assert contact.source.kind is SourceKind.own_activity
    assert contact.version == 1


def test_contact_abroad_keeps_its_own_postal_code(sales):
    response = post_contact(sales, country="SE", postal_code="114 55", city="Stockholm",
                            phone="+46 8 123 456 78")
    assert response.status_code == 302, all_errors(response.get_data(as_text=True))
    _read_afresh()
    contact = db.session.scalars(sa.select(Contact)).one()
    assert (contact.country, contact.postal_code, contact.phone) == ("SE", "114 55",
                                                                     "+46812345678")


# -- adding an organisation -----------------------------------------------------


def post_organisation(client, **fields):
    data = {"name": "Esimerkkitalo Oy", "customer_status": "prospect", **fields,
            "csrf_token": csrf_token(client, "/organisationview/add")}
    return client.post("/organisationview/add", data=data)


@pytest.mark.parametrize("business_id, message", [
    ("0737546-3", "The business ID's check digit is wrong."),
    ("0000014-5", "This is not a valid business ID."),
    ("7375462", "Business ID must look like 1234567-8."),
    ("FI07375463", "The business ID's check digit is wrong."),
    ("07375463", "The business ID's check digit is wrong."),
])
def test_organisation_with_bad_business_id_is_refused(sales, business_id, message):
    response = post_organisation(sales, business_id=business_id)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert field_errors(html, "business_id") == [message]
    assert count(Organisation) == 0


@pytest.mark.parametrize("name", ORGANISATION_NAMES)
def test_organisation_named_with_a_health_word_is_stored_with_its_addresses(sales, name):
    response = post_organisation(sales, name=name, industry="Sairaalapalvelut",
                                 visiting_street="Sairaalakatu 3", visiting_postal_code="00100",
                                 visiting_city="Helsinki", invoicing_street=f"{name}, PL 10")
    assert response.status_code == 302, all_errors(response.get_data(as_text=True))
    _read_afresh()
    organisation = db.session.scalars(sa.select(Organisation)).one()
    assert (organisation.name, organisation.visiting_street) == (name, "Sairaalakatu 3")


@pytest.mark.parametrize("field, value, message", [
    ("relationship_notes", "Yhteyshenkilö oli sairaalassa viikon", "health"),
    ("relationship_notes", "Johtaja on masentunut", "health"),
    ("name", "Syöpäsäätiö 131052-308T", "henkilötunnus"),
    ("visiting_street", "Sairaalakatu 4111 1111 1111 1111", "payment card number"),
])
def test_organisation_with_sensitive_data_is_refused(sales, field, value, message):
    response = post_organisation(sales, **{"name": "Helsingin Sairaala Oy", field: value})
    assert response.status_code == 200
    errors = field_errors(response.get_data(as_text=True), field)
    assert len(errors) == 1 and message in errors[0]
    assert count(Organisation) == 0


def test_organisation_with_valid_business_id_is_stored(sales):
    response = post_organisation(sales, business_id="737546-2", visiting_postal_code="45100")
    assert response.status_code == 302, all_errors(response.get_data(as_text=True))
    _read_afresh()
    organisation = db.session.scalars(sa.select(Organisation)).one()
    assert organisation.business_id == "0737546-2"
    assert organisation.visiting_postal_code == "45100"


@pytest.mark.parametrize("typed", ["FI07375462", "07375462", " FI 0737546-2 "])
def test_organisation_with_a_business_id_copied_from_an_invoice_is_stored(sales, typed):
    # The field is long enough for it as typed; it is stored as NNNNNNN-C.
    html = sales.get("/organisationview/add").get_data(as_text=True)
    maxlength = re.search(r'<input[^>]*\bid="business_id"[^>]*\bmaxlength="(\d+)"', html)
    assert maxlength and int(maxlength.group(1)) >= len(typed)
    response = post_organisation(sales, business_id=typed)
    assert response.status_code == 302, all_errors(response.get_data(as_text=True))
    _read_afresh()
    organisation = db.session.scalars(sa.select(Organisation)).one()
    assert organisation.business_id == "0737546-2"


def test_organisation_with_a_business_id_already_in_the_register_is_refused(sales, session):
    make_organisation(session, name="Ensimmäinen Oy", business_id="0737546-2")
    session.commit()
    response = post_organisation(sales, business_id="737546-2")  # the same id, unpadded
    assert response.status_code == 200
    errors = field_errors(response.get_data(as_text=True), "business_id")
    assert errors and TAKEN_BUSINESS_ID in errors[0]
    response = post_organisation(sales, business_id="FI07375462")  # as its VAT number
    errors = field_errors(response.get_data(as_text=True), "business_id")
    assert errors and TAKEN_BUSINESS_ID in errors[0]
    assert count(Organisation) == 1


def test_duplicate_business_id_message_is_shown_once(sales, session):
    make_organisation(session, name="Ensimmäinen Oy", business_id="0737546-2")
    session.commit()
    response = post_organisation(sales, business_id="0737546-2")
    assert field_errors(response.get_data(as_text=True), "business_id") == [TAKEN_BUSINESS_ID]


# -- optimistic locking ---------------------------------------------------------


def _edit_form(client, path: str, **changes: str) -> MultiDict:
    response = client.get(path)
    assert response.status_code == 200
    return form_data(response.get_data(as_text=True), **changes)


def _change_elsewhere(model, pk: int, **values) -> None:
    """Change a row in another transaction, as a colleague's save would."""
    with Session(db.engine) as other:
        row = other.get(model, pk)
        for name, value in values.items():
            setattr(row, name, value)
        other.commit()


def _stored(model, pk: int):
    _read_afresh()
    return db.session.get(model, pk)


def _flashed(client, response) -> str:
    assert response.status_code == 302, all_errors(response.get_data(as_text=True))
    return client.get(response.headers["Location"]).get_data(as_text=True)


@pytest.fixture
def contact_id(session):
    contact = make_contact(session, first_name="Eero", last_name="Esimerkki", title="CIO")
    session.commit()
    return contact.id


@pytest.fixture
def organisation_id(session):
    organisation = make_organisation(session, name="Vanha Nimi Oy", industry="Retail")
    session.commit()
    return organisation.id


def test_contact_edit_on_stale_form_is_refused_and_keeps_the_other_change(sales, contact_id):
    path = f"/contactview/edit/{contact_id}"
    form = _edit_form(sales, path, title="CTO")
    assert form["version"] == "1"
    _change_elsewhere(Contact, contact_id, last_name="Järvinen")  # a colleague saves first

    page = _flashed(sales, sales.post(path, data=form))
    assert STALE_MESSAGE in page

    contact = _stored(Contact, contact_id)
    assert contact.last_name == "Järvinen"  # the colleague's change is not lost
    assert contact.title == "CIO"           # the stale form changed nothing
    assert contact.version == 2


def test_contact_edit_on_fresh_form_is_saved(sales, contact_id):
    _change_elsewhere(Contact, contact_id, last_name="Järvinen")
    path = f"/contactview/edit/{contact_id}"
    form = _edit_form(sales, path, title="CTO")
    assert (form["version"], form["last_name"]) == ("2", "Järvinen")

    page = _flashed(sales, sales.post(path, data=form))
    assert STALE_MESSAGE not in page
    contact = _stored(Contact, contact_id)
    assert (contact.last_name, contact.title, contact.version) == ("Järvinen", "CTO", 3)


def test_organisation_edit_on_stale_form_is_refused(sales, organisation_id):
    path = f"/organisationview/edit/{organisation_id}"
    form = _edit_form(sales, path, name="Lomakkeen Nimi Oy")
    _change_elsewhere(Organisation, organisation_id, name="Uusi Nimi Oy")

    assert STALE_MESSAGE in _flashed(sales, sales.post(path, data=form))
    organisation = _stored(Organisation, organisation_id)
    assert (organisation.name, organisation.version) == ("Uusi Nimi Oy", 2)


def test_organisation_edit_on_fresh_form_is_saved(sales, organisation_id):
    _change_elsewhere(Organisation, organisation_id, industry="Energy")
    path = f"/organisationview/edit/{organisation_id}"
    form = _edit_form(sales, path, name="Uusi Nimi Oy")
    assert form["version"] == "2"

    assert STALE_MESSAGE not in _flashed(sales, sales.post(path, data=form))
    organisation = _stored(Organisation, organisation_id)
    assert (organisation.name, organisation.industry, organisation.version) == (
        "Uusi Nimi Oy", "Energy", 3)


def test_two_people_editing_at_once_only_the_first_save_wins(sales, signed_in,
                                                             organisation_id):
    receivables = signed_in("ar")
    path = f"/organisationview/edit/{organisation_id}"
    form_sales = _edit_form(sales, path, name="Myynnin Nimi Oy")
    form_ar = _edit_form(receivables, path, invoicing_city="Lahti")

    assert STALE_MESSAGE not in _flashed(sales, sales.post(path, data=form_sales))
    assert STALE_MESSAGE in _flashed(receivables, receivables.post(path, data=form_ar))

    organisation = _stored(Organisation, organisation_id)
    assert (organisation.name, organisation.invoicing_city, organisation.version) == (
        "Myynnin Nimi Oy", "Kouvola", 2)


def test_legal_hold_box_left_unticked_saves_and_ticked_sets_the_hold(signed_in, session):
    privacy = signed_in("privacy")  # the privacy officer decides on legal holds
    contact = make_contact(session, title="CIO")
    session.commit()
    path = f"/contactview/edit/{contact.id}"
    page = privacy.get(path).get_data(as_text=True)
    assert 'name="legal_hold"' in page

    form = form_data(page, title="CTO")
    assert "legal_hold" not in form  # unticked boxes are not sent
    response = privacy.post(path, data=form)
    assert response.status_code == 302, all_errors(response.get_data(as_text=True))
    stored = _stored(Contact, contact.id)
    assert (stored.title, stored.legal_hold) == ("CTO", False)

    form = _edit_form(privacy, path)
    form.setlist("legal_hold", ["y"])
    assert privacy.post(path, data=form).status_code == 302
    assert _stored(Contact, contact.id).legal_hold is True
