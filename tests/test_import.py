"""Purchased-list import (DESIGN §9.4): every line checked, all or nothing, merged, provenance.

Line numbers in messages are the file's: the header is line 1.
"""

from __future__ import annotations

import random
from datetime import date

import pytest
import sqlalchemy as sa
from flask_babel import force_locale, format_date

from crm.models import (
    AuditEvent,
    Contact,
    LegalBasis,
    MarketingStatus,
    Organisation,
    Provenance,
    Source,
    SourceKind,
)
from crm.models.base import utcnow
from crm.privacy import guard
from crm.privacy.anonymise import anonymise_contact
from crm.privacy.guard import find_sensitive
from crm.privacy.suppression import suppress
from crm.services.demo import business_id
from crm.services.imports import ImportRefused, checks, import_list
from crm.services.requests import add_months
from crm.services.validation import InvalidValue, normalise_email, normalise_phone
from tests.factories import make_contact, make_organisation
from tests.health_examples import HEALTH_TITLES, OCCUPATION_TITLES, ORGANISATION_NAMES

HEADER = "etunimi;sukunimi;titteli;sähköposti;puhelin;yritys;y-tunnus"
HETU = "131052-308T"  # the Population Register Centre's example of a valid code
RECEIVED = date(2026, 10, 31)


def line(i: int, **values) -> str:
    row = {"first": "Aino", "last": f"Listalainen{i}", "title": "IT-päällikkö",
           "email": f"aino.listalainen{i}@ostolista.example", "phone": f"040 {i:07d}",
           "org": f"Ostoyritys {i // 10} Oy", "bid": business_id(7000000 + (i // 10) * 3)}
    row.update(values)
    return ";".join(str(row[k]) for k in ("first", "last", "title", "email", "phone", "org",
                                          "bid"))


def csv_file(lines: list[str], header: str = HEADER, encoding: str = "utf-8") -> bytes:
    return ("\r\n".join([header, *lines]) + "\r\n").encode(encoding)


def run(session, data: bytes, **options):
    options.setdefault("name", "Testilista")
    options.setdefault("supplier", "Listatoimittaja Oy")
    options.setdefault("received_on", RECEIVED)
    return import_list(session, data, **options)


def first_source_created(session):
    return session.scalar(sa.select(Source.created_at).order_by(Source.id).limit(1))


def count(session, model) -> int:
    session.rollback()
    return session.scalar(sa.select(sa.func.count()).select_from(model))


def stored_nothing(session) -> bool:
    return (count(session, Contact), count(session, Organisation), count(session, Provenance),
            count(session, Source.__table__.select().where(
                Source.kind == SourceKind.purchased_list).subquery())) == (0, 0, 0, 0)


# -- a clean list ---------------------------------------------------------------------


def test_clean_list_becomes_contacts_with_source_provenance_and_art14_due(session):
    data = csv_file([line(1), line(2, title=""), line(3, email="", org="", bid="")])
    result = run(session, data)

    assert result.stored and not result.errors
    assert result.counts["new"] == 3 and result.imported == 3
    source = session.scalar(sa.select(Source).where(Source.kind == SourceKind.purchased_list))
    assert (source.name, source.supplier, source.received_on, source.row_count) == (
        "Testilista", "Listatoimittaja Oy", RECEIVED, 3)
    assert len(source.file_hash) == 64 and source.import_counts["new"] == 3
    contacts = session.scalars(sa.select(Contact).order_by(Contact.last_name)).all()
    assert [c.last_name for c in contacts] == ["Listalainen1", "Listalainen2", "Listalainen3"]
    first = contacts[0]
    assert first.source_id == source.id and first.legal_basis is LegalBasis.position
    assert first.marketing_status is MarketingStatus.never
    assert first.email == "aino.listalainen1@ostolista.example"
    assert first.phone == "+358400000001"
    assert first.organisation.name == "Ostoyritys 0 Oy"
    assert [p.code for p in first.purposes] == ["new_business"]
    assert contacts[2].email is None and contacts[2].organisation is None
    provenance = session.scalars(sa.select(Provenance)).all()
    assert len(provenance) == 3
    assert {p.art14_due_on for p in provenance} == {add_months(RECEIVED, 1)} == {
        date(2026, 11, 30)}
    assert all(p.source_id == source.id and p.art14_notified_at is None for p in provenance)
    event = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "import"))
    assert event.object_id == str(source.id) and "new=3" in event.detail
    assert "Listalainen" not in (event.detail or "")


def test_semicolons_and_windows_1252_with_scandinavian_letters(session):
    data = csv_file([line(1, first="Äijä", last="Mäkelä", title="Hyödyntäjä",
                          org="Höyry ja Sähkö Oy")], encoding="cp1252")
    result = run(session, data)
    assert result.stored and (result.encoding, result.delimiter) == ("cp1252", ";")
    contact = session.scalar(sa.select(Contact))
    assert (contact.first_name, contact.last_name, contact.title) == (
        "Äijä", "Mäkelä", "Hyödyntäjä")
    assert contact.organisation.name == "Höyry ja Sähkö Oy"


def test_commas_utf8_with_bom_english_headers_and_quotes(session):
    text = ('\ufeffFirst name,Last name,Email,Company,Notes\r\n'
            '"Ann","O\'Neill, Jr",ann@example.org,"Acme, Inc",ignored column\r\n')
    result = run(session, text.encode("utf-8"))
    assert result.stored and result.delimiter == ","
    assert result.ignored_columns == ["Notes"]
    contact = session.scalar(sa.select(Contact))
    assert contact.last_name == "O'Neill, Jr" and contact.organisation.name == "Acme, Inc"


def test_columns_are_mapped_by_hand(session):
    header = "Nimi1;Nimi2;Osoite;Tuntematon"
    data = csv_file(["Aino;Kartoitettu;aino@kartta.example;x"], header=header)
    mapping = {"first_name": "Nimi1", "last_name": "Nimi2", "email": "Osoite"}
    result = run(session, data, mapping=mapping)
    assert result.stored
    assert session.scalar(sa.select(Contact.email)) == "aino@kartta.example"


def test_one_column_chosen_for_two_fields_is_refused_naming_both(session):
    """ "Nimi" as first and last name would copy the whole name into both: refused."""
    data = csv_file(["Aino Lista;aino@kartta.example"], header="Nimi;Osoite")
    mapping = {"first_name": "Nimi", "last_name": "Nimi", "email": "Osoite"}
    with pytest.raises(ImportRefused) as refused:
        run(session, data, mapping=mapping)
    assert str(refused.value) == ("Sarake Nimi on valittu sekä kenttään Etunimi että "
                                  "kenttään Sukunimi: valitse sille yksi kenttä.")
    assert stored_nothing(session)


def test_mapping_to_a_column_not_in_the_file_is_refused(session):
    with pytest.raises(ImportRefused, match="Puuttuva"):
        run(session, csv_file([line(1)]), mapping={"email": "Puuttuva"})
    assert stored_nothing(session)


def test_lines_repeating_a_person_become_one_contact(session):
    data = csv_file([line(1), line(2), line(1, email="AINO.LISTALAINEN1@ostolista.example",
                                             title="Toinen")])
    result = run(session, data)
    assert (result.counts["new"], result.counts["duplicate"]) == (2, 1)
    assert count(session, Contact) == 2


# -- bad input: line-numbered errors, nothing stored --------------------------------------

BAD_LINES = {
    "bad email": (line(2, email="ei-osoite@"), "email"),
    "henkilötunnus in the title": (line(2, title=f"Päällikkö {HETU}"), "title"),
    "henkilötunnus as a last name": (line(2, last=HETU), "last_name"),
    "health word in the title": (line(2, title="Masentunut"), "title"),
    "health word as a last name": (line(2, last="Sairaslomalla"), "last_name"),
    "henkilötunnus in the organisation": (line(2, org=f"Syöpäsäätiö {HETU}"), "organisation"),
    "bad phone": (line(2, phone="12"), "phone"),
    "bad business id": (line(2, bid="1234567-8"), "business_id"),
    "no last name": (line(2, last=""), "last_name"),
    "neither email nor phone": (line(2, email="", phone=""), "email"),
    "too many values": (line(2) + ";ylimääräinen", None),
}


@pytest.mark.parametrize("bad", list(BAD_LINES), ids=list(BAD_LINES))
def test_a_bad_line_is_named_by_line_and_field_and_nothing_is_stored(session, bad):
    bad_line, field = BAD_LINES[bad]
    data = csv_file([line(1), line(3), bad_line, line(4)])
    result = run(session, data)
    assert not result.stored and result.refused_for_errors
    assert [(e.line, e.field) for e in result.errors] == [(4, field)]
    message = str(result.errors[0])
    assert message.startswith("line 4") or message.startswith("rivi 4")
    if field:
        assert field in message
    assert HETU not in message and "ei-osoite" not in message
    assert stored_nothing(session)


def test_titles_naming_occupations_and_organisations_named_with_health_words_are_imported(
        session):
    lines = [line(i, title=title) for i, title in enumerate(OCCUPATION_TITLES, 1)]
    lines += [line(20 + i, org=org, bid="") for i, org in enumerate(ORGANISATION_NAMES)]
    result = run(session, csv_file(lines))
    assert result.stored and not result.errors
    assert result.counts["new"] == len(lines)
    titles = set(session.scalars(sa.select(Contact.title)))
    assert set(OCCUPATION_TITLES) <= titles
    assert set(ORGANISATION_NAMES) <= set(session.scalars(sa.select(Organisation.name)))


def test_a_supplier_named_with_a_health_word_is_an_organisation_like_any_other(session):
    result = run(session, csv_file([line(1)]), supplier="Syöpäsäätiö")
    assert result.stored and not result.errors
    assert session.scalar(sa.select(Source.supplier).where(Source.id == result.source_id)) \
        == "Syöpäsäätiö"


@pytest.mark.parametrize("title", HEALTH_TITLES)
def test_a_title_naming_no_occupation_is_refused_for_its_health_word(session, title):
    # The same words are an occupation in the next line's title and an organisation's
    # name in the one after: only the title naming no occupation is refused.
    data = csv_file([line(1, title="Syöpälääkäri"), line(2, title=title),
                     line(3, org="Syöpäsäätiö", bid="")])
    result = run(session, data)
    assert not result.stored
    assert [(e.line, e.field) for e in result.errors] == [(3, "title")]
    assert "health" in str(result.errors[0]) or "terveys" in str(result.errors[0])
    assert stored_nothing(session)


def test_a_value_with_several_kinds_of_sensitive_data_names_them_all_once(session, app):
    data = csv_file([line(1), line(2, title=f"Masentunut, {HETU}"),
                     line(3, last=f"Listalainen {HETU} 4111 1111 1111 1111"), line(4)])
    with app.test_request_context("/"), force_locale("en"):
        result = run(session, data)
        errors = [str(error) for error in result.errors]
    assert not result.stored
    assert errors == [
        "line 3, field title: contains a Finnish personal identity code (henkilötunnus) "
        "and health information; the register must not hold such data.",
        "line 4, field last_name: contains a Finnish personal identity code "
        "(henkilötunnus) and a payment card number; the register must not hold such data."]
    assert stored_nothing(session)


def test_business_ids_copied_from_invoices_are_stored_as_nnnnnnn_c(session):
    known = make_organisation(session, name="Vanha Yritys Oy", business_id=business_id(7000000))
    session.commit()
    digits = known.business_id.replace("-", "")
    lines = [line(1, bid=f"FI{digits}"),                        # the VAT number
             line(2, bid=f" {digits} "),                        # no hyphen
             line(11, org="Uusi Yritys Oy", bid="FI 07375462")]  # a new organisation
    result = run(session, csv_file(lines))
    assert result.stored and not result.errors
    assert result.counts["organisations_new"] == 1
    people = {c.last_name: c.organisation for c in session.scalars(sa.select(Contact))}
    assert people["Listalainen1"].id == people["Listalainen2"].id == known.id
    assert people["Listalainen11"].business_id == "0737546-2"
    assert count(session, Organisation) == 2


def test_a_copied_business_id_with_a_wrong_check_digit_is_refused(session, app):
    with app.test_request_context("/"), force_locale("en"):
        result = run(session, csv_file([line(1), line(2, bid="FI07375463")]))
        errors = [str(error) for error in result.errors]
    assert errors == ["line 3, field business_id: The business ID's check digit is wrong."]
    assert stored_nothing(session)


@pytest.mark.parametrize(("data", "expected"), [
    (b"", "empty"),
    (b"  \r\n\r\n", "empty"),
    ("etunimi;sukunimi;s\u00e4hk\u00f6posti\r\nA;B;a@b.example\r\n".encode("utf-16"),
     "encoding"),
    (b"etunimi;sukunimi;puhelin\r\nJ\x81rgen;M\x8dller;0401234567\r\n", "encoding"),
    (b"PK\x03\x04\x14\x00\x06\x00excel", "encoding"),
    (csv_file(["Aino;aino@lista.example"], header="etunimi;sähköposti"), "last_name"),
    (csv_file(["Aino;Lista"], header="etunimi;sukunimi"), "email / phone"),
], ids=["empty", "blank lines", "utf-16", "not cp1252", "xlsx", "no last name column",
        "no email or phone column"])
def test_a_file_that_cannot_be_imported_is_refused_whole(session, data, expected):
    with pytest.raises(ImportRefused) as refused:
        run(session, data)
    message = str(refused.value).lower()
    # A missing column is named as the mapping names it: "Sukunimi", not "last_name".
    words = {"empty": ("empty", "tyhjä"), "encoding": ("encoding", "merkistö"),
             "last_name": ("last name", "sukunimi"),
             "email / phone": ("email / phone", "sähköposti / puhelin")}
    assert any(w in message for w in words.get(expected, (expected,)))
    assert stored_nothing(session)


def test_header_only_imports_nothing(session):
    result = run(session, csv_file([]))
    assert not result.stored and result.lines == 0 and result.imported == 0
    assert stored_nothing(session)


def test_ten_thousand_lines_with_three_bad_ones(session):
    bad = {1234: ("email", {"email": "rikki@@osoite.example"}),
           5000: ("title", {"title": f"Hetu {HETU}"}),
           9999: ("phone", {"phone": "0"})}
    lines = [line(i, **bad[i][1]) if i in bad else line(i) for i in range(1, 10_001)]
    data = csv_file(lines)

    result = run(session, data)
    assert not result.stored and result.lines == 10_000
    assert [(e.line, e.field) for e in result.errors] == [
        (i + 1, bad[i][0]) for i in sorted(bad)]
    assert stored_nothing(session)

    result = run(session, data, valid_only=True)
    assert result.stored and result.counts["new"] == 9_997
    assert result.counts["invalid"] == 3 and len(result.errors) == 3
    assert count(session, Contact) == 9_997
    assert count(session, Provenance) == 9_997
    assert count(session, Organisation) == 1_001


def test_dry_run_reports_and_changes_nothing(session):
    existing = make_contact(session, email="aino.listalainen1@ostolista.example")
    session.commit()
    result = run(session, csv_file([line(1), line(2), line(3)]), dry_run=True)
    assert not result.stored
    assert (result.counts["new"], result.counts["merged"]) == (2, 1)
    assert count(session, Contact) == 1 and count(session, Provenance) == 0
    assert session.get(Contact, existing.id).title is None
    # The same file can still be imported: the dry run left no trace of it.
    assert run(session, csv_file([line(1), line(2), line(3)])).stored


# -- merging and skipping -----------------------------------------------------------------


def test_the_same_list_twice_adds_no_duplicates_and_one_provenance_per_list(session):
    lines = [line(i) for i in range(1, 21)]
    first = run(session, csv_file(lines))
    assert first.counts["new"] == 20

    with pytest.raises(ImportRefused, match="already|jo") as refused:
        run(session, csv_file(lines))
    # When, as the reader writes dates (the register's default language here: Finnish).
    created = first_source_created(session)
    assert format_date(created, "short") in str(refused.value)
    assert created.date().isoformat() not in str(refused.value)
    # The same people in a file saved differently: a list of its own, merged.
    again = run(session, csv_file(lines, encoding="cp1252").replace(b";", b","),
                name="Sama lista uudestaan")
    assert again.stored
    assert (again.counts["new"], again.counts["merged"]) == (0, 20)
    assert count(session, Contact) == 20
    assert count(session, Organisation) == 3
    pairs = session.execute(sa.select(Provenance.contact_id, Provenance.source_id)).all()
    assert len(pairs) == 40 and len(set(pairs)) == 40
    per_contact = session.execute(sa.select(Provenance.contact_id, sa.func.count())
                                  .group_by(Provenance.contact_id)).all()
    assert {n for _, n in per_contact} == {2}


def test_existing_contacts_and_organisations_are_merged_into(session):
    org = make_organisation(session, name="Vanha Yritys Oy", business_id=business_id(7000000))
    by_name = make_organisation(session, name="Nimellä Löytyvä Oy", business_id=None)
    known = make_contact(session, email="Aino.Listalainen1@OSTOLISTA.example", title=None,
                         phone=None, organisation=None)
    by_phone = make_contact(session, email=None, phone="+358400000002", title="Ennallaan")
    session.commit()
    lines = [line(1),  # organisation by business id (a name the list spells differently)
             line(2, bid="", org="Ostoyritys 0 Oy"),
             line(3, bid="", org="Nimellä Löytyvä Oy"),
             line(4, bid="", org="Aivan Uusi Oy")]
    result = run(session, csv_file(lines))
    assert result.stored
    assert (result.counts["new"], result.counts["merged"], result.counts["updated"]) == (2, 2, 2)
    known = session.get(Contact, known.id)
    assert known.title == "IT-päällikkö" and known.phone == "+358400000001"
    assert known.organisation_id == org.id and known.email == "Aino.Listalainen1@OSTOLISTA.example"
    by_phone = session.get(Contact, by_phone.id)
    assert by_phone.title == "Ennallaan"  # what a contact has is never overwritten
    assert by_phone.email == "aino.listalainen2@ostolista.example"
    third = session.scalar(sa.select(Contact).where(Contact.last_name == "Listalainen3"))
    assert third.organisation_id == by_name.id
    assert result.counts["organisations_new"] == 2  # "Ostoyritys 0 Oy" by name, and "Aivan Uusi"
    assert count(session, Contact) == 4


def test_differing_emails_are_different_people_even_with_one_phone(session):
    make_contact(session, email="vaihde.toinen@ostolista.example", phone="+358400000001")
    session.commit()
    result = run(session, csv_file([line(1)]))
    assert (result.counts["new"], result.counts["merged"]) == (1, 0)


def test_phone_or_mobile_finds_a_person_when_one_side_has_no_email(session):
    by_mobile = make_contact(session, email=None, phone=None, mobile="+358400000001")
    by_phone = make_contact(session, email="vaihde@ostolista.example", phone="+358400000002")
    session.commit()
    lines = [line(1),  # the contact has no email: its mobile is the list's phone
             line(2, email=""),  # the line has no email: the contact's phone
             line(3),
             line(4, email="VAIHDE@ostolista.example")]  # the same contact, by email
    result = run(session, csv_file(lines))
    assert (result.counts["merged"], result.counts["duplicate"], result.counts["new"]) == (
        2, 1, 1)
    by_mobile = session.get(Contact, by_mobile.id)
    assert by_mobile.email == "aino.listalainen1@ostolista.example"
    assert by_mobile.phone is None  # the number is its mobile already
    assert [p.source.name for p in by_mobile.provenance] == ["Testilista"]
    assert session.get(Contact, by_phone.id).email == "vaihde@ostolista.example"
    assert count(session, Contact) == 3


def test_lines_without_email_repeating_a_phone_are_duplicates(session):
    lines = [line(1, email=""), line(2, email="", phone="040 0000001"),
             line(3, phone="040 0000001")]  # an email of its own: a person of its own
    result = run(session, csv_file(lines))
    assert (result.counts["new"], result.counts["duplicate"]) == (2, 1)
    assert session.scalar(sa.select(sa.func.count()).select_from(Contact)
                          .where(Contact.phone == "+358400000001")) == 2


def test_a_suppressed_person_is_not_brought_back(session):
    erased = make_contact(session, email="aino.listalainen1@ostolista.example",
                          phone="+358409999999")
    session.flush()
    anonymise_contact(session, erased.id, "erasure")
    suppress(session, "phone", "+358400000003", "opt-out")
    session.commit()
    lines = [line(1), line(2, phone="040 9999999", email=""), line(3, email=""), line(4)]
    result = run(session, csv_file(lines))
    assert result.stored
    assert (result.counts["suppressed"], result.counts["new"]) == (3, 1)
    emails = set(session.scalars(sa.select(Contact.email)))
    assert "aino.listalainen1@ostolista.example" not in emails
    assert session.scalar(sa.select(sa.func.count()).select_from(Contact)
                          .where(Contact.phone.in_(["+358409999999", "+358400000003"]))) == 0


def test_opted_out_people_are_skipped_and_counted(session):
    unsubscribed = make_contact(session, email="aino.listalainen1@ostolista.example",
                                marketing_status=MarketingStatus.unsubscribed, title=None)
    objected = make_contact(session, email="aino.listalainen2@ostolista.example",
                            objected_at=utcnow(), title=None)
    session.commit()
    result = run(session, csv_file([line(1), line(2), line(3)]))
    assert (result.counts["opted_out"], result.counts["new"]) == (2, 1)
    for contact in (unsubscribed, objected):
        contact = session.get(Contact, contact.id)
        assert contact.title is None and not contact.provenance


def test_the_lines_of_each_outcome_are_named_by_their_numbers(session):
    merged = make_contact(session, email="aino.listalainen2@ostolista.example")
    make_contact(session, email="aino.listalainen4@ostolista.example",
                 marketing_status=MarketingStatus.unsubscribed)
    suppress(session, "phone", "+358400000005", "opt-out")
    session.commit()
    lines = [line(1), line(2), line(3), line(4), line(5, email=""), line(1), line(3)]
    result = run(session, csv_file(lines), dry_run=True)  # the header is line 1
    assert result.lines_of == {"merged": [3], "duplicate": [7, 8], "opted_out": [5],
                               "suppressed": [6]}
    assert (result.counts["new"], result.counts["merged"]) == (2, 1)
    assert session.get(Contact, merged.id).provenance == []  # a dry run: nothing stored
    result = run(session, csv_file(lines))
    assert result.stored and result.lines_of["duplicate"] == [7, 8]


def test_the_lines_named_stop_at_fifty_and_the_count_says_how_many(session):
    lines = [line(1)] + [line(1, title=f"Toisto {i}") for i in range(60)]
    result = run(session, csv_file(lines), dry_run=True)
    assert result.counts["duplicate"] == 60
    assert result.lines_of == {"duplicate": list(range(3, 53))}


def test_a_merge_counts_the_values_it_did_not_take_by_field_and_line(session):
    org = make_organisation(session, name="Oma Asiakas Oy", business_id=business_id(7000090))
    # The line's phone is the contact's mobile: held, nothing to report.
    make_contact(session, first_name="Aino", last_name="Listalainen1", title=None,
                 email="aino.listalainen1@ostolista.example", phone=None,
                 mobile="+358400000001")
    other_phone = make_contact(session, first_name="Aino", last_name="Listalainen2",
                               title="it-päällikkö", email="aino.listalainen2@ostolista.example",
                               phone="+358409999999")
    other_title = make_contact(session, first_name="Aino", last_name="Listalainen3",
                               title="Toimitusjohtaja", phone="+358400000003",
                               email="aino.listalainen3@ostolista.example")
    other_org = make_contact(session, first_name="Aino", last_name="Listalainen4",
                             title="IT-päällikkö", phone="+358400000004", organisation=org,
                             email="aino.listalainen4@ostolista.example")
    other_name = make_contact(session, first_name="Aino", last_name="Naimisissa",
                              title="IT-päällikkö", phone=None,
                              email="aino.listalainen5@ostolista.example")
    session.commit()
    lines = [line(1), line(2), line(3), line(4, org="Toinen Yritys Oy", bid=""), line(5),
             line(6)]
    result = run(session, csv_file(lines))
    assert result.stored and result.counts["merged"] == 5
    assert result.not_taken == {"phone": 1, "title": 1, "organisation": 1, "last_name": 1}
    assert result.not_taken_lines == {"phone": [3], "title": [4], "organisation": [5],
                                      "last_name": [6]}
    # What the register held is kept (a merge only adds what a contact lacks).
    assert session.get(Contact, other_phone.id).phone == "+358409999999"
    assert session.get(Contact, other_title.id).title == "Toimitusjohtaja"
    assert session.get(Contact, other_org.id).organisation_id == org.id
    assert session.get(Contact, other_name.id).last_name == "Naimisissa"
    assert session.get(Contact, other_name.id).phone == "+358400000005"  # it had none


def test_an_organisation_named_otherwise_with_the_same_business_id_is_the_same(session):
    org = make_organisation(session, name="Ostoyritys Oyj", business_id=business_id(7000000))
    make_contact(session, email="aino.listalainen1@ostolista.example", organisation=org,
                 first_name="AINO", last_name="LISTALAINEN1", title="IT-PÄÄLLIKKÖ",
                 phone="+358400000001")
    session.commit()
    result = run(session, csv_file([line(1)]), dry_run=True)
    assert result.counts["merged"] == 1 and result.not_taken == {}


def test_nothing_to_import_stores_nothing(session):
    make_contact(session, email="aino.listalainen1@ostolista.example",
                 marketing_status=MarketingStatus.unsubscribed)
    session.commit()
    result = run(session, csv_file([line(1)]))
    assert not result.stored and result.counts["opted_out"] == 1
    assert count(session, Provenance) == 0


# -- the command --------------------------------------------------------------------------


def test_command_exit_status_and_dry_run(app, session, tmp_path):
    good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
    good.write_bytes(csv_file([line(1), line(2)], encoding="cp1252"))
    bad.write_bytes(csv_file([line(1), line(2, email="rikki")]))
    runner = app.test_cli_runner()

    dry = runner.invoke(args=["crm", "import", str(good), "--source", "Komentolista",
                              "--received", "2026-10-01", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "new: 2" in dry.output and count(session, Contact) == 0

    refused = runner.invoke(args=["crm", "import", str(bad), "--source", "Rikkinäinen"])
    assert refused.exit_code == 1
    assert "line 3, field email" in refused.output
    assert count(session, Contact) == 0

    done = runner.invoke(args=["crm", "import", str(good), "--source", "Komentolista",
                               "--supplier", "Toimittaja", "--received", "2026-10-01"])
    assert done.exit_code == 0, done.output
    assert count(session, Contact) == 2
    assert session.scalar(sa.select(Source.received_on).where(
        Source.name == "Komentolista")) == date(2026, 10, 1)
    assert "aino" not in done.output.lower()  # counts, never the people

    again = runner.invoke(args=["crm", "import", str(good), "--source", "Komentolista"])
    assert again.exit_code == 1 and "already" in again.output

    valid = runner.invoke(args=["crm", "import", str(bad), "--source", "Osa",
                                "--valid-only"])
    assert valid.exit_code == 0 and "merged: 1" in valid.output
    mapped = runner.invoke(args=["crm", "import", str(good), "--source", "X",
                                 "--map", "nonsense"])
    assert mapped.exit_code == 2


def test_command_names_the_lines_of_each_outcome_and_what_a_merge_did_not_take(
        app, session, tmp_path):
    make_contact(session, first_name="Aino", last_name="Listalainen1", title="IT-päällikkö",
                 email="aino.listalainen1@ostolista.example", phone="+358409999999")
    session.commit()
    listing = tmp_path / "list.csv"
    listing.write_bytes(csv_file([line(1), line(2), line(2)]
                                 + [line(3, title=f"Toisto {i}") for i in range(55)]))
    done = app.test_cli_runner().invoke(args=["crm", "import", str(listing), "--source",
                                              "Rivilista", "--dry-run"])
    assert done.exit_code == 0, done.output
    assert "  merged: 1 (line 2)\n" in done.output
    # The first 50 of the 55 (the header is line 1; line 5 is a new person's first line).
    lines = ", ".join(str(n) for n in range(6, 55))
    assert f"  duplicate: 55 (lines 4, {lines} and 5 more)\n" in done.output
    assert "not taken from merged lines" in done.output and "  phone: 1 (line 2)\n" in done.output
    assert "+358409999999" not in done.output and "040" not in done.output  # no values


def test_command_writes_dates_the_iso_way(app, session, tmp_path):
    listing = tmp_path / "list.csv"
    listing.write_bytes(csv_file([line(1)]))
    runner = app.test_cli_runner()
    assert runner.invoke(args=["crm", "import", str(listing), "--source", "Ensin"]
                         ).exit_code == 0
    imported_on = session.scalar(sa.select(Source.created_at).where(Source.name == "Ensin"))
    with app.test_request_context():
        day = format_date(imported_on, "yyyy-MM-dd")  # the register's day, not UTC's

    again = runner.invoke(args=["crm", "import", str(listing), "--source", "Toinen"])
    # Scripts and people alike read "2026-11-25", never US English "11/25/26".
    assert f"as the list Ensin on {day}: nothing was changed" in again.output, again.output


# -- the fast checks give the full checks' answers ----------------------------------------


def _outcome(func, value):
    try:
        return func(value)
    except InvalidValue:
        return "invalid"


EMAILS = ["a@b.fi", "Matti.Meikalainen@Firma.FI", " x@y.example ", "a..b@c.fi", ".a@b.fi",
          "a.@b.fi", "a@b", "a@localhost", "a@-b.fi", "a@b-.fi", "ääkkönen@firma.fi",
          "a@ä.fi", '"quoted"@b.fi', "a b@c.fi", "a@b..fi", "a@b.c" * 60, "x" * 65 + "@b.fi",
          "a@" + "b" * 64 + ".fi", "a+tag@sub.domain.example", "a@b.test", "a@123.45",
          "user@[127.0.0.1]", "a@b.fi.", "A@XN--BCHER-KVA.example", "@b.fi", "a@", ""]
PHONES = ["040 123 4567", "0401234567", "+358401234567", "+358 40 123 4567", "(09) 123 4567",
          "09 1234567", "+358 (0)40 1234567", "040-123-4567", "0800 12345", "0600 12345",
          "0201234", "018 12345", "+358 18 12345", "0", "12", "00358401234567",
          "+46 70 123 45 67", "040 123 4567 ext 2", "０４０１２３４５６７", "+358", "050",
          "029 123 4567", "075 1234567", "0100 100", "010 123 4567", "+35810"]
TEXTS = ["Matti", "Sairanen", "IT-päällikkö", HETU, f"x {HETU} y", "Masennus", "masennusta",
         "4111 1111 1111 1111", "Diagnostiikka Oy", "diagnoosi", "HIV", "hivenen", "Hıv",
         "ſairaus", "Ilkka Vammalan Kone", "vammainen", "Kaisa Sairaala-Oy", "Perttu 123",
         "Pregnant", "raskaana", "Depressio", "dementia", "Dementoitunut", "Mielenterveys",
         "syöpä", "SYÖVÄN", "Epileptikko", "Lääkitys", "diabetes", "a\u0308ija\u0308",
         "Ann-Mari Välimäki", "cancer", "Cancer Research UK", "illness", "Disability Oy"]


@pytest.mark.parametrize("value", EMAILS)
def test_fast_email_check_agrees_with_the_full_one(app, value):
    assert _outcome(checks.email, value) == _outcome(normalise_email, value)


@pytest.mark.parametrize("value", PHONES)
def test_fast_phone_check_agrees_with_the_full_one(app, value):
    assert _outcome(checks.phone, value) == _outcome(normalise_phone, value)


def test_fast_phone_check_agrees_on_random_finnish_numbers(app):
    rnd = random.Random(3)
    for _ in range(3000):
        digits = "".join(rnd.choice("0123456789") for _ in range(rnd.randint(3, 13)))
        for value in (f"0{digits}", f"+358{digits}", f"0{digits[:2]} {digits[2:]}"):
            assert _outcome(checks.phone, value) == _outcome(normalise_phone, value), value


@pytest.mark.parametrize("value", TEXTS + OCCUPATION_TITLES + HEALTH_TITLES
                         + ORGANISATION_NAMES)
def test_fast_sensitive_data_check_agrees_with_the_guard(app, value):
    for field, kind in (("last_name", guard.TEXT), ("title", guard.TITLE),
                        ("organisation", guard.ORGANISATION)):
        assert checks.CLEAN[field](value) is (find_sensitive(value, kind) is None), field
        assert checks.sensitive(value, field) == find_sensitive(value, kind), field


def test_a_line_of_the_wrong_width_says_how_many_values_in_the_right_number(session):
    """One value is "1 arvo", two are "2 arvoa" (ngettext), against the header's 7."""
    result = run(session, csv_file([line(1), "Yksinäinen", "Kaksi;Arvoa"]))
    assert not result.stored
    assert [str(e).partition(": ")[2] for e in result.errors] == [
        "1 arvo, mutta otsikkorivillä on 7 saraketta.",
        "2 arvoa, mutta otsikkorivillä on 7 saraketta."]


def test_a_list_is_named_with_the_day_it_came_as_the_reader_writes_dates(session):
    """Contact pages and the source list show "Testilista (15.10.2026)", not ISO."""
    run(session, csv_file([line(1)]))
    source = session.scalar(sa.select(Source).where(Source.kind == SourceKind.purchased_list))
    assert str(source) == f"Testilista ({RECEIVED.day}.{RECEIVED.month}.{RECEIVED.year})"


def test_standing_sources_and_the_mailchimp_recipient_are_in_the_registers_language(session):
    """Reference data is written in BABEL_DEFAULT_LOCALE (Finnish) when first made."""
    from crm.models import Recipient

    names = dict(session.execute(sa.select(Source.kind, Source.name).where(
        Source.kind != SourceKind.purchased_list)).all())
    assert names == {SourceKind.own_activity: "Oma toimintamme",
                     SourceKind.the_person: "Henkilö itse"}
    mailchimp = session.scalar(sa.select(Recipient).where(Recipient.name == "Mailchimp"))
    assert mailchimp.purpose == "Suoramarkkinointi ja uutiskirjeet sähköpostitse"
    assert mailchimp.safeguard_notes.startswith("Intuit Mailchimp on sertifioitu")
