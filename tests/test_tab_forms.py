"""Forms opened from a tab of a contact's or an organisation's page (DESIGN §5).

The tab's add button opens the form with the record in the address
(`?_flt_0_contact=<id>`); FAB leaves the link's field off the form and links the
record on save. The form says whom the new record is for, and the server checks the
address's record as it checks one picked on the form (crm.views.related).
"""

from __future__ import annotations

import re
from html import unescape

import pytest
import sqlalchemy as sa

from crm.extensions import db
from crm.models import Activity, Consent, Contact, Identifier
from crm.models.base import utcnow
from tests.factories import make_activity, make_contact, make_organisation
from tests.test_contact_forms import all_errors, contact_form, form_data

LABELS = {"fi": {"contact": "Yhteyshenkilö", "organisation": "Organisaatio"},
          "en": {"contact": "Contact", "organisation": "Organisation"}}


def _client(login_as, user: str, locale: str = "en"):
    client = login_as(user)
    if locale != "fi":  # Finnish is the default
        assert client.get(f"/lang/{locale}").status_code == 302
    return client


def _preset(html: str) -> list[tuple[str, str]]:
    """Return the (label, text) lines above the form naming whom it is for."""
    block = re.search(r'<dl class="[^"]*crm-preset-links[^"]*">(.*?)</dl>', html, re.S)
    if not block:
        return []
    return [(" ".join(unescape(label).split()),
             " ".join(unescape(re.sub(r"<[^>]+>", " ", value)).split()))
            for label, value in re.findall(r"<dt>(.*?)</dt>\s*<dd>(.*?)</dd>", block.group(1),
                                           re.S)]


def _stored(model) -> list:
    db.session.remove()
    return list(db.session.scalars(sa.select(model)))


@pytest.fixture
def maija(session) -> Contact:
    organisation = make_organisation(session, name="Esimerkkitalo Oy")
    contact = make_contact(session, first_name="Maija", last_name="Esimerkki",
                           organisation=organisation)
    session.commit()
    return contact


@pytest.mark.parametrize("locale", ["fi", "en"])
def test_the_activity_form_of_a_contacts_tab_names_the_contact(login_as, maija, locale):
    page = _client(login_as, "sales", locale).get(f"/activityview/add?_flt_0_contact={maija.id}")
    assert page.status_code == 200
    assert _preset(page.get_data(as_text=True)) == [
        (LABELS[locale]["contact"], "Maija Esimerkki")]


def test_an_activity_added_on_a_contacts_tab_is_linked_to_the_contact(login_as, maija):
    client = _client(login_as, "sales")
    path = f"/activityview/add?_flt_0_contact={maija.id}"
    html = client.get(path).get_data(as_text=True)
    # As a browser sends the form: no contact field, the address names the contact.
    data = form_data(html, kind="call", subject="Tarjous", occurred_at="2026-11-01 10:00")
    assert "contact" not in data
    response = client.post(path, data=data)
    assert response.status_code == 302, all_errors(response.get_data(as_text=True))
    (activity,) = _stored(Activity)
    assert activity.contact_id == maija.id
    assert activity.organisation.name == "Esimerkkitalo Oy"


def test_the_activity_form_of_an_organisations_tab_names_the_organisation(login_as, maija):
    page = _client(login_as, "support", "fi").get(
        f"/activityview/add?_flt_0_organisation={maija.organisation_id}")
    assert _preset(page.get_data(as_text=True)) == [("Organisaatio", "Esimerkkitalo Oy")]


def test_an_activity_edited_from_a_contacts_tab_names_the_contact(session, login_as, maija):
    activity = make_activity(session, maija)
    session.commit()
    page = _client(login_as, "sales").get(
        f"/activityview/edit/{activity.id}?_flt_0_contact={maija.id}")
    assert _preset(page.get_data(as_text=True)) == [("Contact", "Maija Esimerkki")]


def test_a_form_opened_anywhere_else_names_no_one(login_as, maija):
    page = _client(login_as, "sales").get("/activityview/add")
    assert _preset(page.get_data(as_text=True)) == []


@pytest.mark.parametrize("address, message", [
    ("999999", "No record has this number."),
    ("abc", "Enter the record's number."),
    ("anonymised", "This contact has been anonymised: pick another one."),
])
def test_an_address_naming_no_contact_to_link_is_refused_and_says_why(session, login_as,
                                                                     address, message):
    if address == "anonymised":
        address = str(make_contact(session, anonymised_at=utcnow()).id)
        session.commit()
    client = _client(login_as, "sales")
    path = f"/activityview/add?_flt_0_contact={address}"
    shown = _preset(client.get(path).get_data(as_text=True))
    assert len(shown) == 1 and shown[0][0] == "Contact" and shown[0][1].endswith(message)

    data = form_data(client.get(path).get_data(as_text=True), kind="call", subject="Tarjous",
                     occurred_at="2026-11-01 10:00")
    response = client.post(path, data=data)
    assert response.status_code == 200
    assert message in all_errors(response.get_data(as_text=True))
    assert _stored(Activity) == []


def test_an_identifier_added_on_a_contacts_tab_is_saved_for_the_contact(login_as, maija):
    """The identifier's link to its contact is required: FAB's filled-in link had no
    value typed, and the form was refused as empty, with no message on the page."""
    client = _client(login_as, "sales")
    path = f"/identifierview/add?_flt_0_contact={maija.id}"
    html = client.get(path).get_data(as_text=True)
    assert _preset(html) == [("Contact", "Maija Esimerkki")]
    response = client.post(path, data=form_data(html, system="Asiakasportaali",
                                                identifier="maija.e"))
    assert response.status_code == 302, all_errors(response.get_data(as_text=True))
    assert [(i.contact_id, i.identifier) for i in _stored(Identifier)] == [(maija.id, "maija.e")]


def test_a_consent_added_on_a_contacts_tab_is_saved_for_the_contact(login_as, maija):
    client = _client(login_as, "marketing")
    path = f"/consentview/add?_flt_0_contact={maija.id}"
    html = client.get(path).get_data(as_text=True)
    assert _preset(html) == [("Contact", "Maija Esimerkki")]
    response = client.post(path, data=form_data(html, text_version="2026-01",
                                                given_at="2026-11-01 10:00",
                                                given_how="phone", evidence="Puhelu"))
    assert response.status_code == 302, all_errors(response.get_data(as_text=True))
    assert [c.contact_id for c in _stored(Consent)] == [maija.id]


def test_a_contact_added_on_an_organisations_tab_names_and_joins_it(session, login_as):
    organisation = make_organisation(session, name="Esimerkkitalo Oy")
    session.commit()
    client = _client(login_as, "sales")
    path = f"/contactview/add?_flt_0_organisation={organisation.id}"
    html = client.get(path).get_data(as_text=True)
    assert _preset(html) == [("Organisation", "Esimerkkitalo Oy")]
    data = {key: value for key, value in contact_form(first_name="Matti").items()
            if key != "organisation"}
    data["csrf_token"] = form_data(html)["csrf_token"]
    response = client.post(path, data=data)
    assert response.status_code == 302, all_errors(response.get_data(as_text=True))
    (contact,) = _stored(Contact)
    assert (contact.first_name, contact.organisation_id) == ("Matti", organisation.id)
