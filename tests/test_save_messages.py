"""The message after a save says what was saved, in the reader's language.

FAB's own said only "Tietue lisätty" / "Added Row" (CrmModelView.saved_message). The
record is named where the screens name it (a contact, an organisation), to whoever may
read its name; other records by their kind alone.
"""

from __future__ import annotations

import re
from html import unescape

import pytest
import sqlalchemy as sa

from crm.extensions import db
from crm.models import Activity, Contact, Identifier, Organisation, Recipient
from tests.conftest import csrf_token
from tests.factories import (
    make_contact,
    make_identifier,
    make_organisation,
    make_recipient,
)
from tests.test_contact_forms import STALE_MESSAGE, all_errors, contact_form, form_data
from tests.test_user_admin import _post_roles, _user

#: The Finnish and English messages, by (kind, what was done).
MESSAGES = {
    "fi": {"contact added": "Yhteyshenkilö lisätty: Maija Esimerkki",
           "contact saved": "Yhteyshenkilö tallennettu: Maija Esimerkki",
           "organisation added": "Organisaatio lisätty: Esimerkkitalo Oy",
           "organisation saved": "Organisaatio tallennettu: Esimerkkitalo Oy",
           "activity added": "Toimenpide lisätty",
           "activity saved": "Toimenpide tallennettu",
           "identifier deleted": "Tunniste poistettu",
           "recipient deleted": "Vastaanottaja tai käsittelijä poistettu: Pilvipalvelu Ab"},
    "en": {"contact added": "Contact added: Maija Esimerkki",
           "contact saved": "Contact saved: Maija Esimerkki",
           "organisation added": "Organisation added: Esimerkkitalo Oy",
           "organisation saved": "Organisation saved: Esimerkkitalo Oy",
           "activity added": "Activity added",
           "activity saved": "Activity saved",
           "identifier deleted": "Identifier deleted",
           "recipient deleted": "Recipient or processor deleted: Pilvipalvelu Ab"},
}
#: FAB's own messages, which no save shows any more.
GENERIC = ("Added Row", "Changed Row", "Deleted Row", "Tietue lisätty", "Tietue muutettu",
           "Tietue poistettu")


def _client(login_as, user: str, locale: str):
    client = login_as(user)
    if locale != "fi":  # Finnish is the default
        assert client.get(f"/lang/{locale}").status_code == 302
    return client


def _flashed(client, response) -> list[str]:
    """Return the success messages on the page a save led to."""
    assert response.status_code == 302, all_errors(response.get_data(as_text=True))
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert not any(generic in page for generic in GENERIC)
    return [" ".join(unescape(re.sub(r"<[^>]+>|&times;", "", m)).split())
            for m in re.findall(r'class="alert alert-success">(.*?)</div>', page, re.S)]


def _saved_form(client, path: str, **changes: str):
    """Post the form on `path` as the page fills it in, with `changes`."""
    page = client.get(path)
    assert page.status_code == 200
    return client.post(path, data=form_data(page.get_data(as_text=True), **changes))


def _stored(model) -> list:
    db.session.remove()
    return list(db.session.scalars(sa.select(model)))


@pytest.mark.parametrize("locale", ["fi", "en"])
def test_adding_and_editing_a_contact_names_the_contact(login_as, locale):
    client = _client(login_as, "sales", locale)
    data = {**contact_form(first_name="Maija", last_name="Esimerkki"),
            "csrf_token": csrf_token(client, "/contactview/add")}
    assert _flashed(client, client.post("/contactview/add", data=data)) == [
        MESSAGES[locale]["contact added"]]

    (contact,) = _stored(Contact)
    edited = _saved_form(client, f"/contactview/edit/{contact.id}", title="CTO")
    assert _flashed(client, edited) == [MESSAGES[locale]["contact saved"]]
    assert _stored(Contact)[0].title == "CTO"


@pytest.mark.parametrize("locale", ["fi", "en"])
def test_adding_and_editing_an_organisation_names_the_organisation(login_as, locale):
    client = _client(login_as, "sales", locale)
    data = {"name": "Esimerkkitalo Oy", "customer_status": "prospect",
            "csrf_token": csrf_token(client, "/organisationview/add")}
    assert _flashed(client, client.post("/organisationview/add", data=data)) == [
        MESSAGES[locale]["organisation added"]]

    (organisation,) = _stored(Organisation)
    edited = _saved_form(client, f"/organisationview/edit/{organisation.id}",
                         industry="Retail")
    assert _flashed(client, edited) == [MESSAGES[locale]["organisation saved"]]


def test_the_organisations_message_follows_its_saved_name(session, login_as):
    """The edit's message names the organisation as saved, not as it was."""
    organisation = make_organisation(session, name="Vanha Nimi Oy")
    session.commit()
    client = _client(login_as, "sales", "en")
    edited = _saved_form(client, f"/organisationview/edit/{organisation.id}",
                         name="Esimerkkitalo Oy")
    assert _flashed(client, edited) == [MESSAGES["en"]["organisation saved"]]


@pytest.mark.parametrize("locale", ["fi", "en"])
def test_adding_and_editing_an_activity_says_an_activity_was_saved(session, login_as, locale):
    contact = make_contact(session, first_name="Maija", last_name="Esimerkki")
    session.commit()
    client = _client(login_as, "sales", locale)
    path = f"/activityview/add?_flt_0_contact={contact.id}"
    added = _saved_form(client, path, kind="call", subject="Tarjous", occurred_at="1.11.2026 10.00"
                        if locale == "fi" else "2026-11-01 10:00")
    assert _flashed(client, added) == [MESSAGES[locale]["activity added"]]

    (activity,) = _stored(Activity)
    edited = _saved_form(client, f"/activityview/edit/{activity.id}", subject="Tilaus")
    assert _flashed(client, edited) == [MESSAGES[locale]["activity saved"]]
    assert _stored(Activity)[0].subject == "Tilaus"


@pytest.mark.parametrize("locale", ["fi", "en"])
def test_deleting_names_the_kind_and_a_recipients_name(session, login_as, locale):
    """No role deletes contacts, organisations or activities (DESIGN §6: erasure only);
    the privacy officer deletes identifiers and recipients. An identifier is personal
    data: the message does not repeat it."""
    identifier = make_identifier(session, make_contact(session), identifier="kirjautuja-77")
    recipient = make_recipient(session, name="Pilvipalvelu Ab")
    session.commit()
    client = _client(login_as, "privacy", locale)

    for path, message in [(f"/identifierview/delete/{identifier.id}", "identifier deleted"),
                          (f"/recipientview/delete/{recipient.id}", "recipient deleted")]:
        token = csrf_token(client, path.replace("/delete/", "/edit/"))
        client.get(path.split("delete/")[0] + "list/")  # deleted from the list
        response = client.post(path, data={"csrf_token": token})
        assert _flashed(client, response) == [MESSAGES[locale][message]]
    assert _stored(Identifier) == []
    assert "Pilvipalvelu Ab" not in [r.name for r in _stored(Recipient)]


def test_a_refused_save_keeps_its_own_message(session, login_as):
    """A save refused as stale says so, as before, and says nothing was saved."""
    contact = make_contact(session, first_name="Maija", last_name="Esimerkki")
    session.commit()
    client = _client(login_as, "sales", "en")
    path = f"/contactview/edit/{contact.id}"
    form = form_data(client.get(path).get_data(as_text=True), title="CTO")
    with db.engine.begin() as other:  # a colleague saves first
        other.execute(sa.update(Contact).values(title="CIO", version=Contact.version + 1))
    response = client.post(path, data=form)
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert STALE_MESSAGE in page
    assert "alert-success" not in page


@pytest.mark.parametrize("locale, message", [("fi", "Käyttäjätili tallennettu"),
                                             ("en", "User account saved")])
def test_saving_a_user_account_says_so(session, login_as, app, locale, message):
    """FAB's own user screen, where Admin changes another account's roles."""
    support = _user(session, "support")
    client = _client(login_as, "admin", locale)
    # Maintainer: a role an admin may grant by hand (personal-data roles come from the
    # identity provider's groups, crm.security.user_views).
    response = _post_roles(client, support, [app.appbuilder.sm.find_role("Maintainer").id])
    assert _flashed(client, response) == [message]
