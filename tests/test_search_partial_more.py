"""The search box's partial matches look inside a contact's second email too, and fold
letters beyond ASCII on SQLite as PostgreSQL does ("äki" is in "MÄKINEN")
(crm.views.search)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from crm.extensions import db
from crm.views import search
from tests.factories import make_contact, make_organisation
from tests.test_search_partial import CONTACTS, HINT, ORGANISATIONS, listed, lookup


@pytest.fixture
def second_emails(session) -> dict:
    """A person known at a second address, and an anonymised one whose old second
    address is still there."""
    known = make_contact(session, first_name="Sointu", last_name="Kaarnakoski",
                         email="sointu@kallio.example",
                         alt_email="s.kaarnakoski@listayritys.example")
    make_contact(session, first_name="Vilja", last_name="Uurtamo", email=None,
                 alt_email="vilja.uurtamo@listayritys.example",
                 anonymised_at=datetime.now(UTC))
    make_contact(session, first_name="Ilman", last_name="Toista",
                 email="ilman@kallio.example")
    session.commit()
    return {"known": known.id}


def lookup_ids(client, q: str) -> list[int]:
    return [row["id"] for row in lookup(client, "/contactview/lookup", q)["results"]]


@pytest.mark.parametrize("q", ["listayritys", "LISTAYRITYS", "kaarnakoski@lista",
                               "@listayritys.example"])
def test_a_part_of_the_second_email_finds_its_live_contact(signed_in, second_emails, q):
    """Only the live contact, though the anonymised one's old address contains it too."""
    client = signed_in("sales")
    ids, html = listed(client, CONTACTS, q)
    assert ids == [second_emails["known"]]
    assert HINT.format(q) in html
    assert lookup_ids(client, q) == [second_emails["known"]]


def test_the_second_email_is_found_by_its_beginning_then_inside(signed_in, second_emails):
    client = signed_in("sales")
    ids, html = listed(client, CONTACTS, "s.kaarnakoski@")
    assert ids == [second_emails["known"]]
    assert "partial matches" not in html
    ids, html = listed(client, CONTACTS, "kaarnakoski@")  # not its beginning
    assert ids == [second_emails["known"]]
    assert "partial matches" in html
    assert listed(client, CONTACTS, "vilja.uurtamo@")[0] == []


def test_postgresql_looks_inside_second_emails_through_their_index(session, is_postgres,
                                                                  second_emails):
    if not is_postgres:
        pytest.skip("SQLite has no trigram index: it reads the table")
    # As at scale: the table is not read whole, nor another index of second emails.
    session.execute(sa.text(
        "INSERT INTO contact (first_name, last_name, alt_email, country, language, "
        "legal_basis, source_id, marketing_status, legal_hold, created_at, updated_at, "
        "version) SELECT 'Testi', 'Henkilö' || n, 'h' || n || '@firma.example', country, "
        "language, legal_basis, source_id, marketing_status, false, now(), now(), 1 "
        "FROM contact, generate_series(1, 20000) AS n WHERE contact.id = :known"),
        {"known": second_emails["known"]})
    # As (auto)vacuum would: rows still in a GIN index's pending list make it look dear.
    session.execute(sa.text("SELECT gin_clean_pending_list('ix_contact_alt_email_trgm')"))
    session.execute(sa.text("ANALYZE contact"))
    session.execute(sa.text("SET LOCAL enable_seqscan = off"))
    session.execute(sa.text("SET LOCAL enable_indexscan = off"))
    ran = []

    def record(conn, cursor, statement, parameters, *args):
        ran.append((statement, parameters))

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        ids, _cut = search._some_ids(session,
                                     search.ContactPartialSearch.selects("listayritys"))
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
    assert ids == [second_emails["known"]]
    statement, parameters = next(r for r in ran if "alt_email" in r[0])
    plan = " ".join(session.connection().exec_driver_sql(f"EXPLAIN {statement}",
                                                         parameters).scalars())
    assert "ix_contact_alt_email_trgm" in plan, plan
    session.rollback()


@pytest.mark.parametrize(("q", "last_name"), [
    ("äki", "MÄKINEN"),
    ("ÄKI", "Mäkinen"),
    ("ÖRN", "Pöröörnen"),
    ("öörn", "PÖRÖÖRNEN"),
    ("ÜDERLÉ", "Brüderlé"),
    ("ivåg", "STRIVÅGEN"),
    ("akal", "TA\u212aALAINEN"),  # a Kelvin sign, whose lower() is "k"
])
def test_letters_beyond_ascii_are_found_in_either_case_inside_a_word(signed_in, session,
                                                                     q, last_name):
    """As PostgreSQL's ILIKE in a UTF-8 locale does, SQLite too."""
    contact = make_contact(session, first_name="Testi", last_name=last_name)
    make_contact(session, first_name="Testi", last_name="Makinen")  # no "ä" in it
    session.commit()
    client = signed_in("sales")
    ids, html = listed(client, CONTACTS, q)
    assert ids == [contact.id]
    assert HINT.format(q) in html
    assert lookup_ids(client, q) == [contact.id]


def test_an_organisation_is_found_by_letters_beyond_ascii_in_either_case(signed_in, session):
    organisation = make_organisation(session, name="BERGÅKERN AB")
    person = make_contact(session, organisation=organisation)
    session.commit()
    client = signed_in("sales")
    assert listed(client, ORGANISATIONS, "gåker")[0] == [organisation.id]
    assert listed(client, CONTACTS, "gåker")[0] == [person.id]
