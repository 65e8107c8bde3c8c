"""A save the database would refuse is refused plainly (DESIGN §11): a value another record
already has is named beside its field, and whatever the database still refuses shows a
plain message, keeps the form as it was sent, saves nothing and logs no value.

FAB logged the database's DETAIL line ("Key (system, identifier)=(Portal, ...) already
exists.") and flashed the driver's message with the SQL statement on the add form.
"""

from __future__ import annotations

import logging
import re
from html import unescape

import pytest
import sqlalchemy as sa

from crm.extensions import db
from crm.models import Contact, Identifier, Organisation, Recipient, RetentionPolicy
from crm.views.save_refusals import UniqueValues
from tests.conftest import csrf_token
from tests.factories import make_contact, make_identifier, make_organisation, make_recipient
from tests.test_contact_forms import all_errors, field_errors, form_data

SYSTEM, LOGIN = "Portal", "someone.login@portal.example"
#: What the driver's message and FAB's log said, none of which may reach the page.
SQL_WORDS = ("INSERT", "UPDATE", "DELETE FROM", "IntegrityError", "UniqueViolation",
             "[SQL", "Database Error", "Tietokantavirhe")
MESSAGES = {
    "en": {"taken": "Identifier is already in use in another record with the same system.",
           "conflict": "Not saved: the data conflicts with another record.",
           "in_use": "Not deleted: other records still refer to this record."},
    "fi": {"taken": "Tunniste on jo käytössä toisessa tietueessa, jolla on sama järjestelmä.",
           "conflict": "Tallennus ei onnistunut: tieto on ristiriidassa toisen tietueen "
                       "kanssa.",
           "in_use": "Poisto ei onnistunut: muut tiedot viittaavat yhä tähän tietueeseen."},
}


def _client(login_as, user: str, locale: str):
    client = login_as(user)
    if locale != "fi":
        client.get(f"/lang/{locale}")
    return client


def _identifiers() -> list[tuple[int, str, str]]:
    db.session.remove()
    return sorted((i.contact_id, i.system, i.identifier)
                  for i in db.session.scalars(sa.select(Identifier)))


def _messages(html: str) -> list[str]:
    """Return the flashed messages on a page."""
    return [" ".join(unescape(re.sub(r"<[^>]+>|&times;", "", m)).split())
            for m in re.findall(r'class="alert alert-(?:danger|info|message|success)">'
                                r'(.*?)</div>', html, re.S)]


def _no_values_logged(caplog, *values: str) -> None:
    for value in values:
        assert value not in caplog.text
    for record in caplog.records:
        assert not record.exc_info, "a traceback would quote the database's message"


def _posted_value(html: str, field: str) -> str:
    match = re.search(rf'<input[^>]*\bid="{field}"[^>]*>', html)
    assert match, f"no field {field} on the page"
    value = re.search(r'\bvalue="([^"]*)"', match.group(0))
    return unescape(value.group(1)) if value else ""


@pytest.fixture
def two_contacts(session):
    first, second = make_contact(session), make_contact(session)
    make_identifier(session, first, system=SYSTEM, identifier=LOGIN)
    session.commit()
    return first.id, second.id


def _add_identifier(client, contact_id: int, system: str = SYSTEM, identifier: str = LOGIN):
    path = f"/identifierview/add?_flt_0_contact={contact_id}"
    return client.post(path, data={"system": system, "identifier": identifier,
                                   "csrf_token": csrf_token(client, path)})


# -- the form names the field -------------------------------------------------------


@pytest.mark.parametrize("locale", ["en", "fi"])
def test_an_identifier_already_recorded_is_refused_beside_its_field(login_as, two_contacts,
                                                                   caplog, locale):
    first, second = two_contacts
    client = _client(login_as, "sales", locale)
    with caplog.at_level(logging.INFO):
        response = _add_identifier(client, second)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert field_errors(html, "identifier") == [MESSAGES[locale]["taken"]]
    assert _posted_value(html, "identifier") == LOGIN
    assert not any(word in html for word in SQL_WORDS)
    assert _identifiers() == [(first, SYSTEM, LOGIN)]
    _no_values_logged(caplog, LOGIN)
    # The same identifier in another system is another person's login: saved.
    assert _add_identifier(client, second, system="Webshop").status_code == 302
    assert len(_identifiers()) == 2


def test_an_identifier_edited_into_one_already_recorded_is_refused(signed_in, session,
                                                                   two_contacts, caplog):
    first, second = two_contacts
    other = make_identifier(session, db.session.get(Contact, second),
                            system=SYSTEM, identifier="another.login@portal.example")
    session.commit()
    client = signed_in("sales")
    path = f"/identifierview/edit/{other.id}"
    page = client.get(path).get_data(as_text=True)
    with caplog.at_level(logging.INFO):
        response = client.post(path, data=form_data(page, identifier=LOGIN))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert field_errors(html, "identifier") == [MESSAGES["en"]["taken"]]
    assert (second, SYSTEM, "another.login@portal.example") in _identifiers()
    _no_values_logged(caplog, LOGIN)
    # Saving the record unchanged is no clash with itself.
    page = client.get(path).get_data(as_text=True)
    assert client.post(path, data=form_data(page)).status_code == 302


@pytest.mark.parametrize(("user", "path", "field", "message", "make"), [
    ("privacy", "/recipientview/add", "name", "Name is already in use in another record.",
     lambda s: ({"name": make_recipient(s).name, "role": "processor", "country": "SE",
                 "purpose": "Hosting", "transfer_safeguard": "within_eea"}, Recipient)),
    ("privacy", "/retentionpolicyview/add", "code", "Code is already in use in another record.",
     lambda s: ({"code": s.scalars(sa.select(RetentionPolicy.code)).first(),
                 "name": "Copy", "record_kind": "contact", "clock_start": "last_activity",
                 "period_days": "30", "action": "anonymise"}, RetentionPolicy)),
    # Typed as people write it, compared as stored.
    ("sales", "/organisationview/add", "business_id",
     "Business ID is already in use in another record.",
     lambda s: ({"name": "Toinen Oy", "customer_status": "prospect",
                 "business_id": "FI " + make_organisation(s).business_id}, Organisation)),
])
def test_a_value_another_record_has_is_refused_beside_its_field(signed_in, session, caplog,
                                                                 user, path, field, message,
                                                                 make):
    values, model = make(session)
    session.commit()
    before = _count(model)
    client = signed_in(user)
    page = client.get(path).get_data(as_text=True)
    with caplog.at_level(logging.INFO):
        response = client.post(path, data=form_data(page, **values))
    html = response.get_data(as_text=True)
    assert response.status_code == 200, all_errors(html)
    assert message in field_errors(html, field)
    assert _count(model) == before
    assert not caplog.records or all(not r.exc_info for r in caplog.records)


def _count(model) -> int:
    db.session.remove()
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


# -- what the database still refuses -------------------------------------------------


@pytest.fixture
def form_check_missed(monkeypatch):
    """The form's check passes a value the database then refuses, as when two people
    save the same identifier at the same moment."""
    monkeypatch.setattr(UniqueValues, "__call__", lambda self, form, field: None)


@pytest.mark.parametrize("locale", ["en", "fi"])
def test_a_clash_the_database_finds_keeps_the_form_and_logs_no_value(
        login_as, two_contacts, form_check_missed, caplog, locale):
    first, second = two_contacts
    client = _client(login_as, "sales", locale)
    with caplog.at_level(logging.DEBUG):
        response = _add_identifier(client, second)
    html = response.get_data(as_text=True)
    # The form again, as it was sent, with a plain message and no SQL.
    assert response.status_code == 200
    assert _posted_value(html, "system") == SYSTEM
    assert _posted_value(html, "identifier") == LOGIN
    assert MESSAGES[locale]["conflict"] in " ".join(_messages(html))
    assert not any(word in html for word in SQL_WORDS)
    assert _identifiers() == [(first, SYSTEM, LOGIN)]
    _no_values_logged(caplog, LOGIN, SYSTEM)
    # What was refused, by the constraint's name (PostgreSQL) or columns (SQLite).
    [logged] = [r.getMessage() for r in caplog.records if "refused to add" in r.getMessage()]
    assert "Identifier" in logged
    assert ("uq_identifier_system" in logged
            or "identifier.system, identifier.identifier" in logged)
    # The form still works: another identifier is saved.
    assert _add_identifier(client, second, identifier="other@portal.example"
                           ).status_code == 302
    assert len(_identifiers()) == 2


def test_an_edit_the_database_refuses_keeps_the_form_and_changes_nothing(
        signed_in, session, two_contacts, form_check_missed, caplog):
    first, second = two_contacts
    contact = db.session.get(Contact, second)
    other = make_identifier(session, contact, system="Webshop", identifier="kept")
    session.commit()
    client = signed_in("sales")
    path = f"/identifierview/edit/{other.id}"
    page = client.get(path).get_data(as_text=True)
    with caplog.at_level(logging.DEBUG):
        response = client.post(path, data=form_data(page, system=SYSTEM, identifier=LOGIN))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert _posted_value(html, "system") == SYSTEM
    assert _posted_value(html, "identifier") == LOGIN
    assert MESSAGES["en"]["conflict"] in " ".join(_messages(html))
    assert not any(word in html for word in SQL_WORDS)
    assert _identifiers() == sorted([(first, SYSTEM, LOGIN), (second, "Webshop", "kept")])
    _no_values_logged(caplog, LOGIN, "kept")


@pytest.fixture
def identifier_kept_by_database(is_postgres):
    """A trigger refusing to delete an identifier, with the value in its message, as a
    database refuses a row another one still refers to."""
    if is_postgres:
        create = [
            "CREATE FUNCTION test_keep_identifier() RETURNS trigger AS $$ BEGIN "
            "RAISE EXCEPTION 'kept: %', OLD.identifier USING ERRCODE = 'foreign_key_violation';"
            " END $$ LANGUAGE plpgsql",
            "CREATE TRIGGER test_keep_identifier BEFORE DELETE ON identifier "
            "FOR EACH ROW EXECUTE FUNCTION test_keep_identifier()"]
        drop = ["DROP TRIGGER test_keep_identifier ON identifier",
                "DROP FUNCTION test_keep_identifier()"]
    else:
        create = ["CREATE TRIGGER test_keep_identifier BEFORE DELETE ON identifier "
                  f"BEGIN SELECT RAISE(ABORT, 'kept: {LOGIN}'); END"]
        drop = ["DROP TRIGGER test_keep_identifier"]
    with db.engine.begin() as connection:
        for statement in create:
            connection.execute(sa.text(statement))
    try:
        yield
    finally:
        db.session.rollback()
        with db.engine.begin() as connection:
            for statement in drop:
                connection.execute(sa.text(statement))


def test_a_delete_the_database_refuses_says_so_and_logs_no_value(
        signed_in, session, two_contacts, identifier_kept_by_database, caplog):
    first, _ = two_contacts
    identifier = session.scalar(sa.select(Identifier.id))
    client = signed_in("privacy")  # who deletes identifiers
    token = csrf_token(client, f"/identifierview/edit/{identifier}")
    with caplog.at_level(logging.DEBUG):
        response = client.post(f"/identifierview/delete/{identifier}",
                               data={"csrf_token": token}, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert MESSAGES["en"]["in_use"] in _messages(html)
    assert not any(word in html for word in SQL_WORDS)
    assert _identifiers() == [(first, SYSTEM, LOGIN)]
    _no_values_logged(caplog, LOGIN)
