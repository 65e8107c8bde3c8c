"""A record's page: headed with the kind of record in the singular (its list in the
plural; a person's or an organisation's page with their name first), and linking the
records it names (its contact, organisation, source, request) to their own pages, for
whoever may open them (crm.views.related.record_page)."""

from __future__ import annotations

import re
from html import unescape

import pytest
import sqlalchemy as sa

from crm.models import ContactChange, Provenance
from crm.services.contacts import own_activity_source
from tests.factories import (
    make_activity,
    make_callback_request,
    make_consent,
    make_contact,
    make_identifier,
    make_organisation,
    make_request,
)


@pytest.fixture
def records(session) -> dict[str, int]:
    organisation = make_organisation(session, name="Linkkipuu Oy")
    contact = make_contact(session, first_name="Lotta", last_name="Linkkinen",
                           organisation=organisation)
    source = own_activity_source(session)
    request = make_request(session, contact_id=contact.id)
    provenance = Provenance(contact=contact, source=source)
    change = ContactChange(contact=contact, field="title", old_value="Myyjä",
                           new_value="Myyntipäällikkö", changed_by="privacy",
                           request=request)
    session.add_all([provenance, change])
    session.flush()
    ids = {
        "organisation": organisation.id, "contact": contact.id, "source": source.id,
        "request": request.id, "provenance": provenance.id, "change": change.id,
        "identifier": make_identifier(session, contact).id,
        "consent": make_consent(session, contact).id,
        "activity": make_activity(session, contact, organisation=organisation).id,
        "callback": make_callback_request(session, contact=contact).id,
    }
    session.commit()
    return ids


def h1(html: str) -> str:
    match = re.search(r"<h1[^>]*>(.*?)</h1>", html, re.S)
    assert match, "the page has no h1"
    return " ".join(unescape(match.group(1)).split())


def row(html: str, label: str) -> str:
    """Return the cell of a record page's row labelled `label`, as HTML."""
    match = re.search(rf"<th[^>]*>\s*{re.escape(label)}\s*</th>\s*<td>(.*?)</td>", html, re.S)
    assert match, f"no row {label!r} on the page"
    return match.group(1)


def links(cell: str) -> list[tuple[str, str]]:
    """Return the (address, text) of each link in `cell`."""
    return [(unescape(href), " ".join(unescape(text).split()))
            for href, text in re.findall(r'<a href="([^"]*)"[^>]*>(.*?)</a>', cell, re.S)]


# -- headings ------------------------------------------------------------------------

#: (who, list, record page, the list's h1 in Finnish and English, the record page's)
HEADINGS = [
    ("privacy", "identifierview", "identifier", ("Tunnisteet", "Identifiers"),
     ("Tunniste", "Identifier")),
    ("privacy", "contactchangeview", "change", ("Muutoshistoria", "Change history"),
     ("Yhteyshenkilön muutos", "Contact change")),
    ("privacy", "consentview", "consent", ("Suostumukset", "Consents"),
     ("Suostumus", "Consent")),
    ("privacy", "activityview", "activity", ("Toimenpiteet", "Activities"),
     ("Toimenpide", "Activity")),
    ("sales", "callbackrequestview", "callback", ("Soittopyynnöt", "Callback requests"),
     ("Soittopyyntö", "Callback request")),
    # A person's and an organisation's page: the name, the kind in the singular beside it.
    ("privacy", "contactview", "contact", ("Yhteyshenkilöt", "Contacts"),
     ('Lotta Linkkinen <small class="crm-record-kind">Yhteyshenkilö</small>',
      'Lotta Linkkinen <small class="crm-record-kind">Contact</small>')),
    ("privacy", "organisationview", "organisation", ("Organisaatiot", "Organisations"),
     ('Linkkipuu Oy <small class="crm-record-kind">Organisaatio</small>',
      'Linkkipuu Oy <small class="crm-record-kind">Organisation</small>')),
    ("privacy", "datasubjectrequestview", "request",
     ("Rekisteröityjen pyynnöt", "Data subject requests"),
     ("Rekisteröidyn pyyntö", "Data subject request")),
]


@pytest.mark.parametrize("lang", ["fi", "en"])
@pytest.mark.parametrize(("who", "view", "record", "list_heading", "record_heading"),
                         HEADINGS, ids=[h[1] for h in HEADINGS])
def test_a_record_page_is_headed_in_the_singular_and_its_list_in_the_plural(
        login_as, records, lang, who, view, record, list_heading, record_heading):
    client = login_as(who)
    client.get(f"/lang/{lang}")
    at = 0 if lang == "fi" else 1
    listed = client.get(f"/{view}/list/")
    assert listed.status_code == 200
    assert h1(listed.get_data(as_text=True)) == list_heading[at]
    shown = client.get(f"/{view}/show/{records[record]}")
    assert shown.status_code == 200
    assert h1(shown.get_data(as_text=True)) == record_heading[at]


def test_an_identifiers_add_and_edit_forms_are_headed_in_the_singular(login_as, records):
    client = login_as("sales")
    client.get("/lang/en")
    assert h1(client.get("/identifierview/add").get_data(as_text=True)) == "Add identifier"
    edit = client.get(f"/identifierview/edit/{records['identifier']}")
    assert h1(edit.get_data(as_text=True)) == "Edit identifier"


# -- links to the records a page names ------------------------------------------------

#: (who, record page, the row's label, the record it links to)
LINKS = [
    ("sales", "contactview", "contact", "Organisation", ("organisationview", "organisation",
                                                         "Linkkipuu Oy")),
    ("privacy", "contactview", "contact", "Source", ("sourceview", "source", None)),
    ("sales", "identifierview", "identifier", "Contact", ("contactview", "contact",
                                                          "Lotta Linkkinen")),
    ("marketing", "consentview", "consent", "Contact", ("contactview", "contact",
                                                        "Lotta Linkkinen")),
    ("sales", "provenanceview", "provenance", "Contact", ("contactview", "contact",
                                                          "Lotta Linkkinen")),
    ("marketing", "provenanceview", "provenance", "Source", ("sourceview", "source", None)),
    ("sales", "activityview", "activity", "Contact", ("contactview", "contact",
                                                      "Lotta Linkkinen")),
    ("sales", "activityview", "activity", "Organisation", ("organisationview",
                                                           "organisation", "Linkkipuu Oy")),
    ("sales", "callbackrequestview", "callback", "Contact", ("contactview", "contact",
                                                             "Lotta Linkkinen")),
    ("privacy", "datasubjectrequestview", "request", "Contact", ("contactview", "contact",
                                                                 "Lotta Linkkinen")),
    ("privacy", "contactchangeview", "change", "Contact", ("contactview", "contact",
                                                           "Lotta Linkkinen")),
]


@pytest.mark.parametrize(("who", "view", "record", "label", "target"), LINKS,
                         ids=[f"{w} {v} {label}" for w, v, _, label, _ in LINKS])
def test_a_record_page_links_the_records_it_names(signed_in, session, records, who, view,
                                                  record, label, target):
    target_view, target_record, text = target
    html = signed_in(who).get(f"/{view}/show/{records[record]}").get_data(as_text=True)
    found = links(row(html, label))
    assert len(found) == 1, found
    href, shown = found[0]
    assert href == f"/{target_view}/show/{records[target_record]}"
    if text:
        assert shown == text
    # The page linked to opens for the reader.
    assert signed_in(who).get(href).status_code == 200


@pytest.mark.parametrize(("who", "view", "record", "label", "text"), [
    # Sales reads where a person came from, but not the register of sources.
    ("sales", "provenanceview", "provenance", "Source", None),
    ("sales", "contactview", "contact", "Source", None),
])
def test_a_record_the_reader_may_not_open_is_named_without_a_link(
        signed_in, records, who, view, record, label, text):
    client = signed_in(who)
    assert client.get(f"/sourceview/show/{records['source']}").status_code == 403
    cell = row(client.get(f"/{view}/show/{records[record]}").get_data(as_text=True), label)
    assert links(cell) == []
    assert unescape(cell).strip()  # the source is still named


def test_an_anonymised_contact_is_not_linked(signed_in, session, records):
    from crm.models import Contact

    session.execute(sa.update(Contact).where(Contact.id == records["contact"])
                    .values(anonymised_at=sa.func.now()))
    session.commit()
    client = signed_in("sales")
    cell = row(client.get(f"/activityview/show/{records['activity']}").get_data(as_text=True),
               "Contact")
    # An anonymised contact has no page to open.
    assert links(cell) == []
    assert client.get(f"/contactview/show/{records['contact']}").status_code == 404
