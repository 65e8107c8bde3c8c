"""The quick search of a common value walks the list's order: the same rows, the same order."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from crm.extensions import db
from crm.models import Contact, Organisation
from crm.views import search
from crm.views.interface import sort_key
from tests.factories import make_contact, make_organisation

ORDERS = [("last_name", "asc"), ("last_name", "desc"), ("first_name", "asc"),
          ("first_name", "desc"), ("email", "asc"), ("last_activity_at", "desc")]


@pytest.fixture
def small_limits(app, monkeypatch):
    """A search matching over 5 contacts is past the count cap, over 2 common."""
    monkeypatch.setattr(search, "COMMON_AT", 2)
    app.config["CRM_LIST_COUNT_CAP"] = 5
    yield
    app.config.pop("CRM_LIST_COUNT_CAP")


@pytest.fixture
def register(session):
    """Contacts named every which way around "Virtanen", and a common organisation."""
    common = make_organisation(session, name="Virta Group Oy")
    other = make_organisation(session, name="Kallio Oy")
    when = datetime(2026, 1, 1, tzinfo=UTC)
    names = [("Aino", "Virtanen"), ("Eero", "VIRTANEN"), ("Ulla", "virtanen"),
             ("Olli", "vIrTaNeN3"), ("Virta", "Aaltonen"), ("Kalle", "Virtala"),
             ("Satu", "Virtanen"), ("Timo", "Aaltonen"), ("Noora", "Ojala"),
             ("Virpi", "Zetterberg"), ("Laura", "Virtanen-Laine"), ("Mikko", "Wirtanen")]
    for i, (first, last) in enumerate(names * 3):
        make_contact(session, first_name=first, last_name=last,
                     email=f"p{(i * 7) % 36}@firma.example",
                     last_activity_at=when.replace(day=1 + i % 28),
                     organisation=common if i % 5 == 0 else other)
    gone = make_contact(session, first_name="Aino", last_name="Virtanen")
    gone.anonymised_at = when
    session.commit()


def expected(session, q: str, order: tuple[str, str]) -> list[int]:
    """The plain query: every live contact the search matches, by the order and id."""
    def starts(column):
        return sa.func.lower(column).like(q.lower() + "%")

    column = sort_key(session, getattr(Contact, order[0]))  # as the list orders it
    sort = [column.asc(), Contact.id.asc()] if order[1] == "asc" else [column.desc(),
                                                                        Contact.id.desc()]
    named = sa.select(Organisation.id).where(starts(Organisation.name))
    return list(session.scalars(sa.select(Contact.id).where(
        Contact.anonymised_at.is_(None),
        starts(Contact.last_name) | starts(Contact.first_name)
        | Contact.organisation_id.in_(named)).order_by(*sort)))


def listed(client, q: str, order: tuple[str, str], page: int = 0) -> tuple[list[int], list[str]]:
    ran: list[str] = []

    def record(conn, cursor, statement, *args):
        ran.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        response = client.get("/contactview/list/", query_string={
            "q": q, "psize_ContactView": 4, "page_ContactView": page,
            "_oc_ContactView": order[0], "_od_ContactView": order[1]})
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
    assert response.status_code == 200
    ids = re.findall(r'href="/contactview/show/(\d+)', response.get_data(as_text=True))
    return list(dict.fromkeys(int(i) for i in ids)), ran


def walked(ran: list[str]) -> bool:
    """Whether the list read a page by walking its order from a bound key (on SQLite
    a name's lower(), written out: crm.views.keyset.past_key)."""
    return any(re.search(r"\(contact\.\w+, contact\.id\) [<>]=|"
                         r"lower\(contact\.\w+\) [<>]= '.*?' AND \(lower", s) for s in ran)


@pytest.mark.parametrize("codepoint", [True, False], ids=["code-point order", "other"])
@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("q", ["virtanen", "Virta", "vir"])
def test_a_common_value_lists_the_rows_of_the_plain_query(session, register, small_limits,
                                                          login_as, monkeypatch, q, order,
                                                          codepoint):
    # In a collation not by code point, the walk starts from the order's first match.
    monkeypatch.setattr(search, "_codepoint_order", lambda session: codepoint)
    client = login_as("sales")
    rows = expected(session, q, order)
    assert len(rows) > 5
    pages = []
    for page in range((len(rows) + 3) // 4):  # the pages that hold rows
        ids, ran = listed(client, q, order, page)
        pages += ids
        if order[0] in search.WALKED_ORDERS:
            assert walked(ran), order
    assert pages == rows


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("q", ["Virtanen-Laine", "zett", "wirtanen", "Virtala"])
def test_a_rare_value_lists_the_rows_of_the_plain_query(session, register, small_limits,
                                                        login_as, q, order):
    rows = expected(session, q, order)
    assert 0 < len(rows) <= 5
    ids, ran = listed(login_as("sales"), q, order)
    assert ids == rows[:4] and not walked(ran)


def test_without_small_limits_the_same_rows_come(session, register, login_as):
    client = login_as("sales")
    for q in ["virtanen", "vir"]:
        ids, ran = listed(client, q, ("last_name", "asc"))
        assert ids == expected(session, q, ("last_name", "asc"))[:4] and not walked(ran)


def test_digits_among_letters_are_a_name_not_a_phone_number(session, login_as):
    org = make_organisation(session, name="Bench Org 0037500 Oy")
    person = make_contact(session, last_name="Virtanen750000", organisation=org)
    other = make_contact(session, last_name="Virtanen750001", phone="+358750000")
    session.commit()
    client = login_as("sales")
    assert listed(client, "Virtanen750000", ("last_name", "asc"))[0] == [person.id]
    assert listed(client, "Bench Org 0037500", ("last_name", "asc"))[0] == [person.id]
    assert listed(client, "0750000", ("last_name", "asc"))[0] == [other.id]
