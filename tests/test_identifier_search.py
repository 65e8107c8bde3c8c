"""Support finds a customer by a login id in one of the company's systems (DESIGN §5
Identifier): the contact list's search box matches an identifier exactly, in any letter
case, through its index; only for whoever may read identifiers."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from crm.extensions import db
from crm.models import Contact
from crm.models.base import utcnow
from crm.security import roles
from crm.views import search
from tests.factories import make_contact, make_identifier

LIST = "/contactview/list/"


@pytest.fixture
def customer(session):
    """A customer's user with a login id, and others whose ids only resemble it."""
    found = make_contact(session, first_name="Aino", last_name="Asiakas")
    make_identifier(session, found, system="Customer portal", identifier="user00003")
    other = make_contact(session, first_name="Olli", last_name="Muu")
    make_identifier(session, other, system="Customer portal", identifier="user000031")
    make_identifier(session, other, system="Support desk", identifier="x-user00003")
    gone = make_contact(session, first_name="Poistettu", last_name="Henkilö",
                        anonymised_at=utcnow())
    make_identifier(session, gone, system="Support desk", identifier="USER00003")
    session.commit()
    return found.id


def found(client, q: str) -> list[int]:
    response = client.get(LIST, query_string={"q": q})
    assert response.status_code == 200
    ids = re.findall(r'href="/contactview/show/(\d+)', response.get_data(as_text=True))
    return list(dict.fromkeys(int(i) for i in ids))


@pytest.mark.parametrize("username", ["support", "sales", "privacy", "marketing"])
@pytest.mark.parametrize("q", ["user00003", "USER00003", " user00003 "])
def test_a_login_id_finds_its_contact_exactly(login_as, customer, username, q):
    assert found(login_as(username), q) == [customer]


def test_a_numeric_login_id_is_found_as_well_as_a_phone_number(login_as, session):
    contact = make_contact(session, phone="+358401234567")
    numbered = make_contact(session)
    make_identifier(session, numbered, system="Billing", identifier="0401234567")
    session.commit()
    assert sorted(found(login_as("support"), "0401234567")) == sorted([contact.id,
                                                                       numbered.id])


def test_a_login_id_with_an_at_sign_is_found(login_as, session):
    contact = make_contact(session, email="aino@firma.example")
    make_identifier(session, contact, system="SSO", identifier="a.asiakas@portal.example")
    session.commit()
    assert found(login_as("support"), "a.asiakas@portal.example") == [contact.id]


def test_a_role_that_may_not_read_contacts_finds_nothing(login_as, customer):
    response = login_as("admin").get(LIST, query_string={"q": "user00003"})
    assert response.status_code == 403
    assert "Asiakas" not in response.get_data(as_text=True)


def test_a_role_that_may_not_read_identifiers_finds_no_one_by_them(login_as, customer,
                                                                 monkeypatch):
    """Whoever reads contacts reads identifiers today (crm.security.roles); should that
    change, a login id must not tell them whose it is."""
    allowed = search.can
    monkeypatch.setattr(search, "can", lambda permission, resource: (
        resource != roles.IDENTIFIER and allowed(permission, resource)))
    assert found(login_as("support"), "user00003") == []


def test_the_identifier_look_up_uses_its_index(app, session, is_postgres, monkeypatch):
    """One look-up of lower(identifier), fast at a million contacts: never LIKE '%..%'."""
    monkeypatch.setattr(search, "can", lambda permission, resource: True)
    [condition] = search._by_identifier("User00003")
    statement = sa.select(Contact.id).where(condition).compile(
        db.engine, compile_kwargs={"literal_binds": True})
    assert "LIKE" not in str(statement).upper()
    if is_postgres:
        session.execute(sa.text("SET LOCAL enable_seqscan = off"))
        plan = " ".join(session.scalars(sa.text(f"EXPLAIN {statement}")))
    else:
        plan = " ".join(row[3] for row in session.execute(
            sa.text(f"EXPLAIN QUERY PLAN {statement}")))
    assert "ix_identifier_identifier_lower" in plan, plan
    session.rollback()


def _placeholder(client, path: str = LIST) -> str:
    client.get("/lang/en")
    html = client.get(path).get_data(as_text=True)
    return re.search(r'<input type="search"[^>]*placeholder="([^"]*)"', html).group(1)


def test_the_search_box_mentions_login_ids_to_whoever_may_search_by_them(login_as,
                                                                         monkeypatch):
    sales = login_as("sales")
    assert _placeholder(sales) == "Name, email, phone, organisation or login id"
    # An organisation is found by its name or business ID (tests/test_search_box.py).
    assert _placeholder(sales, "/organisationview/list/") == "Search by name or business ID"
    monkeypatch.setattr(search, "can", lambda permission, resource: (
        resource != roles.IDENTIFIER))
    assert _placeholder(sales) == "Name, email, phone or organisation"
