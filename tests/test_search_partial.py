"""The search box finds by a part of a word when nothing begins with it: "tekniikka"
finds "Tähtitekniikka Oy", a domain finds its addresses, "rtanen" finds Virtanen. A text
something begins with finds just that, as before; fewer than three characters are not
looked for inside words (crm.views.search)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from crm.extensions import db
from crm.models import Contact, Organisation
from crm.views import search
from tests.factories import make_contact, make_organisation

CONTACTS = "/contactview/list/"
ORGANISATIONS = "/organisationview/list/"
HINT = "Nothing begins with “{}”: these are partial matches, which contain it further on."


@pytest.fixture
def register(session) -> dict:
    """People and organisations some words are in, but not at the beginning."""
    star = make_organisation(session, name="Tähtitekniikka Oy")
    other = make_organisation(session, name="Kallio Oy")
    people = {
        "aalto": make_contact(session, first_name="Aino", last_name="Aalto",
                              email="aino.aalto@kallio.example", organisation=star),
        "virtanen": make_contact(session, first_name="Ville", last_name="Virtanen",
                                 email="ville@listayritys.example", organisation=other),
        "kivirta": make_contact(session, first_name="Kaisa", last_name="Kivirta",
                                email="kaisa@kallio.example", organisation=other),
    }
    # Anonymised, yet still named so here: a match the search must leave out.
    make_contact(session, first_name="Veera", last_name="Virtanen",
                 email="veera@listayritys.example", organisation=star,
                 anonymised_at=datetime.now(UTC))
    session.commit()
    return {name: contact.id for name, contact in people.items()} | {"star": star.id}


def listed(client, path: str, q: str) -> tuple[list[int], str]:
    response = client.get(path, query_string={"q": q})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    ids = re.findall(r'href="/\w+view/show/(\d+)', html)
    return sorted(dict.fromkeys(int(i) for i in ids)), html


def lookup(client, path: str, q: str) -> dict:
    response = client.get(path, query_string={"q": q})
    assert response.status_code == 200
    return response.get_json()


@pytest.mark.parametrize(("q", "who"), [
    ("rtanen", ["virtanen"]),
    ("RTANEN", ["virtanen"]),
    ("tekniikka", ["aalto"]),  # the organisation's name
    ("listayritys", ["virtanen"]),  # a domain, no "@"
    ("@listayritys.example", ["virtanen"]),
    ("o.aal", ["aalto"]),  # inside an email
    ("ivirta", ["kivirta"]),
])
def test_a_part_of_a_word_finds_the_contact_when_nothing_begins_with_it(signed_in, register,
                                                                       q, who):
    ids, html = listed(signed_in("sales"), CONTACTS, q)
    assert ids == sorted(register[name] for name in who)
    assert HINT.format(q) in html


def test_what_begins_with_the_text_is_found_alone_without_the_hint(signed_in, register):
    client = signed_in("sales")
    ids, html = listed(client, CONTACTS, "virta")  # also inside "Kivirta"
    assert ids == [register["virtanen"]]
    assert "partial matches" not in html
    ids, html = listed(client, CONTACTS, "ivirta")
    assert ids == [register["kivirta"]]
    assert "partial matches" in html


def test_two_characters_or_a_phone_number_are_not_looked_for_inside_words(signed_in,
                                                                          register, session):
    client = signed_in("sales")
    assert listed(client, CONTACTS, "rta")[0] == sorted([register["kivirta"],
                                                         register["virtanen"]])
    ids, html = listed(client, CONTACTS, "rt")
    assert ids == []
    assert "partial matches" not in html
    assert lookup(client, "/contactview/lookup", "rt")["results"] == []
    # A phone number is matched whole, never inside an address or another number.
    billed = make_contact(session, email="tili0401234568@pankki.example",
                          phone="+358501234568")
    session.commit()
    assert listed(client, CONTACTS, "i040123")[0] == [billed.id]
    assert listed(client, CONTACTS, "0401234568")[0] == []
    assert listed(client, CONTACTS, "1234568")[0] == []


def test_an_anonymised_contact_is_never_found_by_a_part_of_a_word(signed_in, register):
    client = signed_in("sales")
    assert listed(client, CONTACTS, "rtanen")[0] == [register["virtanen"]]
    assert listed(client, CONTACTS, "eera@listayritys")[0] == []
    assert [row["id"] for row in lookup(client, "/contactview/lookup", "tanen")["results"]] \
        == [register["virtanen"]]


def test_the_hint_shows_the_typed_text_as_text(signed_in, session):
    contact = make_contact(session, last_name="Merkki<b>nen")
    session.commit()
    ids, html = listed(signed_in("sales"), CONTACTS, "i<b>n")
    assert ids == [contact.id]
    assert HINT.format("i&lt;b&gt;n") in html
    assert "i<b>n" not in html


def test_an_organisation_is_found_by_a_part_of_its_name(signed_in, register):
    client = signed_in("sales")
    ids, html = listed(client, ORGANISATIONS, "TEKNIIKKA")
    assert ids == [register["star"]]
    assert HINT.format("TEKNIIKKA") in html
    ids, html = listed(client, ORGANISATIONS, "tähti")
    assert ids == [register["star"]]
    assert "partial matches" not in html


@pytest.mark.parametrize("q", ["a_5", "50%"])
def test_percent_and_underscore_are_themselves(signed_in, session, q):
    literal = make_organisation(session, name="Kauppa_50% Oy")
    make_organisation(session, name="Kauppa150 Oy")  # "_" or "%" as a wildcard finds it
    session.commit()
    client = signed_in("sales")
    assert listed(client, ORGANISATIONS, q)[0] == [literal.id]
    assert [row["id"] for row in lookup(client, "/organisationview/lookup", q)["results"]] \
        == [literal.id]


def test_the_lookups_find_by_a_part_of_a_word(signed_in, register):
    client = signed_in("support")
    body = lookup(client, "/contactview/lookup", "tekniikka")
    assert [row["id"] for row in body["results"]] == [register["aalto"]]
    assert body["more"] is False
    body = lookup(client, "/organisationview/lookup", "tekniikka")
    assert [row["text"] for row in body["results"]] == ["Tähtitekniikka Oy"]
    # A role that may not read contacts is refused, partial matches or not.
    assert signed_in("admin").get("/contactview/lookup",
                                  query_string={"q": "tekniikka"}).status_code == 403


def test_a_common_part_is_bounded_and_the_list_says_so(signed_in, session, monkeypatch):
    monkeypatch.setattr(search, "PARTIAL_LIMIT", 3)
    for n in range(5):
        make_contact(session, first_name="Olli", last_name=f"Mäkinen{n}")
    session.commit()
    client = signed_in("sales")
    ids, html = listed(client, CONTACTS, "kinen")
    assert len(ids) == 3
    assert "Only 3 partial matches are shown: type more to narrow them down." in html
    body = lookup(client, "/contactview/lookup", "kinen")
    assert len(body["results"]) == 3


def test_postgresql_looks_inside_words_through_the_trigram_indexes(session, is_postgres):
    if not is_postgres:
        pytest.skip("SQLite has no trigram index: it reads the table")
    # As on a million rows: the table is not read whole, nor walked in another order.
    session.execute(sa.text("SET LOCAL enable_seqscan = off"))
    session.execute(sa.text("SET LOCAL enable_indexscan = off"))
    session.execute(sa.insert(Organisation).from_select(
        ["name", "customer_status", "legal_hold", "created_at", "updated_at", "version"],
        sa.select(sa.literal("Yhtiö ") + sa.cast(sa.column("n"), sa.String) + " Oy",
                  sa.literal("customer"), sa.false(), sa.func.now(), sa.func.now(),
                  sa.literal(1)).select_from(sa.func.generate_series(1, 20000).alias("n"))))
    session.execute(sa.text("ANALYZE organisation"))
    ran = []

    def record(conn, cursor, statement, parameters, *args):
        ran.append((statement, parameters))  # as the search sends it, pattern and all

    for column, index in [(Contact.last_name, "ix_contact_last_name_trgm"),
                          (Contact.first_name, "ix_contact_first_name_trgm"),
                          (Contact.email, "ix_contact_email_trgm"),
                          (Organisation.name, "ix_organisation_name_trgm")]:
        sa.event.listen(db.engine, "before_cursor_execute", record)
        try:
            session.execute(sa.select(column).where(search._contains(column, "50%_tekniikka")))
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", record)
        plan = " ".join(session.connection().exec_driver_sql(f"EXPLAIN {ran[-1][0]}",
                                                             ran[-1][1]).scalars())
        assert index in plan, plan
    session.rollback()


def test_a_partial_search_that_takes_too_long_gives_up_and_says_so(signed_in, register,
                                                                   is_postgres, monkeypatch):
    """A rare text whose trigrams are everywhere reads the whole table: the database stops
    it at the time limit (PostgreSQL's statement_timeout, SQLite's progress handler); the
    list stays usable and says what to do."""
    if is_postgres:
        slow = sa.select(sa.literal_column("id")).select_from(
            sa.text("(SELECT 1 AS id, pg_sleep(0.5)) AS slow"))
    else:  # counting to 30 million takes seconds
        slow = sa.select(sa.literal_column("n").label("id")).select_from(sa.text(
            "(WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c "
            "WHERE n < 30000000) SELECT n FROM c WHERE n < 0) AS slow"))
    monkeypatch.setattr(search.ContactPartialSearch, "selects", staticmethod(lambda text: [slow]))
    monkeypatch.setattr(search, "PARTIAL_TIMEOUT_MS", 50)
    client = signed_in("sales")
    ids, html = listed(client, CONTACTS, "rtanen")
    assert ids == []
    assert ("Nothing begins with “rtanen”, and looking for it inside words took too long: "
            "type more of it.") in html
    assert lookup(client, "/contactview/lookup", "rtanen")["results"] == []
    # The time limit was the search's alone.
    assert listed(client, CONTACTS, "virta")[0] == [register["virtanen"]]
