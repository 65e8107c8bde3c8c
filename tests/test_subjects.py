"""Finding a person across the register (DESIGN §9.1), each match saying why it matched."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from crm.models import AuditEvent, Contact, DataSubjectRequest
from crm.models.base import utcnow
from crm.services.subjects import find_subject
from tests.conftest import csrf_token
from tests.factories import make_contact, make_identifier, make_organisation, make_request


@pytest.fixture
def people(session):
    org = make_organisation(session, name="Hakuyhtiö Oy")
    aino = make_contact(session, first_name="Äyli", last_name="Öhman-Lähde", organisation=org,
                        email="Ayli.Ohman@Hakuyhtio.example", alt_email="ayli@koti.example",
                        phone="+358401234567", mobile="+358501112233")
    namesake = make_contact(session, first_name="Äyli", last_name="Öhman-Lähde",
                            email="toinen.ayli@muualla.example", phone=None)
    other = make_contact(session, first_name="Bertta", last_name="Muu",
                         email="bertta@hakuyhtio.example", phone="+358409876543")
    gone = make_contact(session, first_name="Äyli", last_name="Öhman-Lähde",
                        email="ayli.ohman@hakuyhtio.example", anonymised_at=utcnow())
    make_identifier(session, aino, system="Customer portal", identifier="AYLI-77")
    session.commit()
    return {"aino": aino.id, "namesake": namesake.id, "other": other.id, "gone": gone.id}


def _found(session, text) -> dict[int, list[str]]:
    return {m.contact_id: m.reasons for m in find_subject(session, text)}


@pytest.mark.parametrize("text", ["ayli.ohman@hakuyhtio.example",
                                  "  AYLI.OHMAN@HAKUYHTIO.EXAMPLE ", "ayli@KOTI.example"])
def test_by_email_in_any_case_and_either_address(session, people, text):
    assert _found(session, text) == {people["aino"]: ["email"]}


@pytest.mark.parametrize("text", ["+358401234567", "040 123 4567", "040-1234567",
                                  "050 111 2233", "+358 50 111 2233"])
def test_by_phone_or_mobile_however_written(session, people, text):
    assert _found(session, text) == {people["aino"]: ["phone"]}


@pytest.mark.parametrize("text", ["Äyli Öhman-Lähde", "äyli öhman-lähde", "ÖHMAN-LÄHDE ÄYLI",
                                  "  Äyli   Öhman-Lähde "])
def test_by_first_and_last_name_in_any_case_and_order(session, people, text):
    assert _found(session, text) == {people["aino"]: ["name"], people["namesake"]: ["name"]}


@pytest.mark.parametrize("text", ["AYLI-77", "ayli-77"])
def test_by_identifier_says_which_system(session, people, text):
    assert _found(session, text) == {people["aino"]: ["identifier:Customer portal"]}


def test_several_reasons_and_the_best_match_first(session, people):
    make_identifier(session, session.get(Contact, people["aino"]), system="Webinars",
                    identifier="ayli.ohman@hakuyhtio.example")
    session.commit()
    matches = find_subject(session, "ayli.ohman@hakuyhtio.example")
    assert [(m.contact_id, m.reasons) for m in matches] == [
        (people["aino"], ["email", "identifier:Webinars"])]
    assert matches[0].display == "Äyli Öhman-Lähde, Hakuyhtiö Oy"


@pytest.mark.parametrize("text", ["", "   ", "Äyli", "nobody@nowhere.example", "12",
                                  "Öhman", "%", "hakuyhtio.example"])
def test_nothing_else_matches(session, people, text):
    # A first or last name alone, part of an address, a fragment of a number: no one.
    assert _found(session, text) == {}


def test_anonymised_contacts_never_match(session, people):
    for text in ("ayli.ohman@hakuyhtio.example", "Äyli Öhman-Lähde"):
        assert people["gone"] not in _found(session, text)


def test_cli_find_lists_matches_with_reasons(app, session, people):
    result = app.test_cli_runner().invoke(args=["crm", "subject", "find", "040 123 4567"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == (
        f"{people['aino']}\tÄyli Öhman-Lähde, Hakuyhtiö Oy\tphone")
    session.expire_all()
    event = session.scalars(sa.select(AuditEvent)).one()
    assert (event.action, event.object_id, event.actor) == ("view", str(people["aino"]), "cli")


@pytest.mark.parametrize("text", ["nobody@nowhere.example", ""])
def test_cli_find_fails_when_nobody_matches(app, session, people, text):
    result = app.test_cli_runner().invoke(args=["crm", "subject", "find", text])
    assert result.exit_code == 1
    assert "no one in the register matches" in result.output


def test_find_page_searches_by_post_and_links_the_person(session, login_as, people):
    pk = make_request(session, requester_name="Äyli", requester_email=None).id
    session.commit()
    client = login_as("privacy")
    page = client.get(f"/requests/{pk}/find").get_data(as_text=True)
    assert "crm-no-match" in page  # a first name alone finds no one
    token = csrf_token(client, f"/requests/{pk}/find")
    page = client.post(f"/requests/{pk}/find", data={"csrf_token": token, "q": "AYLI-77"}) \
        .get_data(as_text=True)
    assert f'data-contact="{people["aino"]}"' in page
    assert 'data-reason="identifier:Customer portal"' in page
    assert f'data-contact="{people["namesake"]}"' not in page
    client.post(f"/requests/{pk}/link", data={"csrf_token": token,
                                              "contact_id": str(people["gone"])})
    session.expire_all()
    assert session.get(DataSubjectRequest, pk).contact_id is None  # anonymised: no one
    client.post(f"/requests/{pk}/link", data={"csrf_token": token,
                                              "contact_id": str(people["aino"])})
    session.expire_all()
    assert session.get(DataSubjectRequest, pk).contact_id == people["aino"]
