"""The contact form refuses a person the register must not take back by hand (DESIGN §9.3,
§11): an address or number on the suppression list, unless the person gave it again
themselves, and an email address another contact already has.

Each refusal is a message beside its field, the input kept and nothing stored; the
confirmation of a suppressed address given again is in the audit trail, without it.
"""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from crm.extensions import db
from crm.models import AuditEvent, Contact
from crm.models.base import utcnow
from crm.privacy.suppression import is_suppressed, suppress
from tests.conftest import csrf_token
from tests.factories import make_contact
from tests.test_contact_forms import all_errors, contact_form, count, field_errors, form_data

ADD = "/contactview/add"
ERASED_EMAIL = "poistettu.henkilo@esimerkki.fi"
ERASED_PHONE = "+358401234567"
SUPPRESSED_EMAIL = ("This address is on the suppression list (erased or opted out). Save it "
                    "only if the person has given it to us again themselves, and confirm "
                    "that below.")
SUPPRESSED_NUMBER = ("This number is on the suppression list (erased or opted out). Save it "
                     "only if the person has given it to us again themselves, and confirm "
                     "that below.")
BOX = 'name="given_again"'


@pytest.fixture
def english(login_as):
    def make(username: str = "sales"):
        client = login_as(username)
        client.get("/lang/en")
        return client

    return make


@pytest.fixture
def sales(english):
    return english("sales")


@pytest.fixture
def erased(session):
    """An erased person's email and phone on the suppression list, as erasure leaves them."""
    suppress(session, "email", ERASED_EMAIL, "erasure")
    suppress(session, "phone", ERASED_PHONE, "erasure")
    session.commit()


def post(client, path: str = ADD, **fields):
    data = {**contact_form(**fields), "csrf_token": csrf_token(client, path)}
    return client.post(path, data=data)


def message_text(html: str, field: str) -> list[str]:
    """The messages beside `field` as read, links as their text."""
    return [re.sub(r"<[^>]+>", "", message) for message in field_errors(html, field)]


def _events(action: str) -> list[AuditEvent]:
    db.session.remove()
    return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)))


# -- the suppression list ------------------------------------------------------------


def test_the_form_has_no_confirmation_box_until_it_is_needed(sales):
    assert BOX not in sales.get(ADD).get_data(as_text=True)


@pytest.mark.parametrize(("field", "typed", "message"), [
    ("email", "Poistettu.Henkilo@Esimerkki.FI", SUPPRESSED_EMAIL),  # in any letter case
    ("alt_email", ERASED_EMAIL, SUPPRESSED_EMAIL),
    ("phone", "040 123 4567", SUPPRESSED_NUMBER),  # as typed, not as stored
    ("mobile", "+358 40 1234567", SUPPRESSED_NUMBER),
])
def test_a_suppressed_address_or_number_is_refused_beside_its_field(sales, erased, field,
                                                                    typed, message):
    response = post(sales, **{field: typed, **({} if field == "email" else {"email": ""})})
    assert response.status_code == 200  # the form again, not a redirect
    html = response.get_data(as_text=True)
    assert field_errors(html, field) == [message]
    assert all_errors(html) == [message]
    assert BOX in html  # now the box to confirm it is there
    kept = re.search(rf'<input[^>]*id="{field}"[^>]*value="([^"]*)"', html)
    assert kept and kept.group(1).lower().replace(" ", "") in (typed.lower(), ERASED_PHONE)
    assert count(Contact) == 0
    assert _events("confirm") == []


def test_the_refusal_says_nothing_of_the_person_and_keeps_the_input(sales, erased):
    html = post(sales, email=ERASED_EMAIL, first_name="Uusi").get_data(as_text=True)
    errors = " ".join(all_errors(html))
    for told in ("erasure", "poistettu", "Henkilo"):
        assert told not in errors
    assert 'value="Uusi"' in html and f'value="{ERASED_EMAIL}"' in html


def test_the_refusal_is_in_finnish_on_finnish_pages(login_as, erased):
    client = login_as("sales")  # Finnish by default
    html = post(client, email=ERASED_EMAIL).get_data(as_text=True)
    assert field_errors(html, "email") == [
        "Tämä osoite on estolistalla (tiedot poistettu tai henkilö on kieltäytynyt "
        "markkinoinnista). Tallenna se vain, jos henkilö on itse antanut sen meille "
        "uudelleen, ja vahvista se alempana."]
    assert "Henkilö antoi nämä tiedot meille itse uudelleen" in html  # the box's label


def test_a_confirmed_suppressed_address_is_saved_and_the_confirmation_audited(sales, erased):
    response = post(sales, email=ERASED_EMAIL, mobile="0401234567", given_again="y")
    assert response.status_code == 302, all_errors(response.get_data(as_text=True))
    assert count(Contact) == 1
    contact = db.session.scalars(sa.select(Contact)).one()
    assert (contact.email, contact.mobile) == (ERASED_EMAIL, ERASED_PHONE)
    [event] = _events("confirm")
    assert (event.actor, event.object_type, event.object_id) == ("sales", "Contact",
                                                                 str(contact.id))
    assert event.fields == ["email", "mobile"]
    [created] = _events("create")  # the save itself, naming the fields saved
    assert "email" in created.fields and "given_again" not in created.fields
    # Who confirmed what, never the values.
    stored = " ".join(str(v) for v in (event.detail, event.fields))
    assert "poistettu" not in stored.lower() and "358" not in stored
    # The person's own again: a purchased list or the audience sync no longer skips them.
    assert not is_suppressed(db.session, "email", ERASED_EMAIL)
    assert not is_suppressed(db.session, "phone", ERASED_PHONE)


def test_only_what_was_confirmed_leaves_the_suppression_list(sales, erased):
    response = post(sales, email=ERASED_EMAIL, given_again="y")
    assert response.status_code == 302, all_errors(response.get_data(as_text=True))
    db.session.remove()
    assert not is_suppressed(db.session, "email", ERASED_EMAIL)
    assert is_suppressed(db.session, "phone", ERASED_PHONE)


def test_a_refused_save_leaves_the_suppression_list_as_it_was(sales, erased, session):
    """The confirmation goes with the save: a contact refused for another field (here an
    email another contact has) takes nothing off the list."""
    make_contact(session, email="toinen@esimerkki.fi")
    session.commit()
    response = post(sales, email="toinen@esimerkki.fi", mobile=ERASED_PHONE, given_again="y")
    assert response.status_code == 200
    db.session.remove()
    assert is_suppressed(db.session, "phone", ERASED_PHONE)


def test_a_confirmation_without_anything_suppressed_is_not_audited(sales, erased):
    response = post(sales, email="aino.uusi@esimerkki.fi", given_again="y")
    assert response.status_code == 302, all_errors(response.get_data(as_text=True))
    assert _events("confirm") == []


def test_an_edit_to_a_suppressed_address_is_refused_and_changes_nothing(sales, erased, session):
    contact = make_contact(session, email="aino@esimerkki.fi")
    session.commit()
    path = f"/contactview/edit/{contact.id}"
    form = form_data(sales.get(path).get_data(as_text=True), alt_email=ERASED_EMAIL)
    html = sales.post(path, data=form).get_data(as_text=True)
    assert field_errors(html, "alt_email") == [SUPPRESSED_EMAIL]
    db.session.remove()
    assert db.session.get(Contact, contact.id).alt_email is None

    form = form_data(html, given_again="y")
    response = sales.post(path, data=form)
    assert response.status_code == 302, all_errors(response.get_data(as_text=True))
    db.session.remove()
    assert db.session.get(Contact, contact.id).alt_email == ERASED_EMAIL
    assert [e.fields for e in _events("confirm")] == [["alt_email"]]
    assert not is_suppressed(db.session, "email", ERASED_EMAIL)


def test_a_contact_who_opted_out_is_edited_without_a_confirmation(sales, session):
    """An objection suppresses a live contact's own addresses: they are not re-added."""
    contact = make_contact(session, email="kielto@esimerkki.fi", phone=ERASED_PHONE)
    suppress(session, "email", "kielto@esimerkki.fi", "opt_out")
    suppress(session, "phone", ERASED_PHONE, "opt_out")
    session.commit()
    path = f"/contactview/edit/{contact.id}"
    form = form_data(sales.get(path).get_data(as_text=True), title="CTO")
    response = sales.post(path, data=form)
    assert response.status_code == 302, all_errors(response.get_data(as_text=True))
    assert _events("confirm") == []
    assert is_suppressed(db.session, "email", "kielto@esimerkki.fi")  # still opted out


# -- an email address another contact has ------------------------------------------


@pytest.mark.parametrize(("theirs", "typed_as"), [
    ("email", "email"), ("alt_email", "email"), ("email", "alt_email"),
])
def test_an_email_another_contact_has_is_refused_with_a_link_to_them(sales, session, theirs,
                                                                     typed_as):
    other = make_contact(session, first_name="Eija", last_name="Esimerkki",
                         **{theirs: "Eija.Esimerkki@esimerkki.fi"})
    session.commit()
    response = post(sales, **{typed_as: "eija.esimerkki@ESIMERKKI.fi"},
                    **({} if typed_as == "email" else {"email": ""}))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert message_text(html, typed_as) == [
        "Eija Esimerkki already has this email address: edit that contact instead."]
    assert re.search(rf'<a href="/contactview/show/{other.id}" target="_blank" rel="noopener" '
                     r'title="Opens in a new tab">Eija Esimerkki</a>', html)
    assert count(Contact) == 1


def test_the_duplicate_message_is_finnish_on_finnish_pages(login_as, session):
    make_contact(session, first_name="Eija", last_name="Esimerkki", email="eija@esimerkki.fi")
    session.commit()
    html = post(login_as("sales"), email="eija@esimerkki.fi").get_data(as_text=True)
    assert message_text(html, "email") == [
        "Yhteyshenkilöllä Eija Esimerkki on jo tämä sähköpostiosoite: muokkaa mieluummin "
        "hänen tietojaan."]


def test_a_name_in_the_duplicate_message_is_text_not_markup(sales, session):
    make_contact(session, first_name="<b>Eija</b>", last_name="Esimerkki",
                 email="eija@esimerkki.fi")
    session.commit()
    html = post(sales, email="eija@esimerkki.fi").get_data(as_text=True)
    assert "<b>Eija</b>" not in html and "&lt;b&gt;Eija&lt;/b&gt;" in html


def test_an_anonymised_contacts_email_is_no_duplicate(sales, session):
    make_contact(session, email="vanha@esimerkki.fi", anonymised_at=utcnow())
    session.commit()
    response = post(sales, email="vanha@esimerkki.fi")
    assert response.status_code == 302, all_errors(response.get_data(as_text=True))


def test_an_edit_keeping_its_own_email_is_no_duplicate_but_taking_anothers_is(sales, session):
    make_contact(session, first_name="Eija", last_name="Esimerkki", email="eija@esimerkki.fi")
    mine = make_contact(session, email="aino@esimerkki.fi")
    session.commit()
    path = f"/contactview/edit/{mine.id}"
    form = form_data(sales.get(path).get_data(as_text=True), title="CTO")
    assert sales.post(path, data=form).status_code == 302

    form = form_data(sales.get(path).get_data(as_text=True), alt_email="EIJA@esimerkki.fi")
    html = sales.post(path, data=form).get_data(as_text=True)
    assert message_text(html, "alt_email") == [
        "Eija Esimerkki already has this email address: edit that contact instead."]
    db.session.remove()
    assert db.session.get(Contact, mine.id).alt_email is None


def test_the_duplicate_lookup_uses_the_email_indexes(session, is_postgres):
    """One index look-up per address, at a million contacts as at ten."""
    from crm.services.contacts import contact_with_email

    statements = []

    def keep(conn, cursor, statement, parameters, context, executemany):
        statements.append((statement, parameters))

    sa.event.listen(db.engine, "before_cursor_execute", keep)
    try:
        contact_with_email(session, "Eija@esimerkki.fi")
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", keep)
    connection = session.connection()
    if is_postgres:
        indexes = ("ix_contact_email_pattern", "ix_contact_alt_email_lower")
        # Among empty tables' indexes the planner's choice is a toss-up: leave it only
        # these (this transaction is rolled back) and see them used.
        connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
        for name in connection.exec_driver_sql(
                "SELECT indexname FROM pg_indexes WHERE tablename = 'contact' "
                "AND indexname NOT LIKE '%%\\_pkey'").scalars():
            if name not in indexes:
                connection.exec_driver_sql(f'DROP INDEX "{name}"')
        explain, plan = "EXPLAIN", (lambda row: row[0])
    else:
        explain, plan = "EXPLAIN QUERY PLAN", (lambda row: row[3])
        indexes = ("ix_contact_email_lower", "ix_contact_alt_email_lower")
    lookups = [(s, p) for s, p in statements if "min(contact.id)" in s]
    assert len(lookups) == 2
    for (statement, parameters), index in zip(lookups, indexes, strict=True):
        rows = connection.exec_driver_sql(f"{explain} {statement}", parameters).all()
        assert index in " ".join(plan(row) for row in rows), rows
    session.rollback()
