"""Linking a record to a contact or an organisation picked by name (crm.views.related).

The type-ahead list asks the related list's `lookup` (crm.views.search) for matches;
the form sends the record's number, which the server checks.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from html import unescape

import pytest
import sqlalchemy as sa
from flask_appbuilder.security.sqla.models import Role

from crm.extensions import db
from crm.models import Activity, Contact
from crm.security import roles
from crm.services.demo import DEMO_USERS
from crm.views import search
from tests.conftest import PASSWORD, csrf_token, field_errors, login
from tests.factories import make_activity, make_contact, make_organisation, purpose_ids

CONTACT_LOOKUP = "/contactview/lookup"
ORGANISATION_LOOKUP = "/organisationview/lookup"
#: Who may read contacts and organisations (DESIGN §6), written out apart from
#: crm.security.roles: everyone else is refused the lookup.
CONTACT_READERS = {"sales", "marketing", "comms", "ar", "support", "privacy", "dpo"}
ORGANISATION_READERS = {"sales", "marketing", "comms", "ar", "support", "privacy", "dpo"}


def lookup(client, path: str, text: str) -> dict:
    response = client.get(path, query_string={"q": text})
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert isinstance(body, dict), "a JSON object, never an array a script could read"
    return body


def names(body: dict) -> list[str]:
    return [row["text"] for row in body["results"]]


def field_cell(html: str, field_id: str) -> str:
    """Return the form's table cell holding the field `field_id`, as text."""
    return unescape(re.search(rf'<td[^>]*>((?:(?!</td>).)*id="{field_id}".*?)</td>', html,
                              re.S).group(1))


# -- the lookup ------------------------------------------------------------------------


def test_contacts_are_found_by_name_and_email_with_what_tells_them_apart(session, signed_in):
    organisation = make_organisation(session, name="Linkkitalo Oy")
    aino = make_contact(session, first_name="Aino", last_name="Linkkinen",
                        email="aino.l@linkkitalo.example", organisation=organisation)
    make_contact(session, first_name="Aino", last_name="Linkkinen",
                 email="aino@toinen.example")
    # Anonymised, yet still named so here: a match the lookup must leave out.
    gone = make_contact(session, first_name="Aino", last_name="Linkkinen",
                        email="poistettu@linkkitalo.example",
                        anonymised_at=datetime.now(UTC))
    make_contact(session, first_name="Eero", last_name="Muukalainen")
    session.commit()
    client = signed_in("sales")

    body = lookup(client, CONTACT_LOOKUP, "linkkin")
    assert names(body) == ["Aino Linkkinen", "Aino Linkkinen"]
    assert gone.id not in [row["id"] for row in body["results"]]
    first = next(row for row in body["results"] if row["id"] == aino.id)
    assert first["details"] == ["Linkkitalo Oy", "aino.l@linkkitalo.example"]
    assert body["more"] is False

    assert [row["id"] for row in lookup(client, CONTACT_LOOKUP, "aino.l@")["results"]] \
        == [aino.id]
    assert lookup(client, CONTACT_LOOKUP, "poistettu@")["results"] == []
    assert lookup(client, CONTACT_LOOKUP, "Aino Linkk")["results"]
    assert lookup(client, CONTACT_LOOKUP, "")["results"] == []


@pytest.mark.parametrize("common", [False, True], ids=["rare", "common"])
def test_the_lookup_offers_at_most_twenty_and_says_there_are_more(app, session, signed_in,
                                                                  monkeypatch, common):
    if common:
        # Past the count cap: the list's walk of its order index (crm.views.search).
        monkeypatch.setattr(search, "COMMON_AT", 2)
        monkeypatch.setitem(app.config, "CRM_LIST_COUNT_CAP", 5)
    made = [make_contact(session, first_name=f"Henkilö{n:02d}", last_name="Monilinkki").id
            for n in range(25)]
    make_contact(session, first_name="Poistettu", last_name="Monilinkki",
                 anonymised_at=datetime.now(UTC))
    session.commit()
    body = lookup(signed_in("support"), CONTACT_LOOKUP, "monilinkki")
    # The first twenty of the contacts list searched alike (by last name, then id).
    assert [row["id"] for row in body["results"]] == made[:20]
    assert body["more"] is True


def test_organisations_are_found_by_name_and_business_id(session, signed_in):
    found = make_organisation(session, name="Hakutalo Oy", visiting_city="Lahti")
    make_organisation(session, name="Muu Yhtiö Oy")
    session.commit()
    client = signed_in("ar")
    body = lookup(client, ORGANISATION_LOOKUP, "hakut")
    assert body["results"] == [{"id": found.id, "text": "Hakutalo Oy",
                                "details": [found.business_id, "Lahti"]}]
    assert [row["id"] for row in lookup(client, ORGANISATION_LOOKUP,
                                        found.business_id)["results"]] == [found.id]


@pytest.mark.parametrize("username", list(DEMO_USERS))
@pytest.mark.parametrize(("path", "readers"), [(CONTACT_LOOKUP, CONTACT_READERS),
                                               (ORGANISATION_LOOKUP, ORGANISATION_READERS)])
def test_only_roles_reading_the_records_may_look_them_up(session, login_as, username, path,
                                                         readers):
    make_contact(session, first_name="Salainen", last_name="Löydettävä",
                 organisation=make_organisation(session, name="Löydettävä Oy"))
    session.commit()
    response = login_as(username).get(path, query_string={"q": "Löydettävä"})
    if username in readers:
        assert response.status_code == 200
        assert response.get_json()["results"]
    else:
        assert response.status_code == 403
        assert "Löydettävä" not in response.get_data(as_text=True)


def test_who_is_not_signed_in_is_sent_to_sign_in(session, client):
    response = client.get(CONTACT_LOOKUP, query_string={"q": "abc"})
    assert response.status_code == 302 and "/login/" in response.location


# -- the form --------------------------------------------------------------------------

NEW_CONTACT = {"first_name": "Liisa", "last_name": "Linkitettävä", "country": "FI",
               "language": "fi", "legal_basis": "position", "marketing_status": "never"}


def test_a_picked_organisation_is_saved_and_shown_by_name_on_the_edit_form(session,
                                                                          signed_in):
    organisation = make_organisation(session, name="Valittava Oy")
    session.commit()
    client = signed_in("sales")
    form = client.get("/contactview/add").get_data(as_text=True)
    # The box the page turns into the list: where to look, in the page's language.
    options = json.loads(unescape(re.search(r'data-crm-picker="([^"]*)"', form).group(1)))
    assert options["url"] == ORGANISATION_LOOKUP
    assert options["placeholder"] == "Search by name or business ID"
    response = client.post("/contactview/add", data={
        **NEW_CONTACT, "organisation": str(organisation.id),
        "purposes": purpose_ids(session, "customer_relationship"),
        "csrf_token": csrf_token(client, "/contactview/add")})
    assert response.status_code == 302
    contact = db.session.scalar(sa.select(Contact).where(Contact.last_name == "Linkitettävä"))
    assert contact.organisation_id == organisation.id

    page = client.get(f"/contactview/edit/{contact.id}").get_data(as_text=True)
    cell = field_cell(page, "organisation")
    assert f'value="{organisation.id}"' in cell
    # By name beside the number (without JavaScript), and as the list's choice.
    assert 'class="help-block crm-related">Valittava Oy</span>' in cell
    options = json.loads(unescape(re.search(r'data-crm-picker="([^"]*)"', page).group(1)))
    assert options["text"] == "Valittava Oy"


@pytest.mark.parametrize(("value", "message"), [
    ("999999999", "No record has this number."),
    ("Valittava", "Enter the record's number."),
])
def test_a_bad_number_is_refused_beside_the_field(session, signed_in, value, message):
    client = signed_in("sales")
    response = client.post("/contactview/add", data={
        **NEW_CONTACT, "organisation": value,
        "purposes": purpose_ids(session, "customer_relationship"),
        "csrf_token": csrf_token(client, "/contactview/add")})
    assert response.status_code == 200
    assert field_errors(response.get_data(as_text=True), "organisation") == [message]
    assert db.session.scalar(sa.select(Contact).where(
        Contact.last_name == "Linkitettävä")) is None


def _add_activity(client, contact_id) -> str:
    response = client.post("/activityview/add", data={
        "contact": str(contact_id), "organisation": "", "kind": "call",
        "subject": "Linkkitesti", "occurred_at": "2026-01-02 12:00",
        "csrf_token": csrf_token(client, "/activityview/add")})
    return response.status_code, response.get_data(as_text=True)


def test_an_anonymised_contact_is_not_linked_anew(session, signed_in):
    gone = make_contact(session, anonymised_at=datetime.now(UTC))
    session.commit()
    status, page = _add_activity(signed_in("sales"), gone.id)
    assert status == 200
    assert field_errors(page, "contact") == [
        "This contact has been anonymised: pick another one."]
    assert db.session.scalar(sa.select(Activity).where(Activity.subject == "Linkkitesti")) \
        is None


def test_a_record_linked_before_its_contact_was_anonymised_is_read_only(session, signed_in):
    """Its link is kept, but nothing is written into it again (crm.services.anonymised;
    tests/test_anonymised_records.py tries every role and kind)."""
    contact = make_contact(session)
    activity = make_activity(session, contact)
    contact.anonymised_at = datetime.now(UTC)
    session.commit()
    client = signed_in("sales")
    path = f"/activityview/edit/{activity.id}"
    token = csrf_token(client, f"/activityview/show/{activity.id}")
    response = client.post(path, data={
        "contact": str(contact.id), "organisation": "", "kind": "call", "subject": "Muokattu",
        "occurred_at": "1.1.2026 12.00", "csrf_token": token})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/activityview/show/{activity.id}")
    db.session.expire_all()
    assert db.session.get(Activity, activity.id).subject == "Soitto"
    assert db.session.get(Activity, activity.id).contact_id == contact.id


@pytest.fixture
def activity_writer(app):
    """A user who may log activities but not read contacts (no role of §6 is so)."""
    sm = app.appbuilder.sm
    role = sm.add_role("LinkTestRole")
    for permission, resource in [(roles.READ, roles.ACTIVITY), (roles.ADD, roles.ACTIVITY),
                                 (roles.READ, roles.ORGANISATION)]:
        sm.add_permission_role(role, sm.find_permission_view_menu(permission, resource))
    sm.add_user("linktester", "Linkki", "Testaaja", "linktester@crm-demo.example", [role],
                password=PASSWORD, seeded=True)
    db.session.commit()
    client = login(app.test_client(), "linktester")
    client.get("/lang/en")
    yield client
    db.session.rollback()
    db.session.delete(sm.find_user(username="linktester"))
    db.session.execute(sa.delete(Role).where(Role.name == "LinkTestRole"))
    db.session.commit()


def test_a_link_to_records_the_user_may_not_read_is_refused(session, activity_writer):
    contact = make_contact(session)
    session.commit()
    form = activity_writer.get("/activityview/add").get_data(as_text=True)
    # No list of records the user may not read: the number box only.
    assert 'id="contact"' in form and "/contactview/lookup" not in form
    status, page = _add_activity(activity_writer, contact.id)
    assert status == 200
    assert field_errors(page, "contact") == [
        "Your role does not give access to records of this kind."]
    # Whether a number names a contact is not told either.
    status, page = _add_activity(activity_writer, 999999999)
    assert field_errors(page, "contact") == [
        "Your role does not give access to records of this kind."]


def test_the_fields_hint_says_to_type_the_beginning_as_the_lookup_reads_it(session,
                                                                           signed_in):
    organisation = make_organisation(session, name="Keskitekniikka Oy")
    make_contact(session, first_name="Vihje", last_name="Alkukirjain",
                 email="vihje.alkukirjain@keski.example", organisation=organisation)
    session.commit()
    client = signed_in("sales")
    form = client.get("/activityview/add").get_data(as_text=True)
    assert ("Type the beginning of the name or organisation, or the email address, and "
            "pick the contact from the list.") in field_cell(form, "contact")
    assert ("Type the beginning of the name, or the whole business ID, and pick the "
            "organisation from the list.") in field_cell(form, "organisation")
    # As the hints say: the beginning of a name or an organisation, an address, finds...
    for typed in ("alkuk", "vihje alk", "keskitek", "vihje.alkukirjain@keski.example"):
        assert names(lookup(client, CONTACT_LOOKUP, typed)) == ["Vihje Alkukirjain"], typed
    assert names(lookup(client, ORGANISATION_LOOKUP, "keskitek")) == ["Keskitekniikka Oy"]
    # ...a part from the middle only when nothing begins with it (crm.views.search), a
    # business ID only whole, not without its check digit.
    assert names(lookup(client, CONTACT_LOOKUP, "kirjain")) == ["Vihje Alkukirjain"]
    assert names(lookup(client, ORGANISATION_LOOKUP, "tekniikka")) == ["Keskitekniikka Oy"]
    assert names(lookup(client, ORGANISATION_LOOKUP, organisation.business_id[:7])) == []
