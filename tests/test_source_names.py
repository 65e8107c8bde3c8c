"""The standing sources (our own activity, the person themselves) read in the reader's
language, as the purposes do; a source renamed since keeps the name it was given."""

from __future__ import annotations

import re
from html import unescape

import pytest

from crm.models import Provenance, Source, SourceKind
from crm.services.contacts import own_activity_source, the_person_source
from tests.factories import make_contact

#: language -> (our own activity, the person themselves), as the reader reads them.
NAMES = {"fi": ("Oma toimintamme", "Henkilö itse"),
         "en": ("Our own activity", "The person themselves")}


def text(response) -> str:
    assert response.status_code == 200, response.status_code
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))).split())


@pytest.mark.parametrize("lang", ["fi", "en"])
def test_the_standing_sources_read_in_the_readers_language(login_as, session, lang):
    own, person = own_activity_source(session), the_person_source(session)
    # Made as `crm init` makes them: named in the register's language, Finnish.
    assert (own.name, person.name) == NAMES["fi"]
    ours = make_contact(session, first_name="Oma", last_name="Lähde", source=own)
    theirs = make_contact(session, first_name="Itse", last_name="Ilmoittautunut",
                          source=person)
    session.add_all([Provenance(contact=ours, source=own),
                     Provenance(contact=theirs, source=person)])
    session.commit()
    other = NAMES["en" if lang == "fi" else "fi"]
    client = login_as("privacy")
    client.get(f"/lang/{lang}")

    for contact, name in ((ours, NAMES[lang][0]), (theirs, NAMES[lang][1])):
        page = text(client.get(f"/contactview/show/{contact.id}"))
        assert name in page
        assert not any(word in page for word in other)

    # The provenance list, and the privacy team's list of sources and a source's page.
    for path in ("/provenanceview/list/", "/sourceview/list/", f"/sourceview/show/{own.id}"):
        listed = text(client.get(path))
        assert NAMES[lang][0] in listed, path
        assert not any(word in listed for word in other), path


def test_a_renamed_standing_source_keeps_its_name_in_every_language(login_as, session):
    own = own_activity_source(session)
    own.name = "Messut ja seminaarit"  # the privacy team's own name for it
    contact = make_contact(session, source=own)
    session.commit()
    client = login_as("privacy")
    for lang in ("fi", "en"):
        client.get(f"/lang/{lang}")
        page = text(client.get(f"/contactview/show/{contact.id}"))
        assert "Messut ja seminaarit" in page
        assert NAMES[lang][0] not in page


def test_a_purchased_list_and_the_notice_are_as_before(login_as, client, session):
    bought = Source(kind=SourceKind.purchased_list, name="Oma toimintamme",
                    supplier="Listatoimittaja Oy")
    contact = make_contact(session, source=bought)
    session.commit()
    signed = login_as("privacy")
    signed.get("/lang/en")
    # A list is always named as it was received, whatever its name.
    page = text(signed.get(f"/contactview/show/{contact.id}"))
    assert "Oma toimintamme" in page
    # The notice names the kinds of source in its own language.
    notice = text(client.get("/privacy?lang=en"))
    assert "Our own activity" in notice and "Oma toimintamme" not in notice
    assert "Oma toimintamme" in text(client.get("/privacy?lang=fi"))
