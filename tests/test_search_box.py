"""The list's search box and its filter panel work together: Receivables, looking at the
billing contacts, search among them, not among everyone; clearing the box leaves the
filter on, and applying a filter keeps the text searched. The organisations' box says
what it finds, and a text too short to be looked for inside words says so
(crm.views.search, crm/templates/crm/list.html)."""

from __future__ import annotations

import re
from html import unescape

import pytest

from crm.models import RelationshipRole
from tests.factories import make_contact, make_organisation

CONTACTS = "/contactview/list/"
BILLING = {"_flt_0_relationship_role": "billing"}


@pytest.fixture
def billing(session) -> dict[str, int]:
    """Two Aaltonens, one of them the billing contact, at an organisation whose name
    contains "tekniikka" further on."""
    star = make_organisation(session, name="Tähtitekniikka Oy")
    people = {
        "billing": make_contact(session, first_name="Laura", last_name="Aaltonen",
                                organisation=star,
                                relationship_role=RelationshipRole.billing),
        "technical": make_contact(session, first_name="Timo", last_name="Aaltonen",
                                  organisation=star,
                                  relationship_role=RelationshipRole.technical),
    }
    session.commit()
    return {name: contact.id for name, contact in people.items()}


def _page(client, path: str, args: dict) -> str:
    response = client.get(path, query_string=args)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _shown(html: str) -> list[int]:
    return sorted({int(i) for i in re.findall(r'href="/contactview/show/(\d+)', html)})


def _search_form(html: str) -> str:
    form = re.search(r'<form class="form-inline crm-quick-search".*?</form>', html, re.S)
    assert form, "no search box on the page"
    return form.group(0)


def _submitted(html: str, q: str) -> dict[str, str]:
    """Return what the search box sends when `q` is typed into it and it is submitted."""
    sent = {name: unescape(value) for name, value in re.findall(
        r'<input type="hidden" name="([^"]+)" value="([^"]*)">', _search_form(html))}
    return sent | {"q": q}


@pytest.mark.parametrize("q", ["Aaltonen", "tekniikka"])  # by name; a partial match
def test_a_search_in_a_filtered_list_finds_within_the_filter(signed_in, billing, q):
    client = signed_in("ar")
    html = _page(client, CONTACTS, BILLING)
    assert billing["billing"] in _shown(html) and billing["technical"] not in _shown(html)
    found = _page(client, CONTACTS, _submitted(html, q))
    assert _shown(found) == [billing["billing"]]
    # The panel still shows the filter applied, and the box the text searched.
    assert "_flt_0_relationship_role" in _submitted(found, q)
    assert f'value="{q}"' in _search_form(found)


def test_clearing_the_search_box_leaves_the_filters_and_the_order(signed_in, billing):
    client = signed_in("ar")
    args = BILLING | {"_oc_ContactView": "first_name", "_od_ContactView": "desc",
                      "q": "Aaltonen", "page_ContactView": "0"}
    form = _search_form(_page(client, CONTACTS, args))
    clear = re.search(r'<a class="btn btn-default" href="([^"]*)">Clear</a>', form)
    assert clear, form
    assert unescape(clear.group(1)) == ("?_flt_0_relationship_role=billing"
                                        "&_oc_ContactView=first_name&_od_ContactView=desc")


def test_applying_a_filter_keeps_the_text_searched(signed_in, billing):
    # The filter panel's own form sends the search text along (an input of its form).
    html = _page(signed_in("ar"), CONTACTS, {"q": "Aaltonen"})
    assert '<input type="hidden" name="q" value="Aaltonen" form="filter_form">' in html
    assert 'id="filter_form"' in html
    assert 'form="filter_form"' not in _page(signed_in("ar"), CONTACTS, {})


def test_the_organisations_search_box_says_it_finds_by_name_or_business_id(signed_in):
    html = _page(signed_in("sales"), "/organisationview/list/", {})
    box = re.search(r'<input type="search"[^>]*>', html).group(0)
    assert 'placeholder="Search by name or business ID"' in box


def test_a_text_too_short_to_look_inside_words_says_so(signed_in, billing):
    client = signed_in("sales")
    html = _page(client, CONTACTS, {"q": "ho"})  # inside "Timo", begins nothing
    assert _shown(html) == []
    assert ("Nothing begins with “ho”. To find it further on in a word, type at least 3 "
            "characters.") in unescape(html)
    # Found by its beginning: no hint.
    html = _page(client, CONTACTS, {"q": "Ti"})
    assert _shown(html) == [billing["technical"]]
    assert "Nothing begins with" not in unescape(html)
    html = _page(client, "/organisationview/list/", {"q": "ti"})
    assert "Nothing begins with “ti”." in unescape(html)


@pytest.mark.parametrize("typed", ["0000143", "050 0000", "+35850000"])
def test_part_of_a_phone_number_says_numbers_are_found_whole(signed_in, session, typed):
    make_contact(session, last_name="Numeroton", phone="+358500000143")
    session.commit()
    client = signed_in("sales")
    html = unescape(_page(client, CONTACTS, {"q": typed}))
    assert _shown(html) == []
    assert (f"No phone number is “{typed.strip()}”. Phone numbers are found whole: type the "
            "whole number, as 040 123 4567 or +358 40 123 4567.") in html
    # The whole number finds the person, with no hint.
    html = unescape(_page(client, CONTACTS, {"q": "050 0000143"}))
    assert len(_shown(html)) == 1 and "No phone number is" not in html


@pytest.mark.parametrize("typed", ["2900000-4", " 2900000-4 "])
def test_a_business_id_finds_its_organisations_people(signed_in, session, typed):
    # Read as a phone number before, "+35829000004", it found nobody.
    star = make_organisation(session, name="Tähtitekniikka Oy", business_id="2900000-4")
    other = make_organisation(session, name="Muu Oy", business_id="2900037-0")
    person = make_contact(session, organisation=star)
    make_contact(session, organisation=other)
    session.commit()
    client = signed_in("sales")
    html = _page(client, CONTACTS, {"q": typed})
    assert _shown(html) == [person.id]
    assert "Nothing begins with" not in unescape(html)
    assert [row["id"] for row in client.get(
        "/contactview/lookup", query_string={"q": typed}).get_json()["results"]] == [person.id]
    # One with a wrong check digit is no business ID: nobody.
    assert _shown(_page(client, CONTACTS, {"q": "2900000-5"})) == []


def test_a_business_id_written_with_six_digits_finds_its_organisation(signed_in, session):
    # Stored as NNNNNNN-C (crm.services.validation), typed as the older NNNNNN-C.
    wanted = make_organisation(session, name="Vanha Oy", business_id="0123456-2")
    session.commit()
    html = _page(signed_in("sales"), "/organisationview/list/", {"q": "123456-2"})
    assert sorted({int(i) for i in re.findall(r'/organisationview/show/(\d+)', html)}) \
        == [wanted.id]


@pytest.mark.parametrize("typed", ["FI29000004", "fi 29000004", "FI 2900000-4"])
def test_a_vat_number_finds_the_organisation_and_its_people(signed_in, session, typed):
    star = make_organisation(session, name="Tähtitekniikka Oy", business_id="2900000-4")
    make_organisation(session, name="Muu Oy", business_id="2900037-0")
    person = make_contact(session, organisation=star)
    session.commit()
    client = signed_in("sales")
    assert _shown(_page(client, CONTACTS, {"q": typed})) == [person.id]
    html = _page(client, "/organisationview/list/", {"q": typed})
    assert {int(i) for i in re.findall(r"/organisationview/show/(\d+)", html)} == {star.id}


def test_a_business_id_without_its_hyphen_finds_the_organisation(signed_in, session):
    star = make_organisation(session, name="Tähtitekniikka Oy", business_id="2900000-4")
    session.commit()
    html = _page(signed_in("sales"), "/organisationview/list/", {"q": "29000004"})
    assert {int(i) for i in re.findall(r"/organisationview/show/(\d+)", html)} == {star.id}


def test_digits_alone_that_make_a_phone_number_find_a_person_by_phone(signed_in, session):
    # 29000004 is also business ID 2900000-4 without its hyphen; among people, typed
    # so, it is a phone number, as before.
    star = make_organisation(session, name="Tähtitekniikka Oy", business_id="2900000-4")
    make_contact(session, organisation=star)
    caller = make_contact(session, last_name="Soittaja", phone="+35829000004")
    session.commit()
    assert _shown(_page(signed_in("sales"), CONTACTS, {"q": "29000004"})) == [caller.id]


@pytest.mark.parametrize("typed", ["Öhman", "öhman", "ÖHMAN", "öhm", "Ärö", "ärölä",
                                   "MÄKELÄ", "mäkelä", "Mäk"])
def test_names_with_finnish_letters_are_found_in_any_letter_case(signed_in, session, typed):
    # SQLite's lower() leaves Ä and Ö as they are: "öhman" missed "Öhman" there.
    wanted = {make_contact(session, first_name="Outi", last_name=last).id
              for last in ("Öhman", "Ärölä", "Mäkelä") if last.lower().startswith(
                  typed.lower())}
    make_contact(session, first_name="Olli", last_name="Ohman")
    session.commit()
    html = _page(signed_in("sales"), CONTACTS, {"q": typed})
    assert _shown(html) == sorted(wanted)


@pytest.mark.parametrize("typed", ["Outi Maria Ostaja", "ostaja outi maria", "Outi Maria Os",
                                   "Ostaja Outi M"])
def test_a_full_name_of_three_words_finds_the_person(signed_in, session, typed):
    # As a callback request stores "Outi Maria Ostaja": first names, then the last name.
    wanted = make_contact(session, first_name="Outi Maria", last_name="Ostaja")
    make_contact(session, first_name="Outi", last_name="Ostajanen-Maria")
    make_contact(session, first_name="Maria", last_name="Ostaja")
    session.commit()
    client = signed_in("sales")
    assert _shown(_page(client, CONTACTS, {"q": typed})) == [wanted.id]
    assert [row["id"] for row in client.get(
        "/contactview/lookup", query_string={"q": typed}).get_json()["results"]] == [wanted.id]
