"""Communications see no identifiers and no provenance (DESIGN §6).

Their row of the matrix is organisations, contacts' core fields and consent or
marketing status; the purchased-list import is "-". So a person's login ids in the
company's systems and where the person came from (the purchased list by name, its
supplier, the Art. 14 notice) are nowhere on their screens: not on the contact's page
or its tabs, not found by the search box or a link field's type-ahead, not behind any
link they are shown, and no page they can reach fails or leads to a refusal.
"""

from __future__ import annotations

import re
from collections import deque
from datetime import date

import pytest
import sqlalchemy as sa

from crm.models import AuditEvent, Provenance, Source, SourceKind
from crm.security import roles
from tests.factories import make_consent, make_contact, make_identifier, make_organisation

LOGIN_ID = "PORTAALI-QX-77"
LIST_NAME = "Kuukausiostolista-QX"
SUPPLIER = "Listatoimittaja-QX"
#: What Communications may not see, anywhere.
HIDDEN = (LOGIN_ID, LIST_NAME, SUPPLIER)
#: Screens of identifiers, provenance and the lists, which Communications may not open.
CLOSED = ("/identifierview/", "/provenanceview/", "/sourceview/")


@pytest.fixture
def person(session):
    """A person bought on a list, with a login id, a consent and an organisation."""
    source = Source(kind=SourceKind.purchased_list, name=LIST_NAME, supplier=SUPPLIER,
                    received_on=date(2026, 1, 5), row_count=1)
    session.add(source)
    organisation = make_organisation(session, name="Viestintätesti Oy")
    contact = make_contact(session, first_name="Veera", last_name="Vuorikallio",
                           organisation=organisation, source=source)
    identifier = make_identifier(session, contact, system="Asiakasportaali",
                                 identifier=LOGIN_ID)
    provenance = Provenance(contact=contact, source=source, art14_due_on=date(2026, 2, 5))
    session.add(provenance)
    consent = make_consent(session, contact)
    session.commit()
    return {"contact": contact.id, "organisation": organisation.id, "source": source.id,
            "identifier": identifier.id, "provenance": provenance.id, "consent": consent.id}


def _text(response) -> str:
    return response.get_data(as_text=True)


def test_the_contact_page_shows_comms_no_login_id_no_list_and_no_tab_of_them(signed_in,
                                                                            person):
    comms = signed_in("comms")
    page = _text(comms.get(f"/contactview/show/{person['contact']}"))
    assert "Vuorikallio" in page and "Viestintätesti Oy" in page
    for hidden in HIDDEN:
        assert hidden not in page
    # Neither the tabs (Identifiers, Provenance) nor the contact's own "Source".
    assert "#IdentifierView" not in page and "#ProvenanceView" not in page
    assert ">Source<" not in page and "Art. 14" not in page
    assert not any(screen in page for screen in CLOSED)
    # The consents tab stays: consent is theirs to read.
    assert "#ConsentView" in page
    # Sales, who keep the person, see all of it on the same page.
    sales = _text(signed_in("sales").get(f"/contactview/show/{person['contact']}"))
    assert all(hidden in sales for hidden in (LOGIN_ID, LIST_NAME))


@pytest.mark.parametrize("path", [
    "/identifierview/list/", "/identifierview/show/{identifier}",
    "/provenanceview/list/", "/provenanceview/show/{provenance}",
    "/sourceview/list/", "/sourceview/show/{source}",
    "/identifierview/list/?_flt_0_contact={contact}",
    "/provenanceview/list/?_flt_0_contact={contact}",
])
def test_comms_are_refused_the_screens_of_identifiers_and_provenance(signed_in, person, path):
    response = signed_in("comms").get(path.format(**person))
    assert response.status_code == 403
    assert not any(hidden in _text(response) for hidden in HIDDEN)


def test_the_search_box_and_type_ahead_find_no_one_by_login_id_for_comms(signed_in, person):
    comms, sales = signed_in("comms"), signed_in("sales")
    for client, finds in ((comms, False), (sales, True)):
        listed = client.get("/contactview/list/", query_string={"q": LOGIN_ID})
        typed = client.get("/contactview/lookup", query_string={"q": LOGIN_ID})
        assert listed.status_code == typed.status_code == 200
        assert ("Vuorikallio" in _text(listed)) is finds
        assert ("Vuorikallio" in _text(typed)) is finds
    # Nor does the search box say it searches login ids.
    assert "login id" not in _text(comms.get("/contactview/list/"))


# Pages Communications reach from their home page, following every link they are shown.
# The public privacy notice names the lists' suppliers as sources to everyone (Art. 14).
SKIPPED = ("/logout", "/lang/", "/static/", "/back", ".csv", "/privacy")
MAX_PAGES = 150


def _links(page: str) -> list[str]:
    return [href.replace("&amp;", "&") for href in re.findall(r'href="(/[^"#]*)"', page)
            if not href.startswith(SKIPPED) and not any(s in href for s in SKIPPED)]


def test_no_page_comms_reach_shows_them_or_fails(signed_in, person, session):
    comms = signed_in("comms")
    start = ["/", f"/contactview/show/{person['contact']}",
             f"/organisationview/show/{person['organisation']}",
             f"/consentview/show/{person['consent']}", "/contactview/list/",
             "/consentview/list/", "/audience/", "/users/userinfo/"]
    queue, seen, broken = deque(start), set(start), []
    while queue and len(seen) <= MAX_PAGES:
        path = queue.popleft()
        response = comms.get(path)
        if response.status_code not in (200, 302):
            broken.append((path, response.status_code))
            continue
        page = _text(response)
        for hidden in HIDDEN:
            assert hidden not in page, f"{hidden} on {path}"
        assert not any(screen in page for screen in CLOSED), path
        for link in _links(page):
            if link not in seen:
                seen.add(link)
                queue.append(link)
    # Every link shown to them opens (no dead link to a screen they may not open).
    assert broken == []
    assert f"/contactview/show/{person['contact']}" in seen
    # Nothing they opened was refused.
    session.rollback()
    refused = session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
        AuditEvent.actor == "comms", AuditEvent.action == "access_denied"))
    assert refused == 0


def test_the_roles_page_lists_neither_for_communications(signed_in):
    from tests.test_roles_page import grants, matrix, roles_page

    page = roles_page(signed_in("admin"))
    assert grants(page, "Communications") == [
        "Organisations: read", "Contacts: read", "Consents: read",
        "Marketing audience: export", "Organisation details: read", "Marketing status: read"]
    comms = roles.ROLES.index("Communications")  # the table's columns
    for resource in ("Identifiers", "Provenance"):
        assert matrix(page)[resource][comms] == "–"
